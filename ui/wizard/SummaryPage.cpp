#include "ui/wizard/SummaryPage.h"

#include <QLabel>
#include <QVBoxLayout>

#include "ui/wizard/RunWizard.h"

namespace lowbit::ui {

SummaryPage::SummaryPage(RunWizard* wizard) : QWizardPage(wizard), m_wizard(wizard) {
  setTitle(tr("Summary"));
  setSubTitle(tr("Finish starts the run; its curves appear on the Runs page."));
  auto* layout = new QVBoxLayout(this);
  m_text = new QLabel(this);
  m_text->setObjectName(QStringLiteral("wizardSummary"));
  m_text->setWordWrap(true);
  m_text->setTextInteractionFlags(Qt::TextSelectableByMouse);
  layout->addWidget(m_text);
}

void SummaryPage::initializePage() {
  m_text->setText(tr("LowBit will run, in order:\n\n%1\n\nEverything is written under %2.")
                      .arg(m_wizard->commands().join(QStringLiteral("\n\n")), field(QStringLiteral("output")).toString()));
}

}  // namespace lowbit::ui
