#include "ui/wizard/GoalPage.h"

#include <QButtonGroup>
#include <QRadioButton>
#include <QVBoxLayout>

#include <utility>

#include "ui/wizard/RunWizard.h"

namespace lowbit::ui {

GoalPage::GoalPage(QWidget* parent) : QWizardPage(parent) {
  setTitle(tr("What do you want to do?"));
  auto* layout = new QVBoxLayout(this);
  m_group = new QButtonGroup(this);
  const std::pair<const char*, QString> goals[] = {
      {"goalQuantize", tr("Make it smaller: quantize to 2, 3, 4 or 8 bits (GPTQ)")},
      {"goalCorrect", tr("Make it smaller and repair the damage: quantize, then train small adapters to answer like "
                         "the full model (GPTQ + LREC)")},
      {"goalFinetune", tr("Teach it to follow instructions: fine-tune on Alpaca-style data (LoRA on the quantized "
                          "weights, EMEF)")},
      {"goalPipeline", tr("All three: make it smaller → repair → teach it (the INT2.1 paper's GPTQ + LREC + EMEF)")}};
  int id = 0;
  for (const auto& [name, text] : goals) {
    auto* button = new QRadioButton(text, this);
    button->setObjectName(QString::fromLatin1(name));
    m_group->addButton(button, id++);
    layout->addWidget(button);
  }
  m_group->button(RunWizard::FullPipeline)->setChecked(true);
}

int GoalPage::goal() const { return m_group->checkedId(); }

void GoalPage::setGoal(int goal) { m_group->button(goal)->setChecked(true); }

}  // namespace lowbit::ui
