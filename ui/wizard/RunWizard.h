// The "New run" wizard: model folder (checked as it is typed, problems explained) → goal (quantize; quantize +
// correct; fine-tune; the paper's full INT2 → LREC → EMEF pipeline) → data (calibration text and/or Alpaca data,
// with the detected format, the first prompt rendered, token statistics and every bad record) → settings (bits,
// the paper's preset, steps/epochs, output folder, and the equivalent `lowbit` commands) → summary. Every check
// that reads a file runs as a core job on a worker thread; accepting the wizard yields one PipelineJob.
#pragma once

#include <QStringList>
#include <QWizard>

#include <functional>
#include <memory>

#include "core/jobs/job.h"

namespace lowbit::ui {

class RunWizard : public QWizard {
  Q_OBJECT

 public:
  enum Goal { Quantize = 0, QuantizeAndCorrect = 1, FineTune = 2, FullPipeline = 3 };
  enum PageId { ModelPageId, GoalPageId, DataPageId, SettingsPageId, SummaryPageId };

  explicit RunWizard(QWidget* parent = nullptr);

  Goal goal() const;
  QStringList commands() const;                    // the same run as `lowbit` command lines
  std::shared_ptr<jobs::Job> makeJob() const;      // the run itself
  QString outputFolder() const;                    // where the last step writes (for the dashboard)

 protected:
  // Publishes the choices of earlier pages (model, goal, hidden size) as properties the next page reads.
  void initializePage(int id) override;

 private:
  std::function<void()> m_publishChoices;
};

}  // namespace lowbit::ui
