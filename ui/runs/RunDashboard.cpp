#include "ui/runs/RunDashboard.h"

#include <QCheckBox>
#include <QDesktopServices>
#include <QUrl>
#include <QFile>
#include <QHBoxLayout>
#include <QLabel>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QDir>
#include <QMenu>
#include <QPushButton>
#include <QSignalBlocker>
#include <QTimer>
#include <QVBoxLayout>
#include "ui/util/QCustomPlot.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>

#include "core/train/metric_names.h"
#include "core/util/json_limits.h"
#include "core/train/run_output.h"
#include "ui/models/ExportMenu.h"
#include "core/train/run_plan.h"
#include "core/train/run_status.h"
#include "core/util/errors.h"
#include "core/util/format.h"
#include "ui/jobs/JobRunner.h"
#include "ui/util/Count.h"
#include "ui/util/Eta.h"

namespace lowbit::ui {
namespace {

constexpr double kSmoothing = 0.9;  // exponential moving average: smoothed = 0.9 · previous + 0.1 · value
constexpr int kReplotIntervalMs = 66;  // ~15 Hz
constexpr int kLogLines = 2000;
constexpr int kFollowIntervalMs = 500;  // a run in another process writes one metrics line per step

struct Curve {
  const char* series;
  const char* plot;  // "loss" | "validation" | "optimizer"
  QColor colour;
  bool smoothed;
  bool rightAxis;    // quantities of another scale (CE beside a per-sequence KL, lr beside the grad norm)
};

const Curve kCurves[] = {
    {train::metrics::kTrainKl, "loss", QColor(31, 119, 180), true, false},
    {train::metrics::kTrainMse, "loss", QColor(23, 190, 207), true, false},
    {train::metrics::kTrainTotal, "loss", QColor(44, 160, 44), true, false},
    {train::metrics::kTrainCe, "loss", QColor(255, 127, 14), true, true},
    {train::metrics::kValKl, "validation", QColor(31, 119, 180), false, false},
    {train::metrics::kValMse, "validation", QColor(23, 190, 207), false, false},
    {train::metrics::kValPpl, "validation", QColor(148, 103, 189), false, false},
    {train::metrics::kValCe, "validation", QColor(214, 39, 40), false, true},
    {train::metrics::kTrainGradNorm, "optimizer", QColor(127, 127, 127), false, false},
    {train::metrics::kTrainLr, "optimizer", QColor(140, 86, 75), false, true},
};

// The legend sits in a row of its own above the curves, so that it never hides them.
QCustomPlot* makePlot(QWidget* parent, const QString& name) {
  auto* plot = new QCustomPlot(parent);
  plot->setObjectName(name);
  plot->setMinimumHeight(160);
  plot->xAxis->setLabel(QObject::tr("step"));
  plot->legend->setVisible(true);
  plot->legend->setFont(QFont(plot->font().family(), 8));
  plot->legend->setBorderPen(Qt::NoPen);
  plot->legend->setFillOrder(QCPLayoutGrid::foColumnsFirst);
  plot->axisRect()->insetLayout()->take(plot->legend);
  // The legend's row holds a filler beside it: an empty legend's width limit (its margins) would otherwise be the
  // whole column's and squeeze the axes to a sliver before the first point comes.
  auto* legendRow = new QCPLayoutGrid;
  plot->plotLayout()->insertRow(0);
  plot->plotLayout()->addElement(0, 0, legendRow);
  plot->plotLayout()->setRowStretchFactor(0, 0.001);
  plot->plotLayout()->setRowSpacing(0);
  legendRow->addElement(0, 0, plot->legend);
  legendRow->addElement(0, 1, new QCPLayoutElement(plot));
  legendRow->setColumnStretchFactors({1.0, 0.001});
  legendRow->setMargins(QMargins());
  plot->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
  plot->yAxis2->setTickLabels(true);
  return plot;
}

QString metricLabel(const char* name) {
  const train::metrics::MetricInfo* info = train::metrics::find_metric(name);
  return QString::fromLatin1(info != nullptr ? info->label : name);
}

// The y range of the visible data with values above the 99th percentile left out (one diverging step should
// not flatten every other point); a handful of points (two evaluations) keeps its top one, which is no outlier there.
QCPRange clippedRange(const QVector<QVector<double>>& columns, bool logScale) {
  QVector<double> all;
  for (const auto& column : columns) {
    for (double v : column) {
      if (std::isfinite(v) && (!logScale || v > 0)) all.push_back(v);
    }
  }
  if (all.isEmpty()) return QCPRange(logScale ? 0.1 : 0, 1);
  std::sort(all.begin(), all.end());
  const double low = all.front();
  const double high = all.size() < 20 ? all.back() : all[static_cast<int>(std::floor(0.99 * (all.size() - 1)))];
  if (logScale) return QCPRange(low / 1.2, std::max(high * 1.2, low * 1.5));
  // One point (or a flat line) gets a range around it of a tenth of its size, so that its ticks differ.
  const double pad = std::max({(high - low) * 0.05, std::abs(high) * 0.05, 1e-6});
  return QCPRange(low - pad, high + pad);
}

}  // namespace

RunDashboard::RunDashboard(QWidget* parent) : QWidget(parent) {
  setObjectName(QStringLiteral("runDashboard"));
  auto* layout = new QVBoxLayout(this);
  auto* top = new QHBoxLayout;
  m_status = new QLabel(tr("No run"), this);
  m_status->setObjectName(QStringLiteral("runStatus"));
  m_speed = new QLabel(this);
  m_speed->setObjectName(QStringLiteral("runSpeed"));
  // A long status (a failure message) wraps instead of widening the window past the screen; the speed is short
  // and keeps its room beside it.
  for (QLabel* label : {m_status, m_speed}) label->setWordWrap(true);
  m_status->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
  m_speed->setMaximumWidth(220);
  m_logScale = new QCheckBox(tr("Log scale"), this);
  m_logScale->setObjectName(QStringLiteral("logScale"));
  m_pause = new QPushButton(tr("Pause"), this);
  m_pause->setObjectName(QStringLiteral("pauseRun"));
  m_pause->setCheckable(true);
  // Keys for the visible dashboard (a hidden page's shortcuts are off): Ctrl+P, Ctrl+S, Ctrl+R.
  m_pause->setShortcut(QKeySequence(QStringLiteral("Ctrl+P")));
  m_pause->setToolTip(tr("Hold the run after its current step; Continue goes on where it stopped (Ctrl+P)"));
  m_stopAndSave = new QPushButton(tr("Stop && save"), this);
  m_stopAndSave->setObjectName(QStringLiteral("stopAndSave"));
  m_stopAndSave->setShortcut(QKeySequence(QStringLiteral("Ctrl+S")));
  m_stopAndSave->setToolTip(tr("Stop after the current step; a checkpoint is saved there and the run can be resumed (Ctrl+S)"));
  m_cancel = new QPushButton(tr("Cancel"), this);
  m_cancel->setObjectName(QStringLiteral("cancelRun"));
  m_cancel->setToolTip(tr("Stop now without saving this step; the last periodic checkpoint stays and can be resumed"));
  m_resume = new QPushButton(tr("Resume"), this);
  m_resume->setObjectName(QStringLiteral("resumeRun"));
  m_resume->setShortcut(QKeySequence(QStringLiteral("Ctrl+R")));
  m_resume->setToolTip(tr("Continue from the last checkpoint with the same data order: the curves go on as if never stopped (Ctrl+R)"));
  m_openFolder = new QPushButton(tr("Open folder"), this);
  m_openFolder->setObjectName(QStringLiteral("openRunFolder"));
  m_openFolder->setToolTip(tr("Show the run folder: adapter, checkpoints, metrics.jsonl, config.json"));
  top->addWidget(m_status, 1);
  top->addWidget(m_speed);
  top->addWidget(m_logScale);
  top->addWidget(m_pause);
  top->addWidget(m_stopAndSave);
  top->addWidget(m_cancel);
  top->addWidget(m_resume);
  top->addWidget(m_openFolder);
  m_chatWithResult = new QPushButton(tr("Chat with the result"), this);
  m_chatWithResult->setObjectName(QStringLiteral("chatWithResult"));
  m_chatWithResult->setShortcut(QKeySequence(QStringLiteral("Ctrl+T")));
  top->addWidget(m_chatWithResult);
  m_exportResult = new QPushButton(tr("Export the result"), this);
  m_exportResult->setObjectName(QStringLiteral("exportResult"));
  m_exportResult->setToolTip(tr("Merge the model and the adapters this run made into a Hugging Face folder, or a GGUF "
                                "file with an Ollama Modelfile (progress on the Models page)"));
  auto* exportMenu = new QMenu(m_exportResult);
  exportMenu->setObjectName(QStringLiteral("exportResultMenu"));
  addExportActions(exportMenu, [this](ExportFormat format) {
    if (m_result) Q_EMIT exportRequested(*m_result, format);
  });
  m_exportResult->setMenu(exportMenu);
  top->addWidget(m_exportResult);
  layout->addLayout(top);
  auto* bars = new QHBoxLayout;
  m_progress = new QProgressBar(this);
  m_progress->setObjectName(QStringLiteral("runProgress"));
  m_progress->setRange(0, 1);
  m_progress->setValue(0);
  m_memory = new QProgressBar(this);
  m_memory->setObjectName(QStringLiteral("memoryGauge"));
  m_memory->setRange(0, 1000);
  m_memory->setValue(0);
  m_memory->setMinimumWidth(200);
  m_memory->setMaximumWidth(260);
  m_memory->setToolTip(tr("Memory this run holds on its device (GPU memory, or RAM for a CPU run) against the device's total"));
  bars->addWidget(m_progress, 1);
  bars->addWidget(m_memory);
  layout->addLayout(bars);

  m_lossPlot = makePlot(this, QStringLiteral("lossPlot"));
  m_validationPlot = makePlot(this, QStringLiteral("validationPlot"));
  m_optimizerPlot = makePlot(this, QStringLiteral("optimizerPlot"));
  layout->addWidget(m_lossPlot, 3);
  auto* lower = new QHBoxLayout;
  lower->addWidget(m_validationPlot);
  lower->addWidget(m_optimizerPlot);
  layout->addLayout(lower, 2);
  m_log = new QPlainTextEdit(this);
  m_log->setObjectName(QStringLiteral("runLog"));
  m_log->setReadOnly(true);
  m_log->setMaximumBlockCount(kLogLines);
  m_log->setMaximumHeight(120);
  layout->addWidget(m_log);

  m_replotTimer = new QTimer(this);
  m_replotTimer->setInterval(kReplotIntervalMs);
  connect(m_replotTimer, &QTimer::timeout, this, [this] {
    if (m_dirty) replotNow();
  });
  m_replotTimer->start();
  connect(m_logScale, &QCheckBox::toggled, this, &RunDashboard::setLogScale);
  m_followTimer = new QTimer(this);
  m_followTimer->setInterval(kFollowIntervalMs);
  connect(m_followTimer, &QTimer::timeout, this, [this] {
    readNewMetrics();
    applyRunStatus();
  });
  connect(m_pause, &QPushButton::toggled, this, [this](bool paused) {
    m_pause->setText(paused ? tr("Continue") : tr("Pause"));
    Q_EMIT pauseRequested(paused);
    if (m_state == State::Running || m_state == State::Paused) setState(paused ? State::Paused : State::Running);
  });
  connect(m_stopAndSave, &QPushButton::clicked, this, &RunDashboard::stopAndSaveRequested);
  connect(m_cancel, &QPushButton::clicked, this, &RunDashboard::confirmCancel);
  connect(m_resume, &QPushButton::clicked, this, &RunDashboard::resumeRequested);
  connect(m_openFolder, &QPushButton::clicked, this, [this] {
    if (m_folderOpener && !m_runDirectory.isEmpty()) m_folderOpener(m_runDirectory);
  });
  connect(m_chatWithResult, &QPushButton::clicked, this, [this] {
    if (m_result) Q_EMIT chatRequested(m_result->model, m_result->adapters);
  });
  m_folderOpener = [](const QString& dir) { QDesktopServices::openUrl(QUrl::fromLocalFile(dir)); };
  setState(State::Idle);
}

void RunDashboard::clear() {
  m_followTimer->stop();
  m_series.clear();
  m_log->clear();
  m_progress->setRange(0, 1);
  m_progress->setValue(0);
  m_speed->clear();
  m_tokensPerSecond = 0;
  m_eta.clear();
  m_failure.clear();
  m_metricsReader.reset();
  m_metricsDirectory.clear();
  m_lastStep = 0;
  m_memoryUsed = m_memoryTotal = m_memoryPeak = 0;
  m_memoryOnGpu = false;
  updateMemoryGauge();
  releasePauseButton();
  m_dirty = true;
}

QString RunDashboard::checkpointDirectory() const {
  if (!QFile::exists(m_runDirectory + QStringLiteral("/pipeline.json"))) return m_runDirectory;
  try {
    const std::optional<train::RunPlan> plan = train::read_pipeline(m_runDirectory.toStdString());
    return plan ? QString::fromStdString(train::current_training_run(*plan).string()) : QString();
  } catch (const Error&) {
    return QString();
  }
}

void RunDashboard::confirmCancel() {
  const int64_t checkpoint = checkpointDirectory().isEmpty() ? -1 : train::latest_checkpoint_step(checkpointDirectory().toStdString());
  QString kept;
  if (checkpoint < 0) {
    kept = tr("It has no checkpoint yet: everything it did so far is lost.");
  } else if (m_lastStep > checkpoint) {
    kept = tr("It keeps its last checkpoint, at step %1: the %2 steps after it are lost.").arg(checkpoint).arg(m_lastStep - checkpoint);
  } else {
    kept = tr("It keeps its last checkpoint, at step %1.").arg(checkpoint);
  }
  auto* box = new QMessageBox(QMessageBox::Question, tr("Cancel the run?"),
                              tr("Cancel without saving? %1 Stop && save keeps every step instead.").arg(kept),
                              QMessageBox::NoButton, this);
  box->setObjectName(QStringLiteral("confirmCancel"));
  box->setAttribute(Qt::WA_DeleteOnClose);
  QPushButton* cancelRun = box->addButton(tr("Cancel the run"), QMessageBox::DestructiveRole);
  cancelRun->setObjectName(QStringLiteral("confirmCancelYes"));
  box->addButton(tr("Keep running"), QMessageBox::RejectRole)->setObjectName(QStringLiteral("confirmCancelNo"));
  connect(cancelRun, &QPushButton::clicked, this, [this] {
    if (m_state == State::Running || m_state == State::Paused) Q_EMIT cancelRequested();
  });
  box->open();
}

void RunDashboard::releasePauseButton() {
  const QSignalBlocker blocker(m_pause);  // a run that is not going is not paused: nothing to tell the job
  m_pause->setChecked(false);
  m_pause->setText(tr("Pause"));
}

void RunDashboard::detachRunner() {
  if (m_runner == nullptr) return;
  disconnect(m_runner, nullptr, this, nullptr);
  disconnect(this, nullptr, m_runner, nullptr);
  m_runner = nullptr;
}

void RunDashboard::attach(JobRunner* runner, const QString& runDirectory) {
  detachRunner();
  clear();
  m_runner = runner;
  m_runDirectory = runDirectory;
  m_metricsDirectory = runDirectory;
  connect(runner, &JobRunner::metricReported, this, &RunDashboard::addMetric);
  connect(runner, &JobRunner::progressed, this, &RunDashboard::setProgress);
  connect(runner, &JobRunner::lineLogged, this, [this](const jobs::LogLine& line) {
    appendLog(QString::fromStdString(line.text));
  });
  connect(runner, &JobRunner::artifactProduced, this, [this](const jobs::Artifact& artifact) {
    if (artifact.kind == "pipeline_step") {
      // The next step of a pipeline counts its own steps from 1: its curves start afresh (the log goes on).
      m_series.clear();
      m_lastStep = 0;
      m_progress->setRange(0, 1);
      m_progress->setValue(0);
      m_dirty = true;
      appendLog(tr("— %1 —").arg(QString::fromStdString(artifact.path)));
      return;
    }
    if (artifact.kind == "run_dir") {
      showStepsAlreadyRun(QString::fromStdString(artifact.path));
      return;
    }
    appendLog(tr("wrote %1: %2").arg(QString::fromStdString(artifact.kind), QString::fromStdString(artifact.path)));
  });
  connect(runner, &JobRunner::jobFinished, this, [this] { setState(State::Finished); });
  connect(runner, &JobRunner::jobCancelled, this, [this] { setState(State::Cancelled); });
  connect(runner, &JobRunner::jobFailed, this, [this](const QString& message) {
    m_failure = message;
    appendLog(tr("failed: %1").arg(message));
    setState(State::Failed);
  });
  connect(this, &RunDashboard::stopAndSaveRequested, runner, &JobRunner::cancel);
  connect(this, &RunDashboard::cancelRequested, runner, &JobRunner::cancelWithoutSaving);
  connect(this, &RunDashboard::pauseRequested, runner, &JobRunner::setPaused);
  setState(State::Running);
}

bool RunDashboard::isFollowing() const { return m_followTimer->isActive(); }

// A training run announces its folder before its first step; a resumed one has by then cut its metrics.jsonl back
// to the checkpoint it goes on from, so the curves start with every step it keeps, and the live steps follow.
void RunDashboard::showStepsAlreadyRun(const QString& runFolder) {
  m_metricsDirectory = runFolder;
  m_series.clear();
  m_lastStep = 0;
  for (const train::MetricRecord& record : train::read_metrics_log(runFolder.toStdString())) {
    m_lastStep = std::max(m_lastStep, record.step);
    for (const auto& [name, value] : record.values) addMetric({name, record.step, value});
  }
  if (m_lastStep > 0) appendLog(tr("kept its %1 up to the checkpoint it goes on from").arg(countOf(m_lastStep, tr("step"), tr("steps"))));
  m_dirty = true;
}

void RunDashboard::addMetric(const jobs::Metric& metric) {
  namespace names = train::metrics;
  const std::string& key = metric.name;
  if (key == names::kTrainTokensPerS) {
    m_tokensPerSecond = metric.value;
    m_speed->setText(speedText());
    return;
  }
  if (key == names::kTrainEpoch) return;
  if (key == names::kVramUsed || key == names::kRamUsed) {
    m_memoryOnGpu = key == names::kVramUsed;
    m_memoryUsed = metric.value;
    m_memoryPeak = std::max(m_memoryPeak, metric.value);
  } else if (key == names::kVramTotal || key == names::kRamTotal) {
    m_memoryOnGpu = key == names::kVramTotal;
    m_memoryTotal = metric.value;
  } else if (key == names::kVramPeak) {
    m_memoryOnGpu = true;
    m_memoryPeak = std::max(m_memoryPeak, metric.value);
  }
  const train::metrics::MetricInfo* info = names::find_metric(key);
  if (info != nullptr && info->unit == names::MetricUnit::Bytes) {
    updateMemoryGauge();
    return;
  }
  const QString name = QString::fromStdString(key);
  Series& series = m_series[name];
  // Already read from the run's metrics.jsonl (the folder was read while the step came in live).
  if (!series.steps.isEmpty() && metric.step <= series.steps.back()) return;
  const double previous = series.smoothed.isEmpty() ? metric.value : series.smoothed.back();
  series.steps.push_back(static_cast<double>(metric.step));
  series.values.push_back(metric.value);
  series.smoothed.push_back(kSmoothing * previous + (1 - kSmoothing) * metric.value);
  m_dirty = true;
}

void RunDashboard::updateMemoryGauge() {
  const QString device = m_memoryOnGpu ? tr("GPU memory") : tr("RAM");
  if (m_memoryUsed <= 0 && m_memoryPeak <= 0) {
    m_memory->setValue(0);
    m_memory->setFormat(tr("memory: —"));
    return;
  }
  if (m_memoryTotal > 0) {
    m_memory->setValue(static_cast<int>(std::lround(1000.0 * std::min(1.0, m_memoryUsed / m_memoryTotal))));
    m_memory->setFormat(tr("%1 %2 / %3").arg(device, QString::fromStdString(format_bytes(static_cast<int64_t>(m_memoryUsed))),
                                             QString::fromStdString(format_bytes(static_cast<int64_t>(m_memoryTotal)))));
  } else {
    // A run read from disk by an earlier version knows only its peak.
    m_memory->setValue(0);
    m_memory->setFormat(tr("%1 peak %2").arg(device, QString::fromStdString(format_bytes(static_cast<int64_t>(m_memoryPeak)))));
  }
}

QString RunDashboard::memoryText() const { return m_memory->text(); }

void RunDashboard::setProgress(const jobs::Progress& progress) {
  if (progress.phase == "steps") m_lastStep = progress.done;  // a training step done (what Cancel would lose)
  if (progress.total > 0) {
    m_progress->setRange(0, static_cast<int>(progress.total));
    m_progress->setValue(static_cast<int>(progress.done));
    m_progress->setFormat(QStringLiteral("%1 %v/%m (%p%)").arg(QString::fromStdString(progress.phase)));
  }
  m_eta = formatEta(progress.eta_s);
  if (m_state == State::Running) m_status->setText(statusText());
}

void RunDashboard::appendLog(const QString& line) { m_log->appendPlainText(line); }

void RunDashboard::setLogScale(bool on) {
  for (QCustomPlot* plot : {m_lossPlot, m_validationPlot, m_optimizerPlot}) {
    for (QCPAxis* axis : {plot->yAxis, plot->yAxis2}) {
      axis->setScaleType(on ? QCPAxis::stLogarithmic : QCPAxis::stLinear);
      if (on) {
        axis->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
      } else {
        axis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
      }
    }
  }
  if (m_logScale->isChecked() != on) m_logScale->setChecked(on);
  m_dirty = true;
}

void RunDashboard::setState(State state) {
  m_state = state;
  const bool live = m_runner != nullptr && (state == State::Running || state == State::Paused);
  m_pause->setEnabled(live);
  m_stopAndSave->setEnabled(live);
  m_cancel->setEnabled(live);
  m_resume->setEnabled(state == State::Cancelled || state == State::Failed);
  m_openFolder->setEnabled(!m_runDirectory.isEmpty());
  // A finished run leads on to what it was for: talking to the model it made.
  m_result.reset();
  if (state == State::Finished && !m_runDirectory.isEmpty()) {
    if (const auto output = train::run_output(m_runDirectory.toStdString())) {
      QStringList adapters;
      for (const auto& adapter : output->adapters) adapters << QString::fromStdString(adapter.string());
      m_result = ChatChoice{QDir(m_runDirectory).dirName(), QString::fromStdString(output->model.string()), adapters};
      m_chatWithResult->setToolTip(tr("Open the Chat page with %1 (Ctrl+T)")
                                       .arg((QStringList{m_result->model} + adapters).join(QStringLiteral(" + "))));
    }
  }
  m_chatWithResult->setVisible(m_result.has_value());
  m_exportResult->setVisible(m_result.has_value());
  if (state != State::Running && state != State::Paused) releasePauseButton();
  m_status->setText(statusText());
  m_speed->setText(speedText());
  Q_EMIT stateChanged(state);
}

QString RunDashboard::statusText() const {
  switch (m_state) {
    case State::Idle: return tr("No run");
    case State::Running:
      if (isFollowing()) return tr("Running in another process — following its metrics (%1 so far)").arg(countOf(m_lastStep, tr("step"), tr("steps")));
      return m_eta.isEmpty() ? tr("Running") : tr("Running — %1 left").arg(m_eta);
    case State::Paused: return tr("Paused — Continue goes on from here");
    case State::Finished: return tr("Finished");
    case State::Cancelled: return tr("Stopped — resume it from its last checkpoint");
    case State::Failed:
      return m_failure.isEmpty() ? tr("Failed or stopped — resume it from its last checkpoint")
                                 : tr("Failed: %1").arg(m_failure);
  }
  return {};
}

// A speed is live only while the run goes; afterwards it is the run's last one, and says so.
QString RunDashboard::speedText() const {
  if (m_tokensPerSecond <= 0) return {};
  const QString speed = tr("%1 tokens/s").arg(m_tokensPerSecond, 0, 'f', 0);
  return m_state == State::Running ? speed : tr("last speed %1").arg(speed);
}

QVector<double> RunDashboard::seriesValues(const QString& name) const {
  const bool smoothed = name.endsWith(QLatin1String(" (smoothed)"));
  const QString key = smoothed ? name.chopped(11) : name;
  const auto found = m_series.find(key);
  if (found == m_series.end()) return {};
  return smoothed ? found->smoothed : found->values;
}

void RunDashboard::replotNow() {
  m_dirty = false;
  ++m_replots;
  const bool logScale = m_logScale->isChecked();
  QMap<QCPAxis*, QVector<QVector<double>>> columns;
  QMap<QCPAxis*, QStringList> labels;  // each axis is labelled with what is plotted on it (a fine-tune has no KL)
  for (QCustomPlot* plot : {m_lossPlot, m_validationPlot, m_optimizerPlot}) plot->clearGraphs();
  for (const Curve& curve : kCurves) {
    const auto found = m_series.find(QString::fromLatin1(curve.series));
    if (found == m_series.end() || found->steps.isEmpty()) continue;
    QCustomPlot* plot = QLatin1String(curve.plot) == QLatin1String("loss")         ? m_lossPlot
                        : QLatin1String(curve.plot) == QLatin1String("validation") ? m_validationPlot
                                                                                   : m_optimizerPlot;
    QCPAxis* valueAxis = curve.rightAxis ? plot->yAxis2 : plot->yAxis;
    QCPGraph* raw = plot->addGraph(plot->xAxis, valueAxis);
    const QString label = metricLabel(curve.series);
    raw->setName(label);
    labels[valueAxis] << label;
    raw->setData(found->steps, found->values, true);
    QColor faint = curve.colour;
    if (curve.smoothed) faint.setAlpha(70);
    raw->setPen(QPen(faint, 1.2));
    if (found->steps.size() == 1 || !curve.smoothed) raw->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, 4));
    columns[valueAxis].push_back(found->values);
    if (curve.smoothed) {
      QCPGraph* smooth = plot->addGraph(plot->xAxis, valueAxis);
      smooth->setName(tr("%1 (smoothed)").arg(label));
      smooth->setData(found->steps, found->smoothed, true);
      smooth->setPen(QPen(curve.colour, 2));
    }
  }
  // With early stopping, the evaluation whose adapter the run keeps: a dashed line on the validation plot.
  m_validationPlot->clearItems();
  const auto best = m_series.find(QString::fromLatin1(train::metrics::kValBestStep));
  if (best != m_series.end() && !best->values.isEmpty() && best->values.back() >= 0) {
    auto* line = new QCPItemStraightLine(m_validationPlot);
    line->setObjectName(QStringLiteral("bestStepLine"));
    line->point1->setCoords(best->values.back(), 0);
    line->point2->setCoords(best->values.back(), 1);
    line->setPen(QPen(QColor(44, 160, 44), 1.5, Qt::DashLine));
    auto* text = new QCPItemText(m_validationPlot);
    text->setObjectName(QStringLiteral("bestStepLabel"));
    text->position->setTypeX(QCPItemPosition::ptPlotCoords);
    text->position->setTypeY(QCPItemPosition::ptAxisRectRatio);
    text->position->setCoords(best->values.back(), 0.05);
    text->setPositionAlignment(Qt::AlignLeft | Qt::AlignTop);
    text->setText(tr(" best: step %1").arg(best->values.back(), 0, 'f', 0));
    text->setColor(QColor(44, 160, 44));
  }
  for (QCustomPlot* plot : {m_lossPlot, m_validationPlot, m_optimizerPlot}) {
    // A single step (the first evaluation) sits in the middle of the steps around it, not on a zero-width axis
    // (QCustomPlot's own rescale keeps the previous width there: -2.5 to 2.5 around step 0).
    bool anyStep = false;
    QCPRange steps = plot->xAxis->range();
    for (int i = 0; i < plot->graphCount(); ++i) {
      bool found = false;
      const QCPRange keys = plot->graph(i)->getKeyRange(found);
      if (!found) continue;
      steps = anyStep ? QCPRange(std::min(steps.lower, keys.lower), std::max(steps.upper, keys.upper)) : keys;
      anyStep = true;
    }
    if (anyStep && steps.size() < 2) steps = QCPRange(steps.center() - 1, steps.center() + 1);
    plot->xAxis->setRange(steps);
    for (QCPAxis* axis : {plot->yAxis, plot->yAxis2}) {
      axis->setRange(clippedRange(columns.value(axis), logScale));
      axis->setLabel(labels.value(axis).join(QStringLiteral(", ")));
    }
    plot->yAxis2->setVisible(!columns.value(plot->yAxis2).isEmpty());
    plot->replot(QCustomPlot::rpQueuedReplot);
  }
}

bool RunDashboard::isRunFolder(const QString& dir) {
  return QFile::exists(dir + QStringLiteral("/metrics.jsonl")) || QFile::exists(dir + QStringLiteral("/pipeline.json"));
}

bool RunDashboard::loadRunDirectory(const QString& dir, QString* error) {
  if (!isRunFolder(dir)) {
    if (error) *error = tr("%1 has no metrics.jsonl: it is not a LowBit run directory, or the run never started").arg(dir);
    return false;
  }
  QString metricsDirectory = dir;
  if (!QFile::exists(dir + QStringLiteral("/metrics.jsonl"))) {
    try {
      const std::optional<train::RunPlan> plan = train::read_pipeline(dir.toStdString());
      metricsDirectory = plan ? QString::fromStdString(train::current_training_run(*plan).string()) : QString();
    } catch (const Error& e) {
      if (error) *error = QString::fromUtf8(e.what());
      return false;
    }
  }
  detachRunner();
  clear();
  m_runDirectory = dir;
  m_metricsDirectory = metricsDirectory;
  // The run's length: what its settings came to ("total_steps"), or the settings' steps in earlier versions.
  const nlohmann::json config =
      lowbit::util::read_json_file_or_none(std::filesystem::path(m_metricsDirectory.toStdString()) / "config.json",
                                           lowbit::util::kConfigJsonLimits)
          .value_or(nullptr);
  if (config.is_object()) {
    const nlohmann::json total = config.contains("total_steps") ? config["total_steps"] : config.value("steps", nlohmann::json());
    if (total.is_number() && total.get<int64_t>() > 0) {
      m_progress->setRange(0, static_cast<int>(total.get<int64_t>()));
      m_progress->setFormat(tr("steps %v/%m (%p%)"));  // as the live run showed it
    }
  }
  readNewMetrics();
  applyRunStatus();
  appendLog(tr("loaded %1 (%2 steps recorded)").arg(dir).arg(m_lastStep));
  replotNow();
  return true;
}

void RunDashboard::readNewMetrics() {
  if (m_metricsDirectory.isEmpty()) return;  // a pipeline before its first training step
  if (!m_metricsReader) m_metricsReader = std::make_unique<train::MetricsLogReader>(m_metricsDirectory.toStdString() + "/metrics.jsonl");
  const train::MetricsLogReader::Update update = m_metricsReader->read_new();
  if (update.restarted) {  // resumed in another process: the file now holds the steps up to its checkpoint
    m_series.clear();
    m_lastStep = 0;
    m_dirty = true;
  }
  for (const train::MetricRecord& record : update.records) {
    m_lastStep = std::max(m_lastStep, record.step);
    for (const auto& [name, value] : record.values) addMetric({name, record.step, value});
  }
  if (m_memoryTotal <= 0) updateMemoryGauge();
  if (m_progress->maximum() > 1) m_progress->setValue(static_cast<int>(std::min<int64_t>(m_lastStep, m_progress->maximum())));
}

void RunDashboard::applyRunStatus() {
  const std::filesystem::path dir = m_runDirectory.toStdString();
  const std::optional<train::RunStatus> status = train::inspect_run_status(dir);
  State state = State::Failed;  // no status: stopped or failed, which statusText() says
  if (status) {
    switch (status->state) {
      case train::RunState::Running: state = State::Running; break;
      case train::RunState::Stopped: state = State::Cancelled; break;
      case train::RunState::Finished: state = State::Finished; break;
      case train::RunState::Failed: state = State::Failed; break;
    }
    m_failure = QString::fromStdString(status->message);
  }
  if (state == State::Running) {
    if (!m_followTimer->isActive()) {
      m_followTimer->start();
      appendLog(tr("this run is going on in process %1; following it").arg(status->pid));
    }
  } else if (m_followTimer->isActive()) {
    m_followTimer->stop();
    readNewMetrics();
    appendLog(tr("the run ended: %1").arg(QString::fromLatin1(train::run_state_name(status ? status->state : train::RunState::Failed))));
  }
  if (state == State::Failed && !m_failure.isEmpty() && m_state != State::Failed) appendLog(tr("failed: %1").arg(m_failure));
  if (state != m_state) {
    setState(state);
  } else {
    m_status->setText(statusText());
  }
}

}  // namespace lowbit::ui
