// The run dashboard: live curves of a training run (LREC/EMEF) and its progress, fed either by a running job's
// events (through JobRunner) or by a run directory's metrics.jsonl (a finished run, or one re-attached after
// the app restarted).
//
// Plots (QCustomPlot): losses (train KL, CE and total, each raw and as an exponential moving average), validation
// (CE and PPL), learning rate and gradient norm. Redraws are throttled to ~15 Hz however fast metrics arrive;
// log-y toggle, zoom/pan with the mouse, outliers above the 99th percentile clipped from the y range. Stop & save
// ends the job after its current step with a checkpoint there (core/train/trainer.h); Resume asks the owner to
// continue from it.
//
//   auto* dashboard = new RunDashboard(parent);
//   dashboard->attach(runner);                 // live
//   dashboard->loadRunDirectory("runs/lrec");  // or from disk
#pragma once

#include <QMap>
#include <QString>
#include <QVector>
#include <QWidget>

#include "core/jobs/job.h"

class QCheckBox;
class QCustomPlot;
class QLabel;
class QPlainTextEdit;
class QProgressBar;
class QPushButton;
class QTimer;

namespace lowbit::ui {

class JobRunner;

class RunDashboard : public QWidget {
  Q_OBJECT

 public:
  enum class State { Idle, Running, Finished, Cancelled, Failed };

  explicit RunDashboard(QWidget* parent = nullptr);

  // Shows the events of `runner`'s job from now on (clears what was shown).
  void attach(JobRunner* runner);
  // Reads <dir>/metrics.jsonl (and config.json for the title). A run directory without a final adapter/ whose
  // job is not running here is shown as "stopped or failed"; it can be resumed from its last checkpoint.
  bool loadRunDirectory(const QString& dir, QString* error = nullptr);

  // Points of one series ("train/kl", "train/kl (smoothed)", "val/ppl", "train/lr", …): for tests and export.
  QVector<double> seriesValues(const QString& name) const;
  int replotCount() const { return m_replots; }
  State state() const { return m_state; }
  QString statusText() const;

 signals:
  void stopAndSaveRequested();   // attached jobs stop after the current step and save a checkpoint there
  void resumeRequested();        // the owner starts the run again from its last checkpoint
  void stateChanged(lowbit::ui::RunDashboard::State state);

 public slots:
  void addMetric(const lowbit::jobs::Metric& metric);
  void setProgress(const lowbit::jobs::Progress& progress);
  void appendLog(const QString& line);
  void setLogScale(bool on);
  void setState(lowbit::ui::RunDashboard::State state);

 private:
  struct Series {
    QVector<double> steps, values, smoothed;
  };
  void replotNow();
  void clear();

  QMap<QString, Series> m_series;
  QCustomPlot* m_lossPlot = nullptr;
  QCustomPlot* m_validationPlot = nullptr;
  QCustomPlot* m_optimizerPlot = nullptr;
  QProgressBar* m_progress = nullptr;
  QLabel* m_status = nullptr;
  QLabel* m_speed = nullptr;
  QPlainTextEdit* m_log = nullptr;
  QCheckBox* m_logScale = nullptr;
  QPushButton* m_stopAndSave = nullptr;
  QPushButton* m_resume = nullptr;
  QTimer* m_replotTimer = nullptr;
  bool m_dirty = false;
  int m_replots = 0;
  State m_state = State::Idle;
  QString m_eta;
};

}  // namespace lowbit::ui
