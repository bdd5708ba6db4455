#include "ui/settings/LrecSettingsForm.h"

#include <QComboBox>
#include <QFormLayout>
#include <QSpinBox>

#include <algorithm>

namespace lowbit::ui {

LrecSettingsForm::LrecSettingsForm(const QString& namePrefix, QWidget* parent) : QWidget(parent) {
  const train::LrecSettings defaults;
  m_form = new QFormLayout(this);
  m_form->setContentsMargins(0, 0, 0, 0);
  m_preset = new QComboBox(this);
  m_preset->setObjectName(namePrefix + QStringLiteral("Preset"));
  m_preset->addItems({QStringLiteral("int2"), QStringLiteral("int3"), QStringLiteral("int4")});
  m_preset->setCurrentText(QString::fromStdString(defaults.preset));
  m_preset->setToolTip(tr("The settings the INT2.1 paper found best for each bit width (its Table 4): rank 32 on all projections, λ_CE 120 / 40 / 10, lr 3e-5 / 2e-5 / 1e-5"));
  auto spinBox = [&](const char* name, int low, int high, int64_t value) {
    auto* box = new QSpinBox(this);
    box->setObjectName(namePrefix + QLatin1String(name));
    box->setRange(low, high);
    box->setValue(static_cast<int>(value));
    connect(box, qOverload<int>(&QSpinBox::valueChanged), this, &LrecSettingsForm::changed);
    return box;
  };
  m_steps = spinBox("Steps", 1, 1000000, defaults.schedule.total_steps);
  m_rank = spinBox("Rank", 1, 1024, defaults.lora.rank);
  m_seqlen = spinBox("Seqlen", 16, 32768, defaults.seqlen);
  m_microBatch = spinBox("MicroBatch", 1, 1024, defaults.micro_batch);
  m_recipe = new QComboBox(this);
  m_recipe->setObjectName(namePrefix + QStringLiteral("Recipe"));
  m_recipe->addItem(tr("LREC: match the full model's next-word choices (INT2.1 paper)"), QString::fromStdString(train::correction_recipe_name(train::CorrectionLoss::KlCe)));
  m_recipe->addItem(tr("RILQ: match the full model's last hidden state (Chang et al., AAAI 2025)"),
                    QString::fromStdString(train::correction_recipe_name(train::CorrectionLoss::HiddenMseCe)));
  m_recipe->setCurrentIndex(
      m_recipe->findData(QString::fromStdString(train::correction_recipe_name(train::kRecommendedCorrectionLoss))));
  m_recipe->setToolTip(tr("How the repair learns from the full-precision model. LREC: KL divergence to its next-token "
                          "probabilities + cross-entropy, the paper's Table 4 settings. RILQ: mean squared distance to "
                          "its final hidden state + cross-entropy, with RILQ's settings (lr 1e-4, α 16, early "
                          "stopping) and a smaller teacher cache; it repaired SmolLM2 better at 2, 3 and 4 bits. "
                          "docs/correction-recipes.md compares them."));
  connect(m_recipe, qOverload<int>(&QComboBox::currentIndexChanged), this, &LrecSettingsForm::changed);
  m_form->addRow(tr("Recipe"), m_recipe);
  m_form->addRow(tr("Settings for"), m_preset);
  m_form->addRow(tr("Correction steps"), m_steps);
  m_form->addRow(tr("LoRA rank"), m_rank);
  m_rank->setToolTip(tr("The adapters' rank: LREC scales α with it (α = 4 × rank), RILQ keeps α 16"));
  m_form->addRow(tr("Window length (tokens)"), m_seqlen);
  m_form->addRow(tr("Micro-batch (windows)"), m_microBatch);
  connect(m_preset, &QComboBox::currentTextChanged, this, &LrecSettingsForm::changed);
}

void LrecSettingsForm::lockPreset(const QString& preset) {
  m_preset->setCurrentText(preset);
  m_preset->setEnabled(false);
  m_preset->setToolTip(tr("Follows the bits chosen above"));
}

void LrecSettingsForm::setAdvancedVisible(bool visible) {
  for (QWidget* field : {static_cast<QWidget*>(m_rank), static_cast<QWidget*>(m_seqlen), static_cast<QWidget*>(m_microBatch)}) {
    m_form->setRowVisible(field, visible);
  }
}

void LrecSettingsForm::setMaximumWindow(int tokens) { m_seqlen->setMaximum(std::max(16, tokens)); }

void LrecSettingsForm::apply(train::LrecSettings& settings) const {
  train::apply_preset(settings, m_preset->currentText().toStdString());
  train::apply_recipe(settings, train::correction_recipe_named(m_recipe->currentData().toString().toStdString()));
  settings.schedule.total_steps = m_steps->value();
  settings.eval_every = std::max(1, m_steps->value() / 10);
  settings.checkpoint_every = settings.eval_every;
  train::set_lrec_rank(settings, m_rank->value());
  settings.seqlen = m_seqlen->value();
  settings.micro_batch = m_microBatch->value();
}

}  // namespace lowbit::ui
