// The wizard's first page: the model folder, checked as it is typed (a core ModelLibraryJob on a worker), with
// what is wrong explained; a .gguf file is offered for import into the model library first.
#pragma once

#include <QWizardPage>

class QLabel;
class QLineEdit;
class QPushButton;

namespace lowbit::ui {

class JobRunner;

class ModelPage : public QWizardPage {
 public:
  explicit ModelPage(QWidget* parent);
  bool isComplete() const override { return m_valid; }
  int hidden() const { return m_hidden; }    // hidden size, for the GPTQ group size
  int context() const { return m_context; }  // the model's context length, the longest window
  bool quantized() const { return m_quantized; }

 private:
  void setProblem(const QString& problem);
  void importGguf();

  QLineEdit* m_folder;
  QLabel* m_status;
  QPushButton* m_import = nullptr;
  JobRunner* m_importRunner = nullptr;
  bool m_valid = false;
  bool m_quantized = false;
  int m_hidden = 0;
  int m_context = 0;
};

}  // namespace lowbit::ui
