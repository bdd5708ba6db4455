#include "ui/about/AboutDialog.h"

#include <QDialogButtonBox>
#include <QFontDatabase>
#include <QLabel>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QTabWidget>
#include <QVBoxLayout>

#include "core/system/system_info_job.h"
#include "core/version.h"
#include "ui/jobs/JobRunner.h"

namespace lowbit::ui {

AboutDialog::AboutDialog(QWidget* parent) : QDialog(parent) {
  setObjectName(QStringLiteral("aboutDialog"));
  setWindowTitle(tr("About LowBit Studio"));
  resize(640, 420);

  m_tabs = new QTabWidget(this);
  m_tabs->setObjectName(QStringLiteral("aboutTabs"));

  auto* aboutPage = new QLabel(
      tr("<h2>LowBit Studio %1</h2>"
         "<p>Quantize LLaMA-family models to 2, 3, 4 or 8 bits with GPTQ, repair the quantization damage with "
         "low-rank error correction, fine-tune on instructions with LoRA on the frozen bit-packed weights, and "
         "chat with the result — on one consumer GPU.</p>"
         "<p>After the paper <i>INT2.1: Towards Fine-Tunable Quantized LLMs with Error Correction through "
         "Low-Rank Adaptation</i> (Chai et al., 2023).</p>")
          .arg(QString::fromLatin1(kLowBitVersion)),
      m_tabs);
  aboutPage->setObjectName(QStringLiteral("aboutText"));
  aboutPage->setWordWrap(true);
  aboutPage->setAlignment(Qt::AlignTop | Qt::AlignLeft);
  aboutPage->setMargin(12);
  m_tabs->addTab(aboutPage, tr("About"));

  auto* systemPage = new QWidget(m_tabs);
  auto* systemLayout = new QVBoxLayout(systemPage);
  m_systemStatus = new QLabel(tr("Not checked yet."), systemPage);
  m_systemStatus->setObjectName(QStringLiteral("systemStatus"));
  m_systemText = new QPlainTextEdit(systemPage);
  m_systemText->setObjectName(QStringLiteral("systemText"));
  m_systemText->setReadOnly(true);
  m_systemText->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
  m_refreshButton = new QPushButton(tr("Refresh"), systemPage);
  m_refreshButton->setObjectName(QStringLiteral("refreshSystemButton"));
  systemLayout->addWidget(m_systemStatus);
  systemLayout->addWidget(m_systemText, 1);
  systemLayout->addWidget(m_refreshButton, 0, Qt::AlignRight);
  m_tabs->addTab(systemPage, tr("System"));

  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);
  auto* layout = new QVBoxLayout(this);
  layout->addWidget(m_tabs);
  layout->addWidget(buttons);

  m_runner = new JobRunner(this);
  connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
  connect(m_refreshButton, &QPushButton::clicked, this, &AboutDialog::refreshSystemInformation);
  connect(m_tabs, &QTabWidget::currentChanged, this, [this](int index) {
    if (index == 1 && !m_systemLoaded) refreshSystemInformation();
  });
  connect(m_runner, &JobRunner::jobFinished, this, [this] {
    const auto job = std::static_pointer_cast<system::SystemInfoJob>(m_runner->job());
    m_systemText->setPlainText(QString::fromStdString(system::format_system_report(job->result())));
    m_systemStatus->setText(job->result().warnings.empty() ? tr("Checked.") : tr("Checked: see the warnings below."));
    m_refreshButton->setEnabled(true);
    m_systemLoaded = true;
    Q_EMIT systemInformationUpdated();
  });
  connect(m_runner, &JobRunner::jobFailed, this, [this](const QString& message) {
    m_systemStatus->setText(tr("The system check failed: %1").arg(message));
    m_refreshButton->setEnabled(true);
  });
}

void AboutDialog::showTab(Tab tab) {
  m_tabs->setCurrentIndex(tab == Tab::System ? 1 : 0);
  if (tab == Tab::System && !m_systemLoaded && !m_runner->isRunning()) refreshSystemInformation();
  show();
  raise();
  activateWindow();
}

QString AboutDialog::systemReport() const { return m_systemText->toPlainText(); }

void AboutDialog::refreshSystemInformation() {
  if (m_runner->isRunning()) return;
  m_refreshButton->setEnabled(false);
  m_systemStatus->setText(tr("Checking the system…"));
  m_runner->start(std::make_shared<system::SystemInfoJob>(/*check_kernels=*/true));
}

}  // namespace lowbit::ui
