// The wizard's last page: the steps it will run, as the `lowbit` commands that do the same, and where.
#pragma once

#include <QWizardPage>

class QLabel;

namespace lowbit::ui {

class RunWizard;

class SummaryPage : public QWizardPage {
 public:
  explicit SummaryPage(RunWizard* wizard);
  void initializePage() override;

 private:
  RunWizard* m_wizard;
  QLabel* m_text;
};

}  // namespace lowbit::ui
