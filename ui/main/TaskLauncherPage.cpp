#include "ui/main/TaskLauncherPage.h"

#include <QLabel>
#include <QPushButton>
#include <QVBoxLayout>

namespace lowbit::ui {

TaskLauncherPage::TaskLauncherPage(const QString& title, const QString& commandLine, QWidget* parent) : QWidget(parent) {
  auto* layout = new QVBoxLayout(this);
  auto* start = new QPushButton(tr("New %1 run…").arg(title.toLower()), this);
  start->setObjectName(QStringLiteral("openWizard"));
  start->setToolTip(tr("The wizard checks the model and the data, estimates memory and time, then starts the run"));
  auto* command = new QLabel(tr("The same in a terminal: <code>%1</code>. Runs show on the Runs page.")
                                 .arg(commandLine.toHtmlEscaped()),
                             this);
  command->setObjectName(QStringLiteral("commandLine"));
  command->setWordWrap(true);
  command->setTextInteractionFlags(Qt::TextSelectableByMouse);
  layout->addWidget(start, 0, Qt::AlignLeft);
  layout->addSpacing(12);
  layout->addWidget(command);
  layout->addStretch(1);
  connect(start, &QPushButton::clicked, this, &TaskLauncherPage::wizardRequested);
}

}  // namespace lowbit::ui
