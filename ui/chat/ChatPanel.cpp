#include "ui/chat/ChatPanel.h"

#include <QDateTime>
#include <QDir>

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QRandomGenerator>
#include <QSettings>
#include <QSpinBox>
#include <QTextBrowser>
#include <QVBoxLayout>

#include "core/generate/chat.h"
#include "ui/jobs/JobRunner.h"
#include "ui/util/ErrorDialog.h"
#include "ui/util/PathField.h"

namespace lowbit::ui {
namespace {

QString suffix(int index) { return index == 0 ? QString() : QString::number(index + 1); }
QString settingsKey(const char* name, int index) { return QStringLiteral("chat/") + QLatin1String(name) + suffix(index); }

}  // namespace

ChatColumn::ChatColumn(int index, QWidget* parent) : QWidget(parent), m_index(index), m_runner(new JobRunner(this)) {
  QSettings stored;
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  auto* form = new QFormLayout;
  m_modelDir = new QLineEdit(stored.value(settingsKey("model", index)).toString(), this);
  m_modelDir->setObjectName(QStringLiteral("chatModel") + suffix(index));
  m_modelDir->setPlaceholderText(tr("a model folder (config.json, *.safetensors, tokenizer.json or tokenizer.model)"));
  m_adapters = new QLineEdit(stored.value(settingsKey("adapters", index)).toString(), this);
  m_adapters->setObjectName(QStringLiteral("chatAdapters") + suffix(index));
  m_adapters->setPlaceholderText(tr("adapter folders stacked in order, separated by ';' (LREC first, then EMEF)"));
  m_library = new QComboBox(this);
  m_library->setObjectName(QStringLiteral("chatLibrary") + suffix(index));
  m_library->setToolTip(tr("Pick a model of the Models page, alone or with the adapters made for it"));
  m_library->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
  m_library->setMinimumContentsLength(24);
  setLibraryChoices({});
  m_load = new QPushButton(tr("Load"), this);
  m_load->setObjectName(QStringLiteral("chatLoad") + suffix(index));
  m_load->setToolTip(tr("Load this model and its adapters"));
  auto* modelRow = new QHBoxLayout;
  modelRow->addWidget(withBrowseButton(m_modelDir, PathKind::Folder, tr("Choose a model folder")), 1);
  modelRow->addWidget(m_load);
  form->addRow(tr("From the library"), m_library);
  form->addRow(tr("Model"), modelRow);
  form->addRow(tr("Adapters"), withBrowseButton(m_adapters, PathKind::AppendFolder, tr("Add an adapter folder to the stack")));
  layout->addLayout(form);
  m_transcript = new QTextBrowser(this);
  m_transcript->setObjectName(QStringLiteral("chatTranscript") + suffix(index));
  layout->addWidget(m_transcript, 1);
  m_status = new QLabel(tr("Load a model to start."), this);
  m_status->setObjectName(QStringLiteral("chatModelStatus") + suffix(index));
  m_status->setWordWrap(true);
  layout->addWidget(m_status);

  connect(m_library, qOverload<int>(&QComboBox::activated), this, [this](int row) {
    const QStringList stack = m_library->itemData(row).toStringList();
    if (!stack.isEmpty()) choose(stack.front(), stack.mid(1));
  });
  // The generator counts its tokens in its progress ("tokens"); a streamed piece can hold several.
  connect(m_runner, &JobRunner::progressed, this, [this](const jobs::Progress& progress) {
    if (progress.phase == "tokens") m_answerTokens = static_cast<int>(progress.done);
  });
  connect(m_runner, &JobRunner::tokenStreamed, this, [this](const jobs::Token& token) {
    ++m_answerPieces;
    m_transcript->moveCursor(QTextCursor::End);
    m_transcript->insertPlainText(QString::fromStdString(token.text));
  });
  connect(m_runner, &JobRunner::jobFailed, this, [this](const QString& message) {
    m_status->setText(tr("Failed: %1").arg(message));
    showError(this, message);
    Q_EMIT answerEnded();
    Q_EMIT busyChanged();
  });
  connect(m_runner, &JobRunner::jobCancelled, this, [this] {
    m_status->setText(tr("Stopped"));
    appendHtml(QStringLiteral("<i>%1</i>").arg(tr("(stopped)")));
    Q_EMIT answerEnded();
    Q_EMIT busyChanged();
  });
}

void ChatColumn::setLibraryChoices(const QVector<ChatChoice>& choices) {
  m_library->clear();
  m_library->addItem(choices.isEmpty() ? tr("(no models in the library yet: add them on the Models page)")
                                       : tr("Pick a model…"));
  for (const ChatChoice& choice : choices) {
    m_library->addItem(choice.label, QStringList{choice.model} + choice.adapters);
    m_library->setItemData(m_library->count() - 1, (QStringList{choice.model} + choice.adapters).join(QStringLiteral("\n")), Qt::ToolTipRole);
  }
  showLibraryEntry();  // a rescan keeps showing what the column holds
}

QStringList ChatColumn::stack() const {
  QStringList stack{modelFolder()};
  for (const QString& adapter : m_adapters->text().split(QLatin1Char(';'), Qt::SkipEmptyParts)) stack << adapter.trimmed();
  return stack;
}

void ChatColumn::showLibraryEntry() {
  const int row = m_library->findData(stack());
  m_library->setCurrentIndex(row > 0 ? row : 0);
}

void ChatColumn::choose(const QString& model, const QStringList& adapters) {
  m_modelDir->setText(model);
  m_adapters->setText(adapters.join(QLatin1Char(';')));
  showLibraryEntry();  // the library's name for it when it is there
  m_status->setText(tr("Load to chat with %1.").arg(QDir(model).dirName()));
}

QString ChatColumn::modelFolder() const { return m_modelDir->text().trimmed(); }

QString ChatColumn::transcript() const { return m_transcript->toPlainText(); }

bool ChatColumn::isAnswering() const { return m_runner->isRunning(); }

void ChatColumn::setBusy(bool busy) { m_load->setEnabled(!busy); }

void ChatColumn::appendHtml(const QString& html) {
  m_transcript->append(html);
  m_transcript->moveCursor(QTextCursor::End);
}

void ChatColumn::load(const generate::ChatSettings& settings) {
  const QString dir = modelFolder();
  if (dir.isEmpty()) {
    m_status->setText(tr("Choose a model folder first."));
    return;
  }
  if (m_runner->isRunning()) return;
  std::vector<std::string> adapters;
  for (const QString& adapter : stack().mid(1)) adapters.push_back(adapter.toStdString());
  QSettings stored;
  stored.setValue(settingsKey("model", m_index), dir);
  stored.setValue(settingsKey("adapters", m_index), m_adapters->text());
  auto job = std::make_shared<generate::ChatLoadJob>(dir.toStdString(), adapters, "auto", settings);
  m_session.reset();
  m_status->setText(tr("Loading %1…").arg(dir));
  const bool started = m_runner->start(job, [this, job, dir] {
    m_session = job->session();
    m_transcript->clear();
    // The library's name ("int2 + correction (LREC) + fine-tune (EMEF)") reads better than three long paths.
    const QString adapters = m_adapters->text().trimmed();
    const int row = m_library->findData(stack());
    const QString ready = row > 0 ? tr("Ready: %1").arg(m_library->itemText(row))
                          : adapters.isEmpty() ? tr("Ready: %1").arg(dir)
                                               : tr("Ready: %1 + %2").arg(dir, adapters);
    m_status->setToolTip(stack().join(QStringLiteral("\n")));
    QString format = tr("template: %1").arg(QString::fromStdString(m_session->format().describe()));
    if (!m_session->format_notice().empty()) format += QStringLiteral("\n") + QString::fromStdString(m_session->format_notice());
    m_readyText = ready + QStringLiteral(" · ") + format;
    m_status->setText(m_readyText);
    Q_EMIT loaded();
    Q_EMIT busyChanged();
  });
  if (started) Q_EMIT busyChanged();
}

bool ChatColumn::answer(const QString& message, std::shared_ptr<jobs::Job> job) {
  appendHtml(QStringLiteral("<p><b>%1</b> %2</p>").arg(tr("You:"), message.toHtmlEscaped()));
  appendHtml(QStringLiteral("<b>%1</b> ").arg(tr("Model:")));
  m_status->setText(tr("Answering…"));
  m_answerTokens = 0;
  m_answerPieces = 0;
  m_answerStartedMs = QDateTime::currentMSecsSinceEpoch();
  const bool started = m_runner->start(std::move(job), [this] {
    const double seconds = std::max<qint64>(1, QDateTime::currentMSecsSinceEpoch() - m_answerStartedMs) / 1000.0;
    // A job that does not report its token count: each streamed piece is at least one token.
    const int tokens = m_answerTokens > 0 ? m_answerTokens : m_answerPieces;
    // How fast this model answers on this machine: what a user compares between INT2, +LREC and full precision.
    const QString speed = tr("last answer: %1 tokens in %2 s, %3 tokens/s")
                              .arg(tokens)
                              .arg(seconds, 0, 'f', 1)
                              .arg(tokens / seconds, 0, 'f', 1);
    m_status->setText((m_readyText.isEmpty() ? tr("Ready") : m_readyText) + QStringLiteral("\n") + speed);
    Q_EMIT answerEnded();
    Q_EMIT busyChanged();
  });
  if (started) Q_EMIT busyChanged();
  return started;
}

void ChatColumn::stop() { m_runner->cancel(); }

ChatPanel::ChatPanel(QWidget* parent) : QWidget(parent) {
  setObjectName(QStringLiteral("chatPanel"));
  QSettings stored;
  auto* layout = new QVBoxLayout(this);
  auto* samplingRow = new QHBoxLayout;
  m_compare = new QComboBox(this);
  m_compare->setObjectName(QStringLiteral("chatCompare"));
  m_compare->addItems({tr("One model"), tr("Compare two"), tr("Compare three")});
  m_compare->setToolTip(tr("Send every message to two or three models side by side, with the same sampling seed"));
  m_loadAll = new QPushButton(tr("Load"), this);
  m_loadAll->setObjectName(QStringLiteral("chatLoadAll"));
  m_loadAll->setShortcut(QKeySequence(QStringLiteral("Ctrl+L")));
  m_loadAll->setToolTip(tr("Load every shown model and its adapters (Ctrl+L)"));
  m_template = new QComboBox(this);
  m_template->setObjectName(QStringLiteral("chatTemplate"));
  // The model's own chat template when its folder has one (Alpaca otherwise), as transformers would chat.
  m_template->addItem(tr("Model's own"), QStringLiteral("auto"));
  m_template->addItem(tr("Alpaca"), QStringLiteral("alpaca"));
  m_template->addItem(tr("None (raw text)"), QStringLiteral("none"));
  m_template->setToolTip(tr("How messages are wrapped: the model's chat template (from its tokenizer_config.json; "
                            "Alpaca for models without one), the Alpaca template of LowBit's fine-tuning runs, or none"));
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
  samplingRow->addWidget(m_compare);
  samplingRow->addWidget(m_loadAll);
  samplingRow->addSpacing(12);
  samplingRow->addWidget(new QLabel(tr("Template"), this));
  samplingRow->addWidget(m_template);
  samplingRow->addWidget(new QLabel(tr("Temperature"), this));
  samplingRow->addWidget(m_temperature);
  samplingRow->addWidget(new QLabel(tr("Max tokens"), this));
  samplingRow->addWidget(m_maxTokens);
  samplingRow->addWidget(m_greedy);
  samplingRow->addStretch(1);
  layout->addLayout(samplingRow);

  auto* columnsRow = new QHBoxLayout;
  for (int i = 0; i < kMaxColumns; ++i) {
    auto* column = new ChatColumn(i, this);
    column->setObjectName(QStringLiteral("chatColumn") + QString::number(i + 1));
    columnsRow->addWidget(column, 1);
    m_columns.push_back(column);
    connect(column, &ChatColumn::busyChanged, this, &ChatPanel::updateButtons);
    connect(column, &ChatColumn::loaded, this, [this] {
      updateButtons();  // the message box is enabled now, so that it can take the focus
      m_input->setFocus();
      Q_EMIT modelLoaded();
    });
    connect(column, &ChatColumn::answerEnded, this, [this] {
      if (m_answering > 0 && --m_answering == 0) {
        m_status->setText(tr("Ready"));
        Q_EMIT answerFinished();
      }
    });
  }
  layout->addLayout(columnsRow, 1);
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
  m_status = new QLabel(this);
  m_status->setObjectName(QStringLiteral("chatStatus"));
  m_status->setWordWrap(true);  // a long message wraps instead of widening the window
  layout->addWidget(m_status);

  connect(m_compare, qOverload<int>(&QComboBox::currentIndexChanged), this, [this](int index) {
    setColumnCount(index + 1);
  });
  connect(m_loadAll, &QPushButton::clicked, this, &ChatPanel::loadModel);
  connect(m_send, &QPushButton::clicked, this, &ChatPanel::send);
  connect(m_input, &QLineEdit::returnPressed, this, &ChatPanel::send);
  connect(m_stop, &QPushButton::clicked, this, &ChatPanel::stop);
  for (ChatColumn* column : m_columns) {
    connect(column->findChild<QPushButton*>(QStringLiteral("chatLoad") + suffix(column->index())), &QPushButton::clicked,
            this, [this, column] { column->load(settings()); });
  }
  setColumnCount(std::clamp(stored.value(QStringLiteral("chat/columns"), 1).toInt(), 1, kMaxColumns));
}

void ChatPanel::setReplyJobFactory(ReplyJobFactory factory) {
  m_factory = std::move(factory);
  updateButtons();
}

void ChatPanel::setColumnCount(int count) {
  count = std::clamp(count, 1, kMaxColumns);
  for (ChatColumn* column : m_columns) column->setVisible(column->index() < count);
  if (m_compare->currentIndex() != count - 1) m_compare->setCurrentIndex(count - 1);
  QSettings().setValue(QStringLiteral("chat/columns"), count);
  updateButtons();
}

int ChatPanel::columnCount() const { return m_compare->currentIndex() + 1; }

QString ChatPanel::transcript(int column) const { return m_columns.value(column) ? m_columns[column]->transcript() : QString(); }

bool ChatPanel::isAnswering() const {
  return std::any_of(m_columns.begin(), m_columns.end(), [](const ChatColumn* c) { return c->isAnswering(); });
}

generate::ChatSettings ChatPanel::settings() const {
  generate::ChatSettings s;
  const QString chosen = m_template->currentData().toString();
  if (chosen != QLatin1String("auto")) s.prompt_template = data::parse_prompt_template(chosen.toStdString());
  s.sampling.temperature = m_temperature->value();
  s.sampling.greedy = m_greedy->isChecked();
  s.max_new_tokens = m_maxTokens->value();
  return s;
}

void ChatPanel::updateButtons() {
  const bool busy = isAnswering();
  bool ready = m_factory != nullptr;
  for (int i = 0; i < columnCount(); ++i) ready = ready || m_columns[i]->isLoaded();
  for (ChatColumn* column : m_columns) column->setBusy(busy);
  m_loadAll->setEnabled(!busy);
  m_send->setEnabled(!busy && ready);
  m_input->setEnabled(ready);
  m_stop->setEnabled(busy);
}

void ChatPanel::setLibraryChoices(const QVector<ChatChoice>& choices) {
  for (ChatColumn* column : m_columns) column->setLibraryChoices(choices);
}

void ChatPanel::chatWith(const QString& model, const QStringList& adapters) {
  setColumnCount(1);
  m_compare->setCurrentIndex(0);
  m_columns[0]->choose(model, adapters);
  m_columns[0]->load(settings());
}

void ChatPanel::loadModel() {
  for (int i = 0; i < columnCount(); ++i) m_columns[i]->load(settings());
}

void ChatPanel::send() {
  const QString message = m_input->text().trimmed();
  if (message.isEmpty() || isAnswering()) return;
  // The same seed in every column: differences between the answers come from the models, not the dice.
  const uint64_t seed = QRandomGenerator::global()->generate64();
  QVector<QPair<ChatColumn*, std::shared_ptr<jobs::Job>>> replies;
  for (int i = 0; i < columnCount(); ++i) {
    ChatColumn* column = m_columns[i];
    if (m_factory) {
      replies.push_back({column, m_factory(message, i)});
    } else if (column->isLoaded()) {
      column->session()->set_settings(settings());  // no reply is running: the worker does not touch the session now
      column->session()->reseed(seed);
      replies.push_back({column, std::make_shared<generate::ChatReplyJob>(column->session(), message.toStdString())});
    }
  }
  if (replies.isEmpty()) return;
  QSettings stored;
  stored.setValue(QStringLiteral("chat/temperature"), m_temperature->value());
  stored.setValue(QStringLiteral("chat/maxTokens"), m_maxTokens->value());
  m_input->clear();
  m_answering = 0;
  for (auto& [column, job] : replies) {
    if (column->answer(message, job)) ++m_answering;
  }
  m_status->setText(m_answering > 1 ? tr("%1 models answering…").arg(m_answering) : tr("Answering…"));
  updateButtons();
}

void ChatPanel::stop() {
  for (ChatColumn* column : m_columns) column->stop();
}

}  // namespace lowbit::ui
