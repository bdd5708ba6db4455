#include "ui/wizard/DataPage.h"

#include <QDir>
#include <QFileInfo>
#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QTimer>
#include <QVBoxLayout>

#include "core/data/data_preview.h"
#include "core/lora/adapter_check.h"
#include "ui/util/Count.h"
#include "ui/util/PathField.h"
#include "ui/wizard/CheckWhileTyping.h"
#include "ui/wizard/RunWizard.h"

namespace lowbit::ui {

DataPage::DataPage(QWidget* parent) : QWizardPage(parent) {
  setTitle(tr("Data"));
  auto* form = new QFormLayout(this);
  m_form = form;
  m_calibration = new QLineEdit(this);
  m_calibration->setObjectName(QStringLiteral("wizardCalibration"));
  m_calibration->setPlaceholderText(tr("calibration text (.txt or .jsonl), for GPTQ and LREC"));
  m_alpaca = new QLineEdit(this);
  m_alpaca->setObjectName(QStringLiteral("wizardAlpaca"));
  m_alpaca->setPlaceholderText(tr("instructions in Alpaca JSON/JSONL, for fine-tuning"));
  m_preview = new QPlainTextEdit(this);
  m_preview->setObjectName(QStringLiteral("wizardPreview"));
  m_preview->setReadOnly(true);
  form->addRow(tr("Calibration text"), withBrowseButton(m_calibration, PathKind::File, tr("Choose calibration text"),
                                                        tr("Text (*.txt *.jsonl *.json);;All files (*)")));
  form->addRow(tr("Instructions"), withBrowseButton(m_alpaca, PathKind::File, tr("Choose Alpaca-style instructions"),
                                                    tr("Alpaca data (*.json *.jsonl);;All files (*)")));
  // Fine-tuning a quantized model on top of the correction it got (the second half of the pipeline, started
  // on its own): the LREC adapter is stacked, frozen, under the new one.
  m_baseAdapter = new QLineEdit(this);
  m_baseAdapter->setObjectName(QStringLiteral("wizardBaseAdapter"));
  m_baseAdapter->setPlaceholderText(tr("optional: the correction (LREC) adapter made for this quantized model"));
  m_baseAdapterStatus = new QLabel(this);
  m_baseAdapterStatus->setObjectName(QStringLiteral("wizardBaseAdapterStatus"));
  m_baseAdapterStatus->setWordWrap(true);
  m_baseAdapterRow = new QWidget(this);
  auto* adapterLayout = new QVBoxLayout(m_baseAdapterRow);
  adapterLayout->setContentsMargins(0, 0, 0, 0);
  adapterLayout->addWidget(withBrowseButton(m_baseAdapter, PathKind::Folder, tr("Choose the correction adapter folder")));
  adapterLayout->addWidget(m_baseAdapterStatus);
  form->addRow(tr("Correction adapter"), m_baseAdapterRow);
  form->addRow(tr("Preview"), m_preview);
  checkWhileTyping<lora::AdapterCheckJob>(
      this, m_baseAdapter,
      [this]() -> std::shared_ptr<lora::AdapterCheckJob> {
        m_baseAdapterOk = m_baseAdapter->text().trimmed().isEmpty();
        m_baseAdapterStatus->setText(m_baseAdapterOk ? tr("None: the fine-tune trains the quantized model alone.") : tr("Checking…"));
        Q_EMIT completeChanged();
        if (m_baseAdapterOk) return nullptr;
        return std::make_shared<lora::AdapterCheckJob>(m_baseAdapter->text().trimmed().toStdString(), field_value("model").toStdString());
      },
      [this](lora::AdapterCheckJob* job, const QString& failure) {
        m_baseAdapterOk = job != nullptr;
        m_baseAdapterStatus->setText(job ? tr("✓ %1: stacked, frozen, under the fine-tune's adapter")
                                               .arg(QString::fromStdString(job->check().description))
                                         : QStringLiteral("✗ ") + failure);
        Q_EMIT completeChanged();
      });
  for (QLineEdit* field : {m_calibration, m_alpaca}) {
    const bool instruction = field == m_alpaca;
    QTimer* timer = checkWhileTyping<data::DataPreviewJob>(
        this, field,
        [this, field, instruction]() -> std::shared_ptr<data::DataPreviewJob> {
          (instruction ? m_alpacaOk : m_calibrationOk) = false;
          Q_EMIT completeChanged();
          if (field->text().trimmed().isEmpty()) return nullptr;
          return std::make_shared<data::DataPreviewJob>(field->text().trimmed().toStdString(),
                                                        field_value("model").toStdString(), instruction, 256);
        },
        [this, instruction](data::DataPreviewJob* job, const QString& failure) {
          QString text;
          if (!job) {
            text = QStringLiteral("✗ ") + failure;
          } else {
            const data::DataPreview& p = job->preview();
            if (instruction) {
              text = tr("✓ %1: %2 in the file, %3 usable, %4 left out; at the default cutoff of 256 tokens: %5\n")
                         .arg(QString::fromStdString(p.format), countOf(p.records, tr("record"), tr("records")))
                         .arg(p.usable)
                         .arg(p.left_out())
                         .arg(QString::fromStdString(p.statistics));
            } else {
              text = tr("✓ %1, %2; %3\n").arg(QString::fromStdString(p.format),
                                                countOf(p.records, tr("document"), tr("documents")),
                                                QString::fromStdString(p.statistics));
            }
            if (!p.problems.empty()) {
              text += tr("Left out:\n");
              for (const std::string& problem : p.problems) text += QStringLiteral("  ") + QString::fromStdString(problem) + QLatin1Char('\n');
            }
            text += tr("\nFirst example:\n") + QString::fromStdString(p.first_example);
            (instruction ? m_alpacaOk : m_calibrationOk) = true;
            if (instruction) {
              wizard()->setProperty("alpacaRecords", static_cast<qlonglong>(p.usable));
              wizard()->setProperty("alpacaMeanTokens", p.mean_tokens);
            }
          }
          (instruction ? m_alpacaText : m_calibrationText) = text;
          showPreviews();
          Q_EMIT completeChanged();
        });
    m_checks.push_back({field, timer});
  }
  registerField(QStringLiteral("calibration"), m_calibration);
  registerField(QStringLiteral("alpaca"), m_alpaca);
  registerField(QStringLiteral("baseAdapter"), m_baseAdapter);
}

// Each file the goal needs, under its own heading, whichever check finished last.
void DataPage::showPreviews() {
  QStringList parts;
  if (m_needsCalibration && !m_calibrationText.isEmpty()) parts << tr("Calibration text — ") + m_calibrationText;
  if (m_needsAlpaca && !m_alpacaText.isEmpty()) parts << tr("Instructions — ") + m_alpacaText;
  m_preview->setPlainText(parts.join(QStringLiteral("\n\n")));
}

void DataPage::initializePage() {
  const int goal = field_value("goal").toInt();
  m_needsCalibration = goal != RunWizard::FineTune;
  m_needsAlpaca = goal == RunWizard::FineTune || goal == RunWizard::FullPipeline;
  m_calibration->setEnabled(m_needsCalibration);
  m_alpaca->setEnabled(m_needsAlpaca);
  // Only a fine-tune started on its own is given its correction adapter; the pipeline stacks the one it makes.
  m_form->setRowVisible(m_baseAdapterRow, goal == RunWizard::FineTune);
  if (goal != RunWizard::FineTune) {
    m_baseAdapter->clear();
  } else if (m_baseAdapter->text().isEmpty()) {
    // A model quantized by a New run (<run>/int2) has its correction beside it (<run>/lrec/adapter).
    const QString beside = QFileInfo(field_value("model")).dir().filePath(QStringLiteral("lrec/adapter"));
    if (QFileInfo::exists(beside + QStringLiteral("/adapter_config.json"))) m_baseAdapter->setText(beside);
  }
  showPreviews();
  // Remembered files are checked now that the model (whose tokenizer counts the tokens) is known.
  for (const auto& [field, timer] : m_checks) {
    if (!field->text().trimmed().isEmpty()) timer->start();
  }
}

bool DataPage::isComplete() const {
  return (!m_needsCalibration || m_calibrationOk) && (!m_needsAlpaca || m_alpacaOk) && m_baseAdapterOk;
}

}  // namespace lowbit::ui
