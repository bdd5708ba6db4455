// The chat page: pick a model folder and the adapters stacked on it, load it on a worker thread, then chat with
// streaming answers (in the model's own chat template, Alpaca for models without one), Stop, and the sampling settings. Compare mode shows two or three
// models side by side (e.g. INT2, INT2 + LREC, INT2 + LREC + EMEF): each column loads its own model, and every
// message goes to all of them at once with the same sampling seed, their answers streaming next to each other.
// Every model call runs in a core job (ChatLoadJob / ChatReplyJob) through a JobRunner per column; the GUI thread
// only shows tokens as they arrive. Tests replace the reply jobs through setReplyJobFactory to stream without a
// model.
#pragma once

#include <QString>
#include <QVector>
#include <QWidget>

#include <functional>
#include <memory>

#include "core/jobs/job.h"
#include "ui/models/ChatChoice.h"

// No LibTorch header here: Qt's `slots`/`signals` macros would rewrite names in them (moc includes this file).
namespace lowbit::generate {
class ChatSession;
struct ChatSettings;
}  // namespace lowbit::generate

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QSpinBox;
class QTextBrowser;

namespace lowbit::ui {

class JobRunner;

// One model of the chat page: its folder, adapter stack, transcript and the session it answers with. Child
// objectNames carry the column's suffix: "chatModel", "chatTranscript" for the first; "chatModel2", … for others.
class ChatColumn : public QWidget {
  Q_OBJECT

 public:
  ChatColumn(int index, QWidget* parent);
  int index() const { return m_index; }
  QString modelFolder() const;
  QString transcript() const;
  bool isLoaded() const { return m_session != nullptr; }
  bool isAnswering() const;
  std::shared_ptr<generate::ChatSession> session() const { return m_session; }

  void load(const generate::ChatSettings& settings);
  // The library's models and adapter stacks, offered in the column's "From the library" list.
  void setLibraryChoices(const QVector<ChatChoice>& choices);
  // Fills the model and adapter fields (the next load uses them).
  void choose(const QString& model, const QStringList& adapters);
  // Shows the message and starts `job` streaming the answer into this column.
  bool answer(const QString& message, std::shared_ptr<jobs::Job> job);
  void stop();
  void setBusy(bool busy);  // while any column answers, no column loads

 Q_SIGNALS:
  void loaded();
  void answerEnded();      // finished, stopped or failed
  void busyChanged();

 private:
  void appendHtml(const QString& html);
  QStringList stack() const;  // the model folder, then the adapters, as the fields hold them
  void showLibraryEntry();    // picks the library's entry for that stack, or the placeholder

  int m_index;
  QComboBox* m_library = nullptr;
  QLineEdit* m_modelDir = nullptr;
  QLineEdit* m_adapters = nullptr;
  QPushButton* m_load = nullptr;
  QTextBrowser* m_transcript = nullptr;
  QLabel* m_status = nullptr;
  JobRunner* m_runner = nullptr;
  std::shared_ptr<generate::ChatSession> m_session;
  QString m_readyText;  // the loaded model, its adapters and the template it chats in
  int m_answerTokens = 0;
  int m_answerPieces = 0;
  qint64 m_answerStartedMs = 0;
};

class ChatPanel : public QWidget {
  Q_OBJECT

 public:
  // `column`: 0 for the first model, 1 and 2 for the models it is compared with.
  using ReplyJobFactory = std::function<std::shared_ptr<jobs::Job>(const QString& message, int column)>;
  static constexpr int kMaxColumns = 3;

  explicit ChatPanel(QWidget* parent = nullptr);

  void setReplyJobFactory(ReplyJobFactory factory);
  // 1: one model; 2 or 3: compare side by side.
  void setColumnCount(int count);
  int columnCount() const;
  QString transcript(int column = 0) const;
  bool isAnswering() const;
  generate::ChatSettings settings() const;  // from the widgets
  void setLibraryChoices(const QVector<ChatChoice>& choices);  // every column's "From the library" list
  // A model card's Chat: one model in the first column, loaded at once.
  void chatWith(const QString& model, const QStringList& adapters);

 public Q_SLOTS:
  void loadModel();  // every shown column
  void send();
  void stop();

 Q_SIGNALS:
  void modelLoaded();     // a column finished loading
  void answerFinished();  // every column has ended its answer

 private:
  void updateButtons();

  QVector<ChatColumn*> m_columns;
  QComboBox* m_compare = nullptr;
  QComboBox* m_template = nullptr;
  QDoubleSpinBox* m_temperature = nullptr;
  QSpinBox* m_maxTokens = nullptr;
  QCheckBox* m_greedy = nullptr;
  QLineEdit* m_input = nullptr;
  QPushButton* m_send = nullptr;
  QPushButton* m_stop = nullptr;
  QPushButton* m_loadAll = nullptr;
  QLabel* m_status = nullptr;
  ReplyJobFactory m_factory;
  int m_answering = 0;  // columns still answering the last message
};

}  // namespace lowbit::ui
