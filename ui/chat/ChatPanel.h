// The chat page: pick a model folder and the adapters stacked on it, load it on a worker thread, then chat with
// streaming answers (Alpaca template by default), Stop, and the sampling settings. Every model call runs in a
// core job (ChatLoadJob / ChatReplyJob) through JobRunner; the GUI thread only shows tokens as they arrive.
// Tests replace the reply job through setReplyJobFactory to stream without a model.
#pragma once

#include <QString>
#include <QWidget>

#include <functional>
#include <memory>

#include "core/jobs/job.h"

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

class ChatPanel : public QWidget {
  Q_OBJECT

 public:
  using ReplyJobFactory = std::function<std::shared_ptr<jobs::Job>(const QString& message)>;

  explicit ChatPanel(QWidget* parent = nullptr);

  void setReplyJobFactory(ReplyJobFactory factory);
  QString transcript() const;
  bool isAnswering() const;
  generate::ChatSettings settings() const;  // from the widgets

 public slots:
  void loadModel();
  void send();
  void stop();

 signals:
  void modelLoaded();
  void answerFinished();

 private:
  void setBusy(bool busy);
  void appendToTranscript(const QString& html);

  QLineEdit* m_modelDir = nullptr;
  QLineEdit* m_adapters = nullptr;
  QPushButton* m_load = nullptr;
  QComboBox* m_template = nullptr;
  QDoubleSpinBox* m_temperature = nullptr;
  QSpinBox* m_maxTokens = nullptr;
  QCheckBox* m_greedy = nullptr;
  QTextBrowser* m_transcript = nullptr;
  QLineEdit* m_input = nullptr;
  QPushButton* m_send = nullptr;
  QPushButton* m_stop = nullptr;
  QLabel* m_status = nullptr;
  JobRunner* m_runner = nullptr;
  std::shared_ptr<generate::ChatSession> m_session;
  ReplyJobFactory m_factory;
  QString m_answer;  // the answer being streamed
};

}  // namespace lowbit::ui
