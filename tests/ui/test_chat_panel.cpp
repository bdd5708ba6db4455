// The chat panel: streaming and Stop with a fake reply job (no model), and one end-to-end run on stories260K —
// quantize it through the jobs API, load the quantized model in the panel, send a message, read the answer.
#include "core/quant/quantize_job.h"

#include <QComboBox>
#include <QLineEdit>
#include <QMessageBox>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QCheckBox>
#include <QFileInfo>
#include <QLabel>
#include <QtTest>

#include <filesystem>
#include <thread>

#include "ui/chat/ChatPanel.h"
#include "tests/ui/stories_int4.h"
#include "ui/jobs/JobRunner.h"

using lowbit::ui::ChatPanel;
namespace jobs = lowbit::jobs;

namespace {

// Streams the words of a reply one by one, slowly enough to be stopped.
class FakeReplyJob : public jobs::Job {
 public:
  FakeReplyJob(QStringList words, int delayMs) : m_words(std::move(words)), m_delayMs(delayMs) {}
  std::string title() const override { return "Fake reply"; }
  void run(jobs::JobEvents& events, const jobs::CancelToken& cancel) override {
    for (const QString& word : m_words) {
      cancel.throw_if_cancelled();
      events.token({word.toStdString()});
      std::this_thread::sleep_for(std::chrono::milliseconds(m_delayMs));
    }
  }

 private:
  QStringList m_words;
  int m_delayMs;
};

class FailingJob : public jobs::Job {
 public:
  std::string title() const override { return "Failing reply"; }
  void run(jobs::JobEvents&, const jobs::CancelToken&) override {
    throw lowbit::InputError("model.safetensors", "is truncated", "download it again");
  }
};

}  // namespace

class TestChatPanel : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void initTestCase() {
    QCoreApplication::setOrganizationName(QStringLiteral("LowBitTests"));
    QCoreApplication::setApplicationName(QStringLiteral("test_chat_panel"));
  }
  void init() { QSettings().clear(); }  // each test starts as a first start (one column, no model)

  void streamsAnAnswerTokenByToken() {
    ChatPanel panel;
    panel.show();
    QStringList received;
    panel.setReplyJobFactory([&](const QString& message, int) {
      received << message;
      return std::make_shared<FakeReplyJob>(QStringList{"Red", ",", " green", " and", " blue", "."}, 5);
    });
    QSignalSpy finished(&panel, &ChatPanel::answerFinished);
    auto* input = panel.findChild<QLineEdit*>("chatInput");
    QTest::keyClicks(input, "What are the three primary colors?");
    QTest::keyClick(input, Qt::Key_Return);
    QTRY_COMPARE(finished.count(), 1);
    QCOMPARE(received, QStringList{"What are the three primary colors?"});
    QVERIFY(panel.transcript().contains("You: What are the three primary colors?"));
    QVERIFY(panel.transcript().contains("Model: Red, green and blue."));
    QVERIFY(input->text().isEmpty());
    QVERIFY(panel.findChild<QPushButton*>("chatSend")->isEnabled());
    QVERIFY(!panel.findChild<QPushButton*>("chatStop")->isEnabled());
    // A job that reports no token count: each streamed piece counts as one token.
    const QString status = panel.findChild<QLabel*>("chatModelStatus")->text();
    QVERIFY2(QRegularExpression("\nlast answer: 6 tokens in [0-9.]+ s, [0-9.]+ tokens/s$").match(status).hasMatch(),
             qPrintable(status));
  }

  void stopEndsTheAnswerAndKeepsWhatCame() {
    ChatPanel panel;
    panel.show();
    QStringList words;
    for (int i = 0; i < 500; ++i) words << QStringLiteral(" word");
    panel.setReplyJobFactory([&](const QString&, int) { return std::make_shared<FakeReplyJob>(words, 10); });
    QSignalSpy finished(&panel, &ChatPanel::answerFinished);
    QTest::keyClicks(panel.findChild<QLineEdit*>("chatInput"), "Talk forever");
    QTest::mouseClick(panel.findChild<QPushButton*>("chatSend"), Qt::LeftButton);
    QTRY_VERIFY(panel.transcript().count("word") >= 3);
    auto* stop = panel.findChild<QPushButton*>("chatStop");
    QVERIFY(stop->isEnabled());
    QTest::mouseClick(stop, Qt::LeftButton);
    QTRY_COMPARE(finished.count(), 1);
    QVERIFY(!panel.isAnswering());
    QVERIFY(panel.transcript().contains("(stopped)"));
    QVERIFY(panel.transcript().count("word") < 500);
  }

  void compareModeAsksEveryModelAtOnce() {
    ChatPanel panel;
    panel.show();
    QStringList asked;
    panel.setReplyJobFactory([&](const QString& message, int column) {
      asked << QStringLiteral("%1:%2").arg(column).arg(message);
      const QStringList words = column == 0 ? QStringList{"Once", " upon"} : QStringList{"A", " cat", " sat"};
      return std::make_shared<FakeReplyJob>(words, 5);
    });
    auto* compare = panel.findChild<QComboBox*>("chatCompare");
    QTest::keyClick(compare, Qt::Key_Down);  // "Compare two"
    QCOMPARE(panel.columnCount(), 2);
    QVERIFY(panel.findChild<QWidget*>("chatColumn2")->isVisible());
    QVERIFY(!panel.findChild<QWidget*>("chatColumn3")->isVisible());
    QVERIFY(panel.findChild<QLineEdit*>("chatModel2") != nullptr);
    QSignalSpy finished(&panel, &ChatPanel::answerFinished);
    QTest::keyClicks(panel.findChild<QLineEdit*>("chatInput"), "Tell me a story.");
    QTest::keyClick(panel.findChild<QLineEdit*>("chatInput"), Qt::Key_Return);
    QTRY_COMPARE(finished.count(), 1);
    QTest::qWait(50);
    QCOMPARE(finished.count(), 1);  // once, when both columns are done
    QCOMPARE(asked.size(), 2);
    QVERIFY(asked.contains("0:Tell me a story.") && asked.contains("1:Tell me a story."));
    QVERIFY(panel.transcript(0).contains("Model: Once upon"));
    QVERIFY(panel.transcript(1).contains("Model: A cat sat"));
    QVERIFY(!panel.transcript(0).contains("cat"));

    QStringList words;
    for (int i = 0; i < 500; ++i) words << QStringLiteral(" word");
    panel.setReplyJobFactory([&](const QString&, int) { return std::make_shared<FakeReplyJob>(words, 10); });
    QTest::keyClicks(panel.findChild<QLineEdit*>("chatInput"), "Talk");
    QTest::keyClick(panel.findChild<QLineEdit*>("chatInput"), Qt::Key_Return);
    QTRY_VERIFY(panel.transcript(1).count("word") >= 3);
    QTest::mouseClick(panel.findChild<QPushButton*>("chatStop"), Qt::LeftButton);
    QTRY_COMPARE(finished.count(), 2);
    QVERIFY(!panel.isAnswering());
    QVERIFY(panel.transcript(0).contains("(stopped)") && panel.transcript(1).contains("(stopped)"));
  }

  void aFailedAnswerOpensAnErrorDialogWithTheMessage() {
    ChatPanel panel;
    panel.show();
    panel.setReplyJobFactory([](const QString&, int) { return std::make_shared<FailingJob>(); });
    QTest::keyClicks(panel.findChild<QLineEdit*>("chatInput"), "Hello");
    QTest::keyClick(panel.findChild<QLineEdit*>("chatInput"), Qt::Key_Return);
    QMessageBox* dialog = nullptr;
    QTRY_VERIFY((dialog = panel.findChild<QMessageBox*>("errorDialog")) != nullptr);
    QTRY_VERIFY(dialog->isVisible());
    QCOMPARE(dialog->text(), QStringLiteral("model.safetensors: is truncated (download it again)"));
    QTest::mouseClick(dialog->button(QMessageBox::Ok), Qt::LeftButton);
    QTRY_VERIFY(panel.findChild<QMessageBox*>("errorDialog") == nullptr);  // closed and deleted
    QVERIFY(panel.findChild<QPushButton*>("chatSend")->isEnabled());
  }

  void quantizesStoriesThenChatsWithIt() {
    const std::filesystem::path model = std::filesystem::path(LOWBIT_TESTDATA_DIR) / "models/stories260K-hf";
    if (!std::filesystem::exists(model)) QSKIP("stories260K not found (shared test assets missing)");
    QTemporaryDir dir;
    QVERIFY(lowbit::testing::quantizeStoriesInt4(model, dir.filePath("int4").toStdString()));

    ChatPanel panel;
    panel.show();
    panel.activateWindow();
    QVERIFY(QTest::qWaitForWindowActive(&panel));
    QSignalSpy loaded(&panel, &ChatPanel::modelLoaded);
    QSignalSpy answered(&panel, &ChatPanel::answerFinished);
    auto* library = panel.findChild<QComboBox*>("chatLibrary");
    QCOMPARE(library->count(), 1);
    QCOMPARE(library->itemText(0), QStringLiteral("(no models in the library yet: add them on the Models page)"));
    // Picked from the library (the Models page's choices), not pasted: the model field fills itself.
    panel.setLibraryChoices({{QStringLiteral("stories260K-hf"), QString::fromStdString(model.string()), {}},
                             {QStringLiteral("int4"), dir.filePath("int4"), {}}});
    QCOMPARE(library->itemText(0), QStringLiteral("Pick a model…"));
    QCOMPARE(library->count(), 3);
    library->setFocus();
    QTest::keyClick(library, Qt::Key_Down);
    QTest::keyClick(library, Qt::Key_Down);
    QCOMPARE(library->currentText(), QStringLiteral("int4"));
    QCOMPARE(panel.findChild<QLineEdit*>("chatModel")->text(), dir.filePath("int4"));
    QCOMPARE(panel.findChild<QLineEdit*>("chatAdapters")->text(), QString());
    QTest::mouseClick(panel.findChild<QPushButton*>("chatLoad"), Qt::LeftButton);
    QTRY_COMPARE_WITH_TIMEOUT(loaded.count(), 1, 60000);
    QTRY_VERIFY2(panel.findChild<QLineEdit*>("chatInput")->hasFocus(), "after loading, typing goes to the message box");
    // Named as the library names it; a rescan of the library keeps it picked.
    QVERIFY2(panel.findChild<QLabel*>("chatModelStatus")->text().startsWith("Ready: int4 · template: "),
             qPrintable(panel.findChild<QLabel*>("chatModelStatus")->text()));
    panel.setLibraryChoices({{QStringLiteral("int4"), dir.filePath("int4"), {}}});
    QCOMPARE(library->currentText(), QStringLiteral("int4"));
    QTest::keyClicks(panel.findChild<QLineEdit*>("chatInput"), "Tell me a story.");
    QTest::keyClick(panel.findChild<QLineEdit*>("chatInput"), Qt::Key_Return);
    QTRY_COMPARE_WITH_TIMEOUT(answered.count(), 1, 60000);
    const QString transcript = panel.transcript();
    QVERIFY(transcript.contains("You: Tell me a story."));
    const QString answer = transcript.mid(transcript.indexOf("Model:") + 6).trimmed();
    QVERIFY2(answer.size() > 5, qPrintable(transcript));
    QVERIFY2(!answer.contains("### "), qPrintable(transcript));
    // The answer's speed, counted from the generator's own token count.
    const QString status = panel.findChild<QLabel*>("chatModelStatus")->text();
    const auto speed = QRegularExpression("\nlast answer: ([0-9]+) tokens in ([0-9.]+) s, ([0-9.]+) tokens/s$").match(status);
    QVERIFY2(speed.hasMatch(), qPrintable(status));
    QVERIFY2(speed.captured(1).toInt() > 0 && speed.captured(3).toDouble() > 0, qPrintable(status));
  }

  // A real instruct model in its own chat template (SmolLM2, imported from its GGUF by the ctest fixture): the
  // column says which template it uses and the greedy answer is transformers' ("The capital of France is Paris.").
  void chatsWithSmolLM2InItsOwnTemplate() {
    const QString model = QStringLiteral(LOWBIT_SMOLLM2_DIR);
    if (!QFileInfo::exists(model + QStringLiteral("/config.json"))) {
      QSKIP("SmolLM2 not imported (scripts/setup.sh downloads it; ctest's e2e.smollm2_import imports it)");
    }
    ChatPanel panel;
    panel.resize(1000, 700);
    panel.show();
    QSignalSpy loaded(&panel, &ChatPanel::modelLoaded);
    QSignalSpy answered(&panel, &ChatPanel::answerFinished);
    auto* modelDir = panel.findChild<QLineEdit*>("chatModel");
    modelDir->setText(model);
    panel.findChild<QLineEdit*>("chatAdapters")->clear();
    QCOMPARE(panel.findChild<QComboBox*>("chatTemplate")->currentData().toString(), QStringLiteral("auto"));
    panel.findChild<QCheckBox*>("chatGreedy")->setChecked(true);
    QTest::mouseClick(panel.findChild<QPushButton*>("chatLoad"), Qt::LeftButton);
    QTRY_COMPARE_WITH_TIMEOUT(loaded.count(), 1, 120000);
    const QString status = panel.findChild<QLabel*>("chatModelStatus")->text();
    QVERIFY2(status.contains("template: the model's chat template"), qPrintable(status));
    QTest::keyClicks(panel.findChild<QLineEdit*>("chatInput"), "What is the capital of France?");
    QTest::keyClick(panel.findChild<QLineEdit*>("chatInput"), Qt::Key_Return);
    QTRY_COMPARE_WITH_TIMEOUT(answered.count(), 1, 120000);
    const QString transcript = panel.transcript();
    const QString answer = transcript.mid(transcript.indexOf("Model:") + 6).trimmed();
    QCOMPARE(answer, QStringLiteral("The capital of France is Paris."));
    QVERIFY(panel.findChild<QLabel*>("chatModelStatus")->text().contains("template: the model's chat template"));
    if (qEnvironmentVariableIsSet("LOWBIT_SCREENSHOT_DIR")) {
      panel.grab().save(qEnvironmentVariable("LOWBIT_SCREENSHOT_DIR") + QStringLiteral("/chat-smollm2.png"));
    }
  }
};

QTEST_MAIN(TestChatPanel)
#include "test_chat_panel.moc"
