// The wizard's settings: bits (the paper's preset follows), the LREC settings form shared with the Correct page,
// fine-tuning epochs and prompt, device and output folder; Advanced for the rest. Below them, the memory and time
// each step needs on the chosen device (a core RunEstimateJob on a worker) and the same run as `lowbit` commands.
#pragma once

#include <QWizardPage>

#include <functional>

#include "core/train/lrec_settings.h"

class QCheckBox;
class QComboBox;
class QGroupBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QSpinBox;

namespace lowbit::ui {

class LrecSettingsForm;
class RunEstimateLabel;
class RunWizard;

class SettingsPage : public QWizardPage {
 public:
  explicit SettingsPage(RunWizard* wizard);
  void initializePage() override;
  bool isComplete() const override;
  QString estimateText() const;
  // The correction step's settings as this page has them (preset from the bits, the form's choices).
  void applyCorrection(train::LrecSettings& settings) const;

 private:
  QSpinBox* spinBox(const char* name, int low, int high, int value);
  QWidget* pair(QWidget* first, QWidget* second);

  RunWizard* m_wizard;
  QComboBox* m_bits;
  QLabel* m_presetInfo;
  LrecSettingsForm* m_lrec;
  QSpinBox* m_epochs;
  QComboBox* m_device;
  QLineEdit* m_output;
  QCheckBox* m_advanced;
  QGroupBox* m_advancedBox;
  QComboBox* m_groupSize;
  QCheckBox* m_actOrder;
  QSpinBox *m_samples, *m_quantizeSeqlen;
  QSpinBox *m_emefRank, *m_emefCutoff, *m_emefBatch, *m_emefMicroBatch;
  QComboBox* m_emefTemplate;
  QLineEdit* m_emefLr;
  RunEstimateLabel* m_estimate;
  QPlainTextEdit* m_commands;
  std::function<void()> m_refresh;
};

}  // namespace lowbit::ui
