// A task page whose form is the New run wizard (Quantize, Fine-tune): the button that opens the wizard with that
// goal chosen, and the equivalent `lowbit` command (the main window says above it what the task does). One way to set
// up each run: the wizard's pages check the model and the data before anything starts.
#pragma once

#include <QWidget>

namespace lowbit::ui {

class TaskLauncherPage : public QWidget {
  Q_OBJECT

 public:
  TaskLauncherPage(const QString& title, const QString& commandLine, QWidget* parent = nullptr);

 Q_SIGNALS:
  void wizardRequested();
};

}  // namespace lowbit::ui
