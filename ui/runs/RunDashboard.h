// The run dashboard: live curves of a training run (LREC/EMEF) and its progress, fed either by a running job's
// events (through JobRunner) or by a run directory's metrics.jsonl (a finished run, or one re-attached after
// the app restarted).
//
// Plots (QCustomPlot): losses (train KL, CE and total, each raw and as an exponential moving average), validation
// (CE and PPL), learning rate and gradient norm. Redraws are throttled to ~15 Hz however fast metrics arrive;
// log-y toggle, zoom/pan with the mouse, outliers above the 99th percentile clipped from the y range; a memory
// gauge (GPU memory, or RAM for a CPU run) fed by the trainer's "vram/…"/"ram/…" metrics.
//
// Controls: Pause / Continue holds the job at its next step; Stop & save ends it after the current step with a
// checkpoint there (core/train/trainer.h); Cancel ends it without writing a new checkpoint (the last periodic one
// stays); Resume asks the owner to continue from the last checkpoint; Open folder shows the run folder.
//
// A run folder opened from disk shows what its run_state.json says (core/train/run_status.h): finished, stopped,
// failed with its message, crashed (shown as failed), or still running in another process — then the dashboard
// follows its metrics.jsonl as it grows until the run ends.
//
//   auto* dashboard = new RunDashboard(parent);
//   dashboard->attach(runner);                 // live
//   dashboard->loadRunDirectory("runs/lrec");  // or from disk
#pragma once

#include <QMap>
#include <QString>
#include <QVector>
#include <QWidget>

#include <functional>
#include <memory>
#include <optional>

#include "core/jobs/job.h"
#include "core/train/metrics_log.h"
#include "ui/models/ChatChoice.h"
#include "ui/models/ExportMenu.h"

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
  enum class State { Idle, Running, Paused, Finished, Cancelled, Failed };

  explicit RunDashboard(QWidget* parent = nullptr);

  // Shows the events of `runner`'s job from now on (clears what was shown); its controls steer that job.
  // `runDirectory`: the folder the job writes (for Open folder), when the owner knows it.
  void attach(JobRunner* runner, const QString& runDirectory = QString());
  // Reads <dir>/metrics.jsonl, config.json (total steps) and run_state.json (how the run ended, or that it is
  // still going in another process, which is then followed live). A pipeline's folder (pipeline.json) shows the
  // curves of its latest training step and the pipeline's own state; Resume then continues the pipeline.
  bool loadRunDirectory(const QString& dir, QString* error = nullptr);
  // A training run's folder (metrics.jsonl) or a pipeline's (pipeline.json).
  static bool isRunFolder(const QString& dir);

  // Points of one series ("train/kl", "train/kl (smoothed)", "val/ppl", "train/lr", …): for tests and export.
  QVector<double> seriesValues(const QString& name) const;
  int replotCount() const { return m_replots; }
  State state() const { return m_state; }
  QString statusText() const;
  QString speedText() const;  // "1234 tokens/s" while running, "last speed 1234 tokens/s" after
  QString runDirectory() const { return m_runDirectory; }
  bool isFollowing() const;
  QString memoryText() const;  // the memory gauge as shown: "GPU memory 5.2 GiB / 8.0 GiB", "RAM 317.4 MiB / 23.4 GiB"
  // How Open folder shows a folder (the desktop's file manager by default; tests record it instead).
  void setFolderOpener(std::function<void(const QString&)> opener) { m_folderOpener = std::move(opener); }

 Q_SIGNALS:
  void stopAndSaveRequested();     // attached jobs stop after the current step and save a checkpoint there
  void cancelRequested();          // attached jobs stop without writing a new checkpoint
  void pauseRequested(bool pause); // attached jobs wait at their next step while paused
  void resumeRequested();          // the owner starts the run again from its last checkpoint
  // "Chat with the result" of a finished run: the model its last step used and the adapters it made, in load order.
  void chatRequested(const QString& model, const QStringList& adapters);
  // "Export the result": the same model and adapters, merged (the choice's label is the run folder's name).
  void exportRequested(const lowbit::ui::ChatChoice& result, lowbit::ui::ExportFormat format);
  void stateChanged(lowbit::ui::RunDashboard::State state);

 public Q_SLOTS:
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
  void showStepsAlreadyRun(const QString& runFolder);
  // Cancel asks first, saying which checkpoint is kept and how many steps are lost.
  void confirmCancel();
  // Where the running step keeps its checkpoints: the run folder, or a pipeline's latest training step.
  QString checkpointDirectory() const;
  void detachRunner();
  void releasePauseButton();
  // Appends the complete lines metrics.jsonl gained since the last read (a line still being written waits).
  void readNewMetrics();
  // Applies run_state.json: the state, the failure message, whether to keep following.
  void applyRunStatus();
  void updateMemoryGauge();

  QMap<QString, Series> m_series;
  QCustomPlot* m_lossPlot = nullptr;
  QCustomPlot* m_validationPlot = nullptr;
  QCustomPlot* m_optimizerPlot = nullptr;
  QProgressBar* m_progress = nullptr;
  QProgressBar* m_memory = nullptr;
  QLabel* m_status = nullptr;
  QLabel* m_speed = nullptr;
  double m_tokensPerSecond = 0;
  QPlainTextEdit* m_log = nullptr;
  QCheckBox* m_logScale = nullptr;
  QPushButton* m_pause = nullptr;
  QPushButton* m_stopAndSave = nullptr;
  QPushButton* m_cancel = nullptr;
  QPushButton* m_resume = nullptr;
  QPushButton* m_openFolder = nullptr;
  QPushButton* m_chatWithResult = nullptr;
  QPushButton* m_exportResult = nullptr;
  std::optional<ChatChoice> m_result;  // what a finished run made, to chat with
  QTimer* m_replotTimer = nullptr;
  QTimer* m_followTimer = nullptr;
  JobRunner* m_runner = nullptr;
  std::function<void(const QString&)> m_folderOpener;
  QString m_runDirectory;
  std::unique_ptr<train::MetricsLogReader> m_metricsReader;  // the run folder's metrics.jsonl
  QString m_metricsDirectory;  // where metrics.jsonl is: the run folder, or a pipeline's latest training step
  int64_t m_lastStep = 0;
  QString m_failure;
  bool m_dirty = false;
  int m_replots = 0;
  State m_state = State::Idle;
  QString m_eta;
  // The memory gauge: bytes in use / the device's total, and whether the device is a GPU.
  double m_memoryUsed = 0, m_memoryTotal = 0, m_memoryPeak = 0;
  bool m_memoryOnGpu = false;
};

}  // namespace lowbit::ui
