#include "ui/main/UpcomingFeaturePage.h"

#include <QLabel>
#include <QVBoxLayout>

namespace lowbit::ui {

UpcomingFeaturePage::UpcomingFeaturePage(const QString& title, const QString& purpose, const QString& commandLine,
                                         QWidget* parent)
    : QWidget(parent) {
  auto* layout = new QVBoxLayout(this);
  auto* heading = new QLabel(QStringLiteral("<h2>%1</h2>").arg(title.toHtmlEscaped()), this);
  heading->setObjectName(QStringLiteral("pageTitle"));
  auto* purposeLabel = new QLabel(purpose, this);
  purposeLabel->setWordWrap(true);
  auto* status = new QLabel(tr("Not available in this version of LowBit Studio yet. "
                               "The command-line equivalent is <code>%1</code>.")
                                .arg(commandLine.toHtmlEscaped()),
                            this);
  status->setObjectName(QStringLiteral("availability"));
  status->setWordWrap(true);
  layout->addWidget(heading);
  layout->addWidget(purposeLabel);
  layout->addSpacing(12);
  layout->addWidget(status);
  layout->addStretch(1);
}

}  // namespace lowbit::ui
