// "Download…" on the Models page: a model from the Hugging Face Hub (core/hub/hub_download.h) without a terminal.
// The person types a repository id (or pastes its huggingface.co address) and lists its files: each with its size,
// ticked when LowBit uses it (pickles can never be ticked), with whether the model fits this GPU for chat,
// correction and fine-tuning, from its config.json. Download fetches the ticked files into the default models
// folder with a progress bar, speed and time left; Cancel keeps what arrived, and Download again resumes it.
// A gated model's message says to accept its licence and add a token; the token field is filled from HF_TOKEN or
// the token huggingface-cli saved, kept in the settings only when asked, and never shown in a message.
#pragma once

#include <QDialog>
#include <QString>

class QCheckBox;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QTreeWidget;

namespace lowbit::hub {
struct HubListing;
}

namespace lowbit::ui {

class JobRunner;

class DownloadDialog : public QDialog {
  Q_OBJECT

 public:
  // Models go into `modelsFolder`/<repository name>.
  explicit DownloadDialog(const QString& modelsFolder, QWidget* parent = nullptr);
  // "owner/name" from what was typed: an id, or an address such as https://huggingface.co/owner/name/tree/main.
  static QString repoIdFrom(const QString& typed);
  QString destination() const { return m_destination; }

 public Q_SLOTS:
  void listFiles();
  void startDownload();

 Q_SIGNALS:
  void listed(int files);
  void downloaded(const QString& modelFolder);

 private:
  void showListing(const hub::HubListing& listing);
  void updateSummary();
  void setBusy(bool busy);
  void showProblem(const QString& message);

  QString m_modelsFolder;
  QString m_destination;
  QString m_listedRepo;
  QString m_commit;
  QLineEdit* m_repo = nullptr;
  QLineEdit* m_revision = nullptr;
  QLineEdit* m_token = nullptr;
  QCheckBox* m_rememberToken = nullptr;
  QPushButton* m_list = nullptr;
  QTreeWidget* m_files = nullptr;
  QLabel* m_summary = nullptr;
  QLabel* m_fit = nullptr;
  QLabel* m_status = nullptr;
  QProgressBar* m_progress = nullptr;
  QPushButton* m_download = nullptr;
  QPushButton* m_cancel = nullptr;
  JobRunner* m_listRunner = nullptr;
  JobRunner* m_downloadRunner = nullptr;
  double m_bytesPerSecond = 0;
};

}  // namespace lowbit::ui
