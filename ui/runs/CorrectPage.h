// The Correct page: the LREC form (quantized model, full-precision teacher, calibration text, run folder, the
// paper's preset, steps) and the run dashboard below it. Start runs an LrecJob on a worker thread; Stop & save
// keeps a checkpoint at the step reached and Resume continues from it exactly. The equivalent `lowbit correct`
// command is shown, so that what the app does can be repeated in a terminal.
#pragma once

#include <QWidget>

class QComboBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QSpinBox;

namespace lowbit::ui {

class JobRunner;
class RunDashboard;

class CorrectPage : public QWidget {
  Q_OBJECT

 public:
  explicit CorrectPage(QWidget* parent = nullptr);
  RunDashboard* dashboard() const { return m_dashboard; }
  QString command() const;  // the equivalent lowbit command line

 public Q_SLOTS:
  void start(bool resume = false);

 private:
  QLineEdit* m_student = nullptr;
  QLineEdit* m_teacher = nullptr;
  QLineEdit* m_calibration = nullptr;
  QLineEdit* m_runDir = nullptr;
  QComboBox* m_preset = nullptr;
  QSpinBox* m_steps = nullptr;
  QSpinBox* m_rank = nullptr;
  QLabel* m_command = nullptr;
  QPushButton* m_start = nullptr;
  JobRunner* m_runner = nullptr;
  RunDashboard* m_dashboard = nullptr;
};

}  // namespace lowbit::ui
