// The correction settings a person chooses in the app — the recipe (LREC or RILQ), the paper's preset, the steps, and (advanced) the LoRA rank, the
// window length and the micro-batch — as one form, shared by the New run wizard and the Correct page (as KeePassXC
// shares its settings widgets between wizard and dialogs). apply() writes them into core's LrecSettings, whose
// schema gives the command line the page shows: what is shown is what runs.
#pragma once

#include <QWidget>

#include "core/train/lrec_settings.h"

class QComboBox;
class QFormLayout;
class QSpinBox;

namespace lowbit::ui {

class LrecSettingsForm : public QWidget {
  Q_OBJECT

 public:
  // `namePrefix` names the children for tests and remembered choices: "correct" → "correctPreset", "correctSteps",
  // "correctRank", "correctSeqlen", "correctMicroBatch", "correctRecipe".
  LrecSettingsForm(const QString& namePrefix, QWidget* parent = nullptr);

  // The wizard picks the preset from the bits chosen: the combobox then shows it and cannot be changed.
  void lockPreset(const QString& preset);
  void setAdvancedVisible(bool visible);     // rank, window length, micro-batch
  void setMaximumWindow(int tokens);         // the model's context length
  QSpinBox* stepsBox() const { return m_steps; }

  // Preset first (it sets the loss weights, learning rate and LoRA shape), then the recipe's own settings, then
  // the choices of this form; an
  // evaluation and a checkpoint every tenth of the run, so that the dashboard's curves fill in as it goes.
  void apply(train::LrecSettings& settings) const;

 Q_SIGNALS:
  void changed();

 private:
  QFormLayout* m_form;
  QComboBox* m_recipe;
  QComboBox* m_preset;
  QSpinBox* m_steps;
  QSpinBox* m_rank;
  QSpinBox* m_seqlen;
  QSpinBox* m_microBatch;
};

}  // namespace lowbit::ui
