// LibTorch before Qt: Qt's `slots`/`signals` macros would rewrite names in LibTorch's headers.
#include "core/generate/chat.h"
#include "ui/chat/ChatPanel.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPushButton>
#include <QSettings>
#include <QSpinBox>
#include <QTextBrowser>
#include <QVBoxLayout>

#include "core/model/model_summary.h"
#include "ui/jobs/JobRunner.h"

namespace lowbit::ui {

ChatPanel::ChatPanel(QWidget* parent) : QWidget(parent), m_runner(new JobRunner(this)) {
  setObjectName(QStringLiteral("chatPanel"));
  QSettings stored;
  auto* layout = new QVBoxLayout(this);
  auto* form = new QFormLayout;
  m_modelDir = new QLineEdit(stored.value(QStringLiteral("chat/model")).toString(), this);
  m_modelDir->setObjectName(QStringLiteral("chatModel"));
  m_modelDir->setPlaceholderText(tr("a model folder (config.json, *.safetensors, tokenizer.model)"));
  m_adapters = new QLineEdit(stored.value(QStringLiteral("chat/adapters")).toString(), this);
  m_adapters->setObjectName(QStringLiteral("chatAdapters"));
  m_adapters->setPlaceholderText(tr("adapter folders stacked in order, separated by ';' (LREC first, then EMEF)"));
  m_load = new QPushButton(tr("Load"), this);
  m_load->setObjectName(QStringLiteral("chatLoad"));
  m_load->setShortcut(QKeySequence(QStringLiteral("Ctrl+L")));
  m_load->setToolTip(tr("Load the model and its adapters (Ctrl+L)"));
  auto* modelRow = new QHBoxLayout;
  modelRow->addWidget(m_modelDir, 1);
  modelRow->addWidget(m_load);
  form->addRow(tr("Model"), modelRow);
  form->addRow(tr("Adapters"), m_adapters);
  auto* samplingRow = new QHBoxLayout;
  m_template = new QComboBox(this);
  m_template->setObjectName(QStringLiteral("chatTemplate"));
  m_template->addItems({QStringLiteral("alpaca"), QStringLiteral("none")});
  m_temperature = new QDoubleSpinBox(this);
  m_temperature->setObjectName(QStringLiteral("chatTemperature"));
  m_temperature->setRange(0.05, 2.0);
  m_temperature->setSingleStep(0.05);
  m_temperature->setValue(stored.value(QStringLiteral("chat/temperature"), 0.7).toDouble());
  m_maxTokens = new QSpinBox(this);
  m_maxTokens->setObjectName(QStringLiteral("chatMaxTokens"));
  m_maxTokens->setRange(1, 8192);
  m_maxTokens->setValue(stored.value(QStringLiteral("chat/maxTokens"), 256).toInt());
  m_greedy = new QCheckBox(tr("Greedy"), this);
  m_greedy->setObjectName(QStringLiteral("chatGreedy"));
  samplingRow->addWidget(new QLabel(tr("Template"), this));
  samplingRow->addWidget(m_template);
  samplingRow->addWidget(new QLabel(tr("Temperature"), this));
  samplingRow->addWidget(m_temperature);
  samplingRow->addWidget(new QLabel(tr("Max tokens"), this));
  samplingRow->addWidget(m_maxTokens);
  samplingRow->addWidget(m_greedy);
  samplingRow->addStretch(1);
  form->addRow(tr("Sampling"), samplingRow);
  layout->addLayout(form);

  m_transcript = new QTextBrowser(this);
  m_transcript->setObjectName(QStringLiteral("chatTranscript"));
  layout->addWidget(m_transcript, 1);
  auto* inputRow = new QHBoxLayout;
  m_input = new QLineEdit(this);
  m_input->setObjectName(QStringLiteral("chatInput"));
  m_input->setPlaceholderText(tr("Type a message and press Enter"));
  m_send = new QPushButton(tr("Send"), this);
  m_send->setObjectName(QStringLiteral("chatSend"));
  m_stop = new QPushButton(tr("Stop"), this);
  m_stop->setObjectName(QStringLiteral("chatStop"));
  inputRow->addWidget(m_input, 1);
  inputRow->addWidget(m_send);
  inputRow->addWidget(m_stop);
  layout->addLayout(inputRow);
  m_status = new QLabel(tr("Load a model to start."), this);
  m_status->setObjectName(QStringLiteral("chatStatus"));
  layout->addWidget(m_status);

  connect(m_load, &QPushButton::clicked, this, &ChatPanel::loadModel);
  connect(m_send, &QPushButton::clicked, this, &ChatPanel::send);
  connect(m_input, &QLineEdit::returnPressed, this, &ChatPanel::send);
  connect(m_stop, &QPushButton::clicked, this, &ChatPanel::stop);
  connect(m_runner, &JobRunner::tokenStreamed, this, [this](const jobs::Token& token) {
    m_answer += QString::fromStdString(token.text);
    m_transcript->moveCursor(QTextCursor::End);
    m_transcript->insertPlainText(QString::fromStdString(token.text));
  });
  connect(m_runner, &JobRunner::jobFailed, this, [this](const QString& message) {
    setBusy(false);
    m_status->setText(tr("Failed"));
    QMessageBox::warning(this, tr("LowBit Studio"), message);
  });
  connect(m_runner, &JobRunner::jobCancelled, this, [this] {
    setBusy(false);
    m_status->setText(tr("Stopped"));
    appendToTranscript(QStringLiteral("<i>%1</i>").arg(tr("(stopped)")));
    emit answerFinished();
  });
  setBusy(false);
}

void ChatPanel::setReplyJobFactory(ReplyJobFactory factory) {
  m_factory = std::move(factory);
  setBusy(false);
}

QString ChatPanel::transcript() const { return m_transcript->toPlainText(); }

bool ChatPanel::isAnswering() const { return m_runner->isRunning(); }

generate::ChatSettings ChatPanel::settings() const {
  generate::ChatSettings s;
  s.prompt_template = data::parse_prompt_template(m_template->currentText().toStdString());
  s.sampling.temperature = m_temperature->value();
  s.sampling.greedy = m_greedy->isChecked();
  s.max_new_tokens = m_maxTokens->value();
  return s;
}

void ChatPanel::setBusy(bool busy) {
  const bool ready = m_session != nullptr || m_factory != nullptr;
  m_load->setEnabled(!busy);
  m_send->setEnabled(!busy && ready);
  m_input->setEnabled(ready);
  m_stop->setEnabled(busy);
}

void ChatPanel::appendToTranscript(const QString& html) {
  m_transcript->append(html);
  m_transcript->moveCursor(QTextCursor::End);
}

void ChatPanel::loadModel() {
  const QString dir = m_modelDir->text().trimmed();
  if (dir.isEmpty()) {
    m_status->setText(tr("Choose a model folder first."));
    return;
  }
  std::vector<std::string> adapters;
  for (const QString& adapter : m_adapters->text().split(QLatin1Char(';'), Qt::SkipEmptyParts)) {
    adapters.push_back(adapter.trimmed().toStdString());
  }
  QSettings stored;
  stored.setValue(QStringLiteral("chat/model"), dir);
  stored.setValue(QStringLiteral("chat/adapters"), m_adapters->text());
  model::LoadOptions options;
  options.device = model::resolve_device("auto");
  auto job = std::make_shared<generate::ChatLoadJob>(dir.toStdString(), adapters, options, settings());
  m_session.reset();
  const auto loaded = [this, job] {
    m_session = job->session();
    setBusy(false);
    m_transcript->clear();
    m_status->setText(tr("Ready: %1").arg(m_modelDir->text()));
    m_input->setFocus();
    emit modelLoaded();
  };
  m_status->setText(tr("Loading %1…").arg(dir));
  if (m_runner->start(job, loaded)) setBusy(true);
}

void ChatPanel::send() {
  const QString message = m_input->text().trimmed();
  if (message.isEmpty() || m_runner->isRunning()) return;
  std::shared_ptr<jobs::Job> job;
  if (m_factory) {
    job = m_factory(message);
  } else if (m_session) {
    m_session->set_settings(settings());  // no reply is running: the worker does not touch the session now
    job = std::make_shared<generate::ChatReplyJob>(m_session, message.toStdString());
  } else {
    return;
  }
  QSettings stored;
  stored.setValue(QStringLiteral("chat/temperature"), m_temperature->value());
  stored.setValue(QStringLiteral("chat/maxTokens"), m_maxTokens->value());
  m_input->clear();
  appendToTranscript(QStringLiteral("<p><b>%1</b> %2</p>").arg(tr("You:"), message.toHtmlEscaped()));
  appendToTranscript(QStringLiteral("<b>%1</b> ").arg(tr("Model:")));
  m_answer.clear();
  const auto answered = [this] {
    setBusy(false);
    m_status->setText(tr("Ready"));
    emit answerFinished();
  };
  m_status->setText(tr("Answering…"));
  if (m_runner->start(job, answered)) setBusy(true);
}

void ChatPanel::stop() { m_runner->cancel(); }

}  // namespace lowbit::ui
