// The wizard's last page: the steps it will run, as the `lowbit` commands that do the same, and where. A fine-tuning
// step's data is checked here at the run's own cutoff and prompt template (the data page's preview uses the
// default cutoff): when more than a tenth of the records would be left out, the page says how many and why, and
// Finish waits until the user agrees to start with the rest.
#pragma once

#include <QWizardPage>

class QCheckBox;
class QLabel;

namespace lowbit::ui {

class JobRunner;
class RunWizard;

class SummaryPage : public QWizardPage {
 public:
  explicit SummaryPage(RunWizard* wizard);
  void initializePage() override;
  bool isComplete() const override;

 private:
  RunWizard* m_wizard;
  QLabel* m_text;
  QLabel* m_dataCheck;
  QCheckBox* m_startAnyway;
  JobRunner* m_checkRunner;
  bool m_checking = false;
  bool m_checkFailed = false;
  bool m_needsConsent = false;
};

}  // namespace lowbit::ui
