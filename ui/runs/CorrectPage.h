// The Correct page: the LREC form (quantized model, full-precision teacher, calibration text, run folder, and the
// shared LREC settings form: preset, steps, rank, window, micro-batch) and the run dashboard below it. Start runs
// an LrecJob on a worker thread; Stop & save keeps a checkpoint at the step reached and Resume continues from it
// exactly. The `lowbit correct` command of the very settings Start uses is shown, so that what the app does can
// be repeated in a terminal.
#pragma once

#include <QWidget>

#include "core/train/lrec_settings.h"
#include "core/train/run_plan.h"

class QLabel;
class QLineEdit;
class QPushButton;

namespace lowbit::ui {

class JobRunner;
class LrecSettingsForm;
class RunDashboard;
class RunEstimateLabel;

class CorrectPage : public QWidget {
  Q_OBJECT

 public:
  explicit CorrectPage(QWidget* parent = nullptr);
  RunDashboard* dashboard() const { return m_dashboard; }
  train::LrecSettings settings() const;  // what Start runs
  QString command() const;               // the same as a lowbit command line

 public Q_SLOTS:
  void start(bool resume = false);
  void setQuantizedModel(const QString& folder);  // a model card's Correct

 private:
  train::RunPlan plan() const;  // the settings as a one-step run: what Start runs and the estimate is of
  QLineEdit* m_student = nullptr;
  QLineEdit* m_teacher = nullptr;
  QLineEdit* m_calibration = nullptr;
  QLineEdit* m_runDir = nullptr;
  LrecSettingsForm* m_settings = nullptr;
  QLabel* m_command = nullptr;
  RunEstimateLabel* m_estimate = nullptr;
  QPushButton* m_start = nullptr;
  JobRunner* m_runner = nullptr;
  RunDashboard* m_dashboard = nullptr;
};

}  // namespace lowbit::ui
