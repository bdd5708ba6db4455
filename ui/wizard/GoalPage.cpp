#include "ui/wizard/GoalPage.h"

#include <QButtonGroup>
#include <QRadioButton>
#include <QVBoxLayout>

#include <utility>

#include "ui/wizard/RunWizard.h"

namespace lowbit::ui {

GoalPage::GoalPage(QWidget* parent) : QWizardPage(parent) {
  setTitle(tr("Goal"));
  auto* layout = new QVBoxLayout(this);
  m_group = new QButtonGroup(this);
  const std::pair<const char*, QString> goals[] = {
      {"goalQuantize", tr("Quantize (GPTQ)")},
      {"goalCorrect", tr("Quantize + correct (GPTQ, then LREC adapters distilled from the full model)")},
      {"goalFinetune", tr("Fine-tune (EMEF: LoRA on Alpaca-style instructions)")},
      {"goalPipeline", tr("The full pipeline: quantize → correct → fine-tune (the paper's INT2 + LREC + EMEF)")}};
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
