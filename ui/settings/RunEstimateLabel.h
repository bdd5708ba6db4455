// The memory and time a run will take on this machine, shown before it starts on every page that starts one (the
// wizard's settings, the Correct page): a core RunEstimateJob on a worker, ~400 ms after the last change, with a
// fit verdict per step and what to change when a step does not fit.
#pragma once

#include <QLabel>

#include <functional>

#include "core/train/run_plan.h"

class QTimer;

namespace lowbit::ui {

class JobRunner;

class RunEstimateLabel : public QLabel {
  Q_OBJECT

 public:
  // `plan` gives the run as the page has it now; `missing`, when it returns text, is shown instead (e.g. what to
  // fill in first).
  RunEstimateLabel(std::function<train::RunPlan()> plan, std::function<QString()> missing, QWidget* parent);

 public Q_SLOTS:
  // Estimates again shortly; changes in a row are estimated once; a page not shown is estimated when it shows.
  void refresh();

 protected:
  void showEvent(QShowEvent* event) override;

 private:
  void estimate();

  std::function<train::RunPlan()> m_plan;
  std::function<QString()> m_missing;
  QTimer* m_timer;
  JobRunner* m_runner;
  bool m_stale = true;  // changed since the last estimate
};

}  // namespace lowbit::ui
