#include "ui/wizard/SummaryPage.h"

#include <QCheckBox>
#include <QLabel>
#include <QVBoxLayout>

#include <memory>

#include "ui/util/Count.h"
#include "core/data/data_preview.h"
#include "core/train/run_plan.h"
#include "ui/jobs/JobRunner.h"
#include "ui/wizard/RunWizard.h"

namespace lowbit::ui {

namespace {

constexpr double kLeftOutToAsk = 0.10;  // of the records: more than this left out and the user is asked first

}  // namespace

SummaryPage::SummaryPage(RunWizard* wizard) : QWizardPage(wizard), m_wizard(wizard), m_checkRunner(new JobRunner(this)) {
  setTitle(tr("Summary"));
  setSubTitle(tr("Finish starts the run; its curves appear on the Runs page."));
  auto* layout = new QVBoxLayout(this);
  m_text = new QLabel(this);
  m_text->setObjectName(QStringLiteral("wizardSummary"));
  m_text->setWordWrap(true);
  m_text->setTextInteractionFlags(Qt::TextSelectableByMouse);
  layout->addWidget(m_text);
  m_dataCheck = new QLabel(this);
  m_dataCheck->setObjectName(QStringLiteral("wizardDataCheck"));
  m_dataCheck->setWordWrap(true);
  layout->addWidget(m_dataCheck);
  m_startAnyway = new QCheckBox(this);
  m_startAnyway->setObjectName(QStringLiteral("wizardStartAnyway"));
  m_startAnyway->hide();
  layout->addWidget(m_startAnyway);
  layout->addStretch(1);
  connect(m_startAnyway, &QCheckBox::toggled, this, &QWizardPage::completeChanged);
  connect(m_checkRunner, &JobRunner::jobFailed, this, [this](const QString& message) {
    m_checking = false;
    m_checkFailed = true;
    m_dataCheck->setText(QStringLiteral("✗ ") + message);
    Q_EMIT completeChanged();
  });
}

void SummaryPage::initializePage() {
  m_text->setText(tr("LowBit will run, in order:\n\n%1\n\nEverything is written under %2.")
                      .arg(m_wizard->commands().join(QStringLiteral("\n\n")), field(QStringLiteral("output")).toString()));
  m_needsConsent = m_checkFailed = false;
  m_startAnyway->hide();
  m_startAnyway->setChecked(false);
  const train::RunPlan plan = m_wizard->plan();
  if (!plan.finetune || m_checkRunner->isRunning()) {
    m_dataCheck->clear();
    m_checking = m_checkRunner->isRunning();
    Q_EMIT completeChanged();
    return;
  }
  // The model the run starts from has the tokenizer of the (not yet quantized) model the fine-tuning step uses.
  const train::EmefSettings& emef = *plan.finetune;
  const int64_t cutoff = emef.examples.cutoff;
  auto job = std::make_shared<data::DataPreviewJob>(emef.data, plan.model_dir, true, cutoff, emef.prompt_template);
  m_checking = true;
  m_dataCheck->setText(tr("Checking the instructions at the run's cutoff of %1 tokens…").arg(cutoff));
  Q_EMIT completeChanged();
  m_checkRunner->start(job, [this, job, cutoff] {
    const data::DataPreview& p = job->preview();
    m_checking = false;
    QString text = tr("Fine-tuning learns from %1 of the %2 at its cutoff of %3 tokens")
                       .arg(p.usable).arg(countOf(p.records, tr("record"), tr("records"))).arg(cutoff);
    if (p.left_out() > 0) {
      text += tr(": %1 left out — %2 whose prompt alone fills the cutoff, %3 malformed (listed on the data page).")
                  .arg(p.left_out()).arg(p.prompt_fills_cutoff).arg(p.malformed);
    } else {
      text += QLatin1Char('.');
    }
    m_needsConsent = p.records > 0 && static_cast<double>(p.left_out()) > kLeftOutToAsk * static_cast<double>(p.records);
    if (m_needsConsent) {
      text = QStringLiteral("⚠ ") + text + tr(" Raise the cutoff under Advanced (Back), or start with these records.");
      m_startAnyway->setText(tr("&Start with the %1 anyway").arg(countOf(p.usable, tr("usable record"), tr("usable records"))));
      m_startAnyway->show();
    }
    m_dataCheck->setText(text);
    Q_EMIT completeChanged();
  });
}

bool SummaryPage::isComplete() const {
  return !m_checking && !m_checkFailed && (!m_needsConsent || m_startAnyway->isChecked());
}

}  // namespace lowbit::ui
