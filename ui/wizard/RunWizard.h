// The "New run" wizard: model folder (checked as it is typed, problems explained) → goal (quantize; quantize +
// correct; fine-tune; the paper's full INT2 → LREC → EMEF pipeline) → data (calibration text and/or Alpaca data,
// with the detected format, the first prompt rendered, token statistics and every bad record) → settings (bits,
// the paper's preset, steps/epochs, device, output folder; Advanced for every setting; the memory and time each
// step needs with a fits/tight/exceeds verdict; the equivalent `lowbit` commands) → summary. Every check that
// reads a file or measures the machine runs as a core job on a worker thread; accepting the wizard yields one
// train::RunPlanJob.
#pragma once

#include <QStringList>
#include <QWizard>

#include <memory>

#include "core/jobs/job.h"
#include "core/train/run_plan.h"

namespace lowbit::ui {

class GoalPage;
class ModelPage;
class SettingsPage;

class RunWizard : public QWizard {
  Q_OBJECT

 public:
  enum Goal { Quantize = 0, QuantizeAndCorrect = 1, FineTune = 2, FullPipeline = 3 };
  enum PageId { ModelPageId, GoalPageId, DataPageId, SettingsPageId, SummaryPageId };

  explicit RunWizard(QWidget* parent = nullptr);

  void setGoal(Goal goal);  // before the goal page is shown (the full pipeline by default)
  void setModelFolder(const QString& folder);  // a model card's action: the model page starts with it
  Goal goal() const;
  train::RunPlan plan() const;                     // the choices as the jobs they make
  QStringList commands() const;                    // the same run as `lowbit` command lines
  std::shared_ptr<jobs::Job> makeJob() const;      // the run itself
  QString outputFolder() const;                    // where the run writes everything
  QStringList runFolders() const;                  // the LREC/EMEF run folders in it (for the Runs page)
  QString suggestedOutputFolder() const;           // <app data>/runs/<model>-<date-time>, new for every run

 protected:
  // Publishes the choices of earlier pages (model, goal, hidden size, context) as properties the next page reads.
  void initializePage(int id) override;

 private:
  // Model, data and settings of the last accepted run come back (QSettings "wizard/…").
  void restoreChoices();
  void saveChoices();
  ModelPage* m_modelPage = nullptr;
  GoalPage* m_goalPage = nullptr;
  SettingsPage* m_settingsPage = nullptr;
};

}  // namespace lowbit::ui
