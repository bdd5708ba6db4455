// The wizard's goal: quantize; quantize + correct; fine-tune; or the paper's whole INT2 → LREC → EMEF pipeline.
#pragma once

#include <QWizardPage>

class QButtonGroup;

namespace lowbit::ui {

class GoalPage : public QWizardPage {
 public:
  explicit GoalPage(QWidget* parent);
  int goal() const;  // a RunWizard::Goal
  void setGoal(int goal);

 private:
  QButtonGroup* m_group;
};

}  // namespace lowbit::ui
