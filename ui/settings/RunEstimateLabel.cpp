#include "ui/settings/RunEstimateLabel.h"

#include <QTimer>

#include "ui/jobs/JobRunner.h"

namespace lowbit::ui {

RunEstimateLabel::RunEstimateLabel(std::function<train::RunPlan()> plan, std::function<QString()> missing, QWidget* parent)
    : QLabel(tr("Estimating…"), parent), m_plan(std::move(plan)), m_missing(std::move(missing)) {
  setWordWrap(true);
  setTextInteractionFlags(Qt::TextSelectableByMouse);
  m_timer = new QTimer(this);
  m_timer->setSingleShot(true);
  m_timer->setInterval(400);
  m_runner = new JobRunner(this);
  connect(m_timer, &QTimer::timeout, this, &RunEstimateLabel::estimate);
  connect(m_runner, &JobRunner::jobFailed, this, [this](const QString& message) { setText(QStringLiteral("✗ ") + message); });
}

void RunEstimateLabel::refresh() {
  m_stale = true;
  if (isVisible()) m_timer->start();
}

void RunEstimateLabel::showEvent(QShowEvent* event) {
  QLabel::showEvent(event);
  if (m_stale) m_timer->start();
}

void RunEstimateLabel::estimate() {
  if (m_runner->isRunning()) {
    m_timer->start();  // the previous estimate is still measuring; estimate the newest settings after it
    return;
  }
  if (!isVisible()) return;  // measured when shown (a speed test at every app start would be wasted)
  m_stale = false;
  const QString missing = m_missing ? m_missing() : QString();
  if (!missing.isEmpty()) {
    setText(missing);
    return;
  }
  auto job = std::make_shared<train::RunEstimateJob>(m_plan());
  setText(tr("Estimating (measuring this machine's speed)…"));
  m_runner->start(job, [this, job] {
    QString text = QString::fromStdString(job->estimate().describe()).toHtmlEscaped().replace(QLatin1Char('\n'), QStringLiteral("<br>"));
    for (const train::StepEstimate& step : job->estimate().steps) {
      if (step.fit == train::Fit::Exceeds) {
        text += tr("<br><b>%1 does not fit</b>: lower the micro-batch or the window length (Advanced), or use fewer "
                   "bits.").arg(QString::fromStdString(step.step).toHtmlEscaped());
      }
    }
    setText(text + tr("<br><i>Rough: the work each step does over a speed test of this machine (loading models and "
                      "reading data not counted); the dashboard's ETA replaces it once the run starts.</i>"));
  });
}

}  // namespace lowbit::ui
