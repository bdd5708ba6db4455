// What the app shows as "same in a terminal" is the run it starts: the Correct page's and the wizard's command
// lines, split as a shell would and parsed by the CLI's own settings schema, equal the settings of the jobs their
// Start / Finish buttons start — including the evaluation cadence the Correct page sets.
#include <QComboBox>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSettings>
#include <QSpinBox>
#include <QTemporaryDir>
#include <QtTest>

#include <filesystem>

#include "core/train/run_plan.h"
#include "tests/support/shell_words.h"
#include "ui/jobs/JobRunner.h"
#include "ui/runs/CorrectPage.h"
#include "ui/wizard/RunWizard.h"

using namespace lowbit;

namespace {

// "lowbit correct …" → the settings `lowbit correct …` would run with.
template <typename Settings>
Settings parseCommand(const QString& line, const SettingsSchema<Settings>& schema) {
  std::vector<std::string> words = testing::split_shell_words(line.toStdString());
  if (words.size() < 2 || words[0] != "lowbit" || words[1] != schema.command()) {
    throw std::runtime_error("not a lowbit " + schema.command() + " line: " + line.toStdString());
  }
  words.erase(words.begin(), words.begin() + 2);
  return schema.parse(ArgParser(schema.command(), words, schema.options()));
}

void setSpinBox(QSpinBox* box, int value) {
  box->selectAll();
  QTest::keyClicks(box, QString::number(value));
  QCOMPARE(box->value(), value);
}

}  // namespace

class TestSettingsCommands : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void initTestCase() {
    QCoreApplication::setOrganizationName(QStringLiteral("LowBitTests"));
    QCoreApplication::setApplicationName(QStringLiteral("test_settings_commands"));
    QSettings().clear();
  }

  void theCorrectPageShowsTheRunItStarts() {
    QTemporaryDir dir;
    ui::CorrectPage page;
    page.show();
    auto fill = [&page](const char* name, const QString& text) {
      auto* field = page.findChild<QLineEdit*>(QString::fromLatin1(name));
      QVERIFY(field != nullptr);
      field->setText(text);
    };
    fill("correctStudent", dir.filePath("my models/int3"));  // a space: the command must quote it
    fill("correctTeacher", dir.filePath("fp"));
    fill("correctCalibration", dir.filePath("wiki.txt"));
    fill("correctRunDir", dir.filePath("runs/lrec"));
    page.findChild<QComboBox*>("correctPreset")->setCurrentText("int3");
    auto* recipe = page.findChild<QComboBox*>("correctRecipe");
    QCOMPARE(recipe->currentData().toString(), QStringLiteral("rilq"));  // the app's first choice, measured better
    recipe->setCurrentIndex(recipe->findData(QStringLiteral("lrec")));
    setSpinBox(page.findChild<QSpinBox*>("correctSteps"), 30);
    setSpinBox(page.findChild<QSpinBox*>("correctRank"), 8);
    const QString shown = page.findChild<QLabel*>("correctCommand")->text();
    QVERIFY2(shown.contains("--eval-every 3"), qPrintable(shown));  // a tenth of the run, as the page runs it
    const train::LrecSettings parsed = parseCommand(shown, train::lrec_settings_schema());

    QTest::mouseClick(page.findChild<QPushButton*>("correctStart"), Qt::LeftButton);
    auto* runner = page.findChild<ui::JobRunner*>(QString(), Qt::FindDirectChildrenOnly);
    QVERIFY(runner != nullptr);
    const auto job = std::dynamic_pointer_cast<train::RunPlanJob>(runner->job());
    QVERIFY(job != nullptr);
    QVERIFY(job->plan().correct.has_value());
    const train::LrecSettings& started = *job->plan().correct;
    QVERIFY2(started == parsed, qPrintable(shown));
    QCOMPARE(started.schedule.total_steps, int64_t{30});
    QCOMPARE(started.lora.rank, int64_t{8});
    QCOMPARE(started.lora.alpha, 32.0);
    QCOMPARE(QString::fromStdString(started.preset), QStringLiteral("int3"));
    QTRY_VERIFY(!runner->isRunning());  // the student does not exist: the run fails, saying so

    // RILQ's recipe: one more word on the command line, and the run started is the one shown.
    recipe->setCurrentIndex(recipe->findData(QStringLiteral("rilq")));
    const QString rilqShown = page.findChild<QLabel*>("correctCommand")->text();
    QVERIFY2(rilqShown.contains("--preset int3 --loss rilq"), qPrintable(rilqShown));
    const train::LrecSettings rilqParsed = parseCommand(rilqShown, train::lrec_settings_schema());
    QTest::mouseClick(page.findChild<QPushButton*>("correctStart"), Qt::LeftButton);
    const auto rilqJob = std::dynamic_pointer_cast<train::RunPlanJob>(runner->job());
    QVERIFY(rilqJob != nullptr && rilqJob->plan().correct.has_value());
    const train::LrecSettings& rilq = *rilqJob->plan().correct;
    QVERIFY2(rilq == rilqParsed, qPrintable(rilqShown));
    QVERIFY(rilq.loss.kind == train::CorrectionLoss::HiddenMseCe);
    QCOMPARE(rilq.lora.alpha, 16.0);
    QCOMPARE(rilq.early_stop_patience, int64_t{5});
    QTRY_VERIFY(!runner->isRunning());
  }

  // The Correct page, like the wizard, says before Start what the run takes on this machine.
  void theCorrectPageEstimatesTheRunBeforeItStarts() {
    const std::filesystem::path model = std::filesystem::path(LOWBIT_TESTDATA_DIR) / "models/stories260K-hf";
    if (!std::filesystem::exists(model)) QSKIP("stories260K not found (shared test assets missing)");
    QTemporaryDir dir;
    ui::CorrectPage page;
    page.show();
    auto* estimate = page.findChild<QLabel*>("correctEstimate");
    QVERIFY(estimate != nullptr);
    for (const char* name : {"correctStudent", "correctTeacher"}) page.findChild<QLineEdit*>(QString::fromLatin1(name))->clear();
    QTRY_VERIFY2(estimate->text().contains("Fill in both models"), qPrintable(estimate->text()));
    page.findChild<QLineEdit*>("correctStudent")->setText(QString::fromStdString(model.string()));
    page.findChild<QLineEdit*>("correctTeacher")->setText(QString::fromStdString(model.string()));
    page.findChild<QLineEdit*>("correctRunDir")->setText(dir.filePath("lrec"));
    QTRY_VERIFY_WITH_TIMEOUT(estimate->text().contains("correct (LREC): "), 30000);
    QVERIFY2(estimate->text().contains(" (fits), about "), qPrintable(estimate->text()));
  }
};

QTEST_MAIN(TestSettingsCommands)
#include "test_settings_commands.moc"
