#include "ui/wizard/SettingsPage.h"

#include <QCheckBox>
#include <QComboBox>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QScrollArea>
#include <QSpinBox>
#include <QVBoxLayout>

#include <algorithm>
#include <initializer_list>

#include "core/train/run_plan.h"
#include "ui/settings/LrecSettingsForm.h"
#include "ui/settings/RunEstimateLabel.h"
#include "ui/util/PathField.h"
#include "ui/wizard/RunWizard.h"

namespace lowbit::ui {
namespace {

// The paper's presets behind each bit width (Table 4 for LREC), shown next to the choice.
// What the correction step will do at these bits, read from the settings it will run with.
QString correctionDescription(int bits, const train::LrecSettings& s) {
  const QString width = bits == 8 ? QObject::tr("INT8: nearly lossless; the correction uses the int4 preset")
                                  : QObject::tr("INT%1").arg(bits);
  const QString shape = QObject::tr("rank %1 on all projections, α %2, lr %3").arg(s.lora.rank).arg(s.lora.alpha).arg(s.schedule.base_lr);
  if (s.loss.kind == train::CorrectionLoss::HiddenMseCe) {
    return QObject::tr("%1 — RILQ (Chang et al., AAAI 2025): λ_MSE %2 + λ_CE %3, %4, early stopping after %5 evaluations "
                       "without improvement")
        .arg(width).arg(s.loss.mse).arg(s.loss.ce).arg(shape).arg(s.early_stop_patience);
  }
  return QObject::tr("%1 — LREC preset %2 (INT2.1 paper): λ_KL %3 + λ_CE %4, %5").arg(width, QString::fromStdString(s.preset))
      .arg(s.loss.kl).arg(s.loss.ce).arg(shape);
}

}  // namespace

SettingsPage::SettingsPage(RunWizard* wizard) : QWizardPage(wizard), m_wizard(wizard) {
  setTitle(tr("Settings"));
  setSubTitle(tr("The paper's presets are filled in; Advanced shows every setting. The estimate is for the device "
                 "the run will use."));
  // The page scrolls rather than squashing its rows when Advanced shows every setting on a laptop screen.
  auto* content = new QWidget;
  auto* scroll = new QScrollArea(this);
  scroll->setObjectName(QStringLiteral("wizardSettingsScroll"));
  scroll->setWidgetResizable(true);
  scroll->setFrameShape(QFrame::NoFrame);
  scroll->setWidget(content);
  auto* outer = new QVBoxLayout(this);
  outer->setContentsMargins(0, 0, 0, 0);
  outer->addWidget(scroll);
  auto* layout = new QVBoxLayout(content);
  auto* form = new QFormLayout;
  m_bits = new QComboBox(this);
  m_bits->setObjectName(QStringLiteral("wizardBits"));
  m_bits->addItems({QStringLiteral("2"), QStringLiteral("3"), QStringLiteral("4"), QStringLiteral("8")});
  m_presetInfo = new QLabel(this);
  m_presetInfo->setObjectName(QStringLiteral("wizardPresetInfo"));
  m_presetInfo->setWordWrap(true);
  m_lrec = new LrecSettingsForm(QStringLiteral("wizardLrec"), this);
  m_lrec->lockPreset(QString::fromStdString(train::lrec_preset_for_bits(m_bits->currentText().toInt())));
  m_lrec->setAdvancedVisible(false);
  m_epochs = spinBox("wizardEpochs", 1, 100, 3);
  m_device = new QComboBox(this);
  m_device->setObjectName(QStringLiteral("wizardDevice"));
  m_device->addItems({QStringLiteral("auto"), QStringLiteral("cuda"), QStringLiteral("cpu")});
  m_device->setToolTip(tr("auto: the GPU when one is usable, else the CPU"));
  m_output = new QLineEdit(this);
  m_output->setObjectName(QStringLiteral("wizardOutput"));
  m_output->setPlaceholderText(tr("a new folder for everything the run makes"));
  form->addRow(tr("Bits"), m_bits);
  form->addRow(QString(), m_presetInfo);
  form->addRow(tr("Correction (LREC)"), m_lrec);
  form->addRow(tr("Fine-tuning epochs"), m_epochs);
  m_emefTemplate = new QComboBox(this);
  m_emefTemplate->setObjectName(QStringLiteral("wizardEmefTemplate"));
  m_emefTemplate->addItem(tr("Alpaca (alpaca-lora's template, as the paper's EMEF runs)"));
  m_emefTemplate->addItem(tr("The model's own chat template (instruction as the user turn, output as the reply)"));
  form->addRow(tr("Fine-tuning prompt"), m_emefTemplate);
  form->addRow(tr("Device"), m_device);
  form->addRow(tr("Output folder"), withBrowseButton(m_output, PathKind::Folder, tr("Choose where the run writes")));
  layout->addLayout(form);

  m_advanced = new QCheckBox(tr("Advanced settings"), this);
  m_advanced->setObjectName(QStringLiteral("wizardAdvanced"));
  layout->addWidget(m_advanced, 0, Qt::AlignLeft);
  m_advancedBox = new QGroupBox(this);
  m_advancedBox->setObjectName(QStringLiteral("wizardAdvancedBox"));
  auto* grid = new QFormLayout(m_advancedBox);
  const quant::QuantizeSettings quantizeDefaults;
  const train::EmefSettings emefDefaults;
  m_groupSize = new QComboBox(this);
  m_groupSize->setObjectName(QStringLiteral("wizardGroupSize"));
  m_groupSize->addItems({tr("auto"), QStringLiteral("32"), QStringLiteral("64"), QStringLiteral("128"), QStringLiteral("-1")});
  m_groupSize->setToolTip(tr("auto: 128 when the hidden size allows it, else 32; -1: one group per row"));
  m_actOrder = new QCheckBox(tr("act-order (columns by decreasing Hessian diagonal)"), this);
  m_actOrder->setObjectName(QStringLiteral("wizardActOrder"));
  m_actOrder->setChecked(true);
  m_samples = spinBox("wizardSamples", 1, 100000, static_cast<int>(quantizeDefaults.nsamples));
  m_quantizeSeqlen = spinBox("wizardQuantizeSeqlen", 16, 32768, static_cast<int>(quantizeDefaults.seqlen));
  m_emefRank = spinBox("wizardEmefRank", 1, 1024, static_cast<int>(emefDefaults.lora.rank));
  m_emefCutoff = spinBox("wizardEmefCutoff", 8, 32768, static_cast<int>(emefDefaults.examples.cutoff));
  m_emefBatch = spinBox("wizardEmefBatch", 1, 4096, static_cast<int>(emefDefaults.batch));
  m_emefMicroBatch = spinBox("wizardEmefMicroBatch", 1, 1024, static_cast<int>(emefDefaults.micro_batch));
  m_emefLr = new QLineEdit(QString::number(emefDefaults.lr), this);
  m_emefLr->setObjectName(QStringLiteral("wizardEmefLr"));
  grid->addRow(tr("GPTQ group size"), m_groupSize);
  grid->addRow(QString(), m_actOrder);
  grid->addRow(tr("GPTQ calibration windows × length"), pair(m_samples, m_quantizeSeqlen));
  grid->addRow(tr("EMEF rank, learning rate"), pair(m_emefRank, m_emefLr));
  grid->addRow(tr("EMEF cutoff (tokens)"), m_emefCutoff);
  grid->addRow(tr("EMEF batch, micro-batch"), pair(m_emefBatch, m_emefMicroBatch));
  m_advancedBox->setVisible(false);
  layout->addWidget(m_advancedBox);

  m_estimate = new RunEstimateLabel([this] { return m_wizard->plan(); }, nullptr, this);
  m_estimate->setObjectName(QStringLiteral("wizardEstimate"));
  m_commands = new QPlainTextEdit(this);
  m_commands->setObjectName(QStringLiteral("wizardCommands"));
  m_commands->setReadOnly(true);
  m_commands->setMaximumHeight(110);
  layout->addWidget(new QLabel(tr("<b>Memory and time</b>"), this));
  layout->addWidget(m_estimate);
  layout->addWidget(new QLabel(tr("<b>Same in a terminal</b>"), this));
  layout->addWidget(m_commands);

  registerField(QStringLiteral("bits"), m_bits, "currentText");
  registerField(QStringLiteral("steps"), m_lrec->stepsBox());
  registerField(QStringLiteral("epochs"), m_epochs);
  registerField(QStringLiteral("device"), m_device, "currentText");
  registerField(QStringLiteral("output*"), m_output);
  registerField(QStringLiteral("advanced"), m_advanced);
  registerField(QStringLiteral("groupSize"), m_groupSize, "currentText");
  registerField(QStringLiteral("actOrder"), m_actOrder);
  registerField(QStringLiteral("samples"), m_samples);
  registerField(QStringLiteral("quantizeSeqlen"), m_quantizeSeqlen);
  registerField(QStringLiteral("emefRank"), m_emefRank);
  registerField(QStringLiteral("emefLr"), m_emefLr);
  registerField(QStringLiteral("emefCutoff"), m_emefCutoff);
  registerField(QStringLiteral("emefBatch"), m_emefBatch);
  registerField(QStringLiteral("emefMicroBatch"), m_emefMicroBatch);

  connect(m_advanced, &QCheckBox::toggled, m_advancedBox, &QWidget::setVisible);
  connect(m_advanced, &QCheckBox::toggled, m_lrec, &LrecSettingsForm::setAdvancedVisible);
  auto changed = [this] {
    m_lrec->lockPreset(QString::fromStdString(train::lrec_preset_for_bits(m_bits->currentText().toInt())));
    train::LrecSettings correction;
    m_lrec->apply(correction);
    m_presetInfo->setText(correctionDescription(m_bits->currentText().toInt(), correction));
    m_commands->setPlainText(m_wizard->commands().join(QLatin1Char('\n')));
    Q_EMIT completeChanged();
    if (isVisible()) m_estimate->refresh();
  };
  for (QComboBox* box : {m_bits, m_device, m_groupSize, m_emefTemplate}) {
    connect(box, &QComboBox::currentTextChanged, this, changed);
  }
  registerField(QStringLiteral("emefTemplate"), m_emefTemplate);
  connect(m_lrec, &LrecSettingsForm::changed, this, changed);
  for (QSpinBox* box : {m_epochs, m_samples, m_quantizeSeqlen, m_emefRank, m_emefCutoff, m_emefBatch, m_emefMicroBatch}) {
    connect(box, qOverload<int>(&QSpinBox::valueChanged), this, changed);
  }
  for (QCheckBox* box : {m_advanced, m_actOrder}) connect(box, &QCheckBox::toggled, this, changed);
  for (QLineEdit* line : {m_output, m_emefLr}) connect(line, &QLineEdit::textChanged, this, changed);
  m_refresh = changed;
}

void SettingsPage::initializePage() {
  if (m_output->text().trimmed().isEmpty()) m_output->setText(m_wizard->suggestedOutputFolder());
  // Windows no longer than the model's context (stories260K: 512; LLaMA-7B: 2048).
  const int context = std::max(16, m_wizard->property("context").toInt());
  for (QSpinBox* seqlen : {m_quantizeSeqlen, m_emefCutoff}) seqlen->setMaximum(context);
  m_lrec->setMaximumWindow(context);
  const int goal = wizard()->property("goal").toInt();
  const bool quantizes = goal != RunWizard::FineTune, corrects = goal == RunWizard::QuantizeAndCorrect || goal == RunWizard::FullPipeline;
  const bool finetunes = goal == RunWizard::FineTune || goal == RunWizard::FullPipeline;
  m_bits->setEnabled(quantizes);
  m_lrec->setEnabled(corrects);
  m_epochs->setEnabled(finetunes);
  const bool hasChatTemplate = m_wizard->property("chatTemplate").toBool();
  if (!hasChatTemplate) m_emefTemplate->setCurrentIndex(0);
  m_emefTemplate->setEnabled(finetunes && hasChatTemplate);
  m_emefTemplate->setToolTip(hasChatTemplate ? tr("Chat with the result in the same template it was tuned in")
                                             : tr("This model has no chat template: it is tuned in Alpaca's"));
  for (QWidget* w : std::initializer_list<QWidget*>{m_groupSize, m_actOrder, m_samples, m_quantizeSeqlen}) w->setEnabled(quantizes);
  for (QWidget* w : std::initializer_list<QWidget*>{m_emefRank, m_emefLr, m_emefCutoff, m_emefBatch, m_emefMicroBatch}) w->setEnabled(finetunes);
  m_refresh();
  m_estimate->refresh();
}

bool SettingsPage::isComplete() const {
  bool lrOk = false;
  const double lr = m_emefLr->text().toDouble(&lrOk);
  return QWizardPage::isComplete() && lrOk && lr > 0 && m_emefBatch->value() % m_emefMicroBatch->value() == 0;
}

QString SettingsPage::estimateText() const { return m_estimate->text(); }

void SettingsPage::applyCorrection(train::LrecSettings& settings) const { m_lrec->apply(settings); }

QSpinBox* SettingsPage::spinBox(const char* name, int low, int high, int value) {
  auto* box = new QSpinBox(this);
  box->setObjectName(QString::fromLatin1(name));
  box->setRange(low, high);
  box->setValue(value);
  return box;
}

QWidget* SettingsPage::pair(QWidget* first, QWidget* second) {
  auto* row = new QWidget(this);
  auto* layout = new QHBoxLayout(row);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addWidget(first);
  layout->addWidget(second);
  return row;
}

}  // namespace lowbit::ui
