// The wizard's data: calibration text (GPTQ, LREC) and Alpaca-style instructions (EMEF), each previewed as it is
// typed — the format detected, the first prompt rendered, token statistics and every record that will be left out.
#pragma once

#include <QWizardPage>

#include <utility>
#include <vector>

class QFormLayout;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QTimer;

namespace lowbit::ui {

class DataPage : public QWizardPage {
 public:
  explicit DataPage(QWidget* parent);
  void initializePage() override;
  bool isComplete() const override;

 private:
  QString field_value(const char* name) const { return wizard()->property(name).toString(); }
  void showPreviews();
  QLineEdit* m_calibration;
  QLineEdit* m_alpaca;
  QLineEdit* m_baseAdapter;
  QLabel* m_baseAdapterStatus;
  QWidget* m_baseAdapterRow;
  QFormLayout* m_form;
  QPlainTextEdit* m_preview;
  std::vector<std::pair<QLineEdit*, QTimer*>> m_checks;
  QString m_calibrationText, m_alpacaText;
  bool m_calibrationOk = false, m_alpacaOk = false, m_baseAdapterOk = true, m_needsCalibration = true, m_needsAlpaca = true;
};

}  // namespace lowbit::ui
