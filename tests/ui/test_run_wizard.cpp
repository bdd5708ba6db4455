// The New run wizard on the real stories260K folder: the model folder is checked as it is typed (a wrong folder
// explained, Next enabled only for a usable model), the data page previews calibration text and Alpaca data with
// their bad records, and the settings page shows the same run as lowbit commands.
#include <QAbstractButton>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QRadioButton>
#include <QTemporaryDir>
#include <QtTest>

#include <filesystem>

#include "ui/wizard/RunWizard.h"

using lowbit::ui::RunWizard;

class TestRunWizard : public QObject {
  Q_OBJECT

 private slots:
  void validatesTheModelPreviewsDataAndShowsTheCommands() {
    const std::filesystem::path testdata(LOWBIT_TESTDATA_DIR);
    const QString model = QString::fromStdString((testdata / "models/stories260K-hf").string());
    if (!std::filesystem::exists(model.toStdString())) QSKIP("stories260K not found (shared test assets missing)");
    QTemporaryDir dir;
    RunWizard wizard;
    wizard.show();
    QAbstractButton* next = wizard.button(QWizard::NextButton);
    auto* folder = wizard.findChild<QLineEdit*>("wizardModel");
    auto* status = wizard.findChild<QLabel*>("wizardModelStatus");
    QVERIFY(!next->isEnabled());

    QTest::keyClicks(folder, QString::fromStdString((testdata / "models").string()));
    QTRY_VERIFY(status->text().contains("is not a model folder"));
    QVERIFY(!next->isEnabled());
    folder->clear();
    QTest::keyClicks(folder, model);
    QTRY_VERIFY(status->text().contains("LlamaForCausalLM, 5 layers, 0.26 M parameters"));
    QTRY_VERIFY(next->isEnabled());
    QTest::mouseClick(next, Qt::LeftButton);

    QCOMPARE(wizard.currentId(), int(RunWizard::GoalPageId));
    QVERIFY(wizard.findChild<QRadioButton*>("goalPipeline")->isChecked());
    QTest::mouseClick(next, Qt::LeftButton);

    QCOMPARE(wizard.currentId(), int(RunWizard::DataPageId));
    QVERIFY(!next->isEnabled());
    auto* preview = wizard.findChild<QPlainTextEdit*>("wizardPreview");
    QTest::keyClicks(wizard.findChild<QLineEdit*>("wizardCalibration"),
                     QString::fromStdString((testdata / "train_text/tinystories_val_sample.txt").string()));
    QTRY_VERIFY(preview->toPlainText().contains("plain text, 1 records"));
    QVERIFY(!next->isEnabled());  // the pipeline also needs instructions
    const QString bad = dir.filePath("bad.json");
    QFile file(bad);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write(R"([{"instruction": "Name a colour.", "output": "Red."}, {"instruction": "No answer"}])");
    file.close();
    QTest::keyClicks(wizard.findChild<QLineEdit*>("wizardAlpaca"), bad);
    QTRY_VERIFY(preview->toPlainText().contains("Alpaca JSON, 1 records"));
    QVERIFY(preview->toPlainText().contains("record 1, field \"output\": is missing"));
    QVERIFY(preview->toPlainText().contains("### Instruction:\nName a colour."));
    QTRY_VERIFY(next->isEnabled());
    QTest::mouseClick(next, Qt::LeftButton);

    QCOMPARE(wizard.currentId(), int(RunWizard::SettingsPageId));
    QTest::keyClicks(wizard.findChild<QLineEdit*>("wizardOutput"), dir.filePath("run"));
    const QStringList commands = wizard.findChild<QPlainTextEdit*>("wizardCommands")->toPlainText().split('\n');
    QCOMPARE(commands.size(), 3);
    QVERIFY2(commands[0].startsWith("lowbit quantize " + model + " --bits 2 --group-size 32 --act-order --calib "), qPrintable(commands[0]));
    QVERIFY2(commands[1].contains("lowbit correct " + dir.filePath("run/int2") + " --teacher " + model), qPrintable(commands[1]));
    QVERIFY2(commands[1].contains("--preset int2 --steps 200"), qPrintable(commands[1]));
    QVERIFY2(commands[2].contains("--adapters " + dir.filePath("run/lrec/adapter") + " --data " + bad), qPrintable(commands[2]));
    QVERIFY(next->isEnabled());
    QTest::mouseClick(next, Qt::LeftButton);
    QCOMPARE(wizard.currentId(), int(RunWizard::SummaryPageId));
    QVERIFY(wizard.findChild<QLabel*>("wizardSummary")->text().contains("lowbit finetune"));
    QVERIFY(wizard.makeJob() != nullptr);
  }
};

QTEST_MAIN(TestRunWizard)
#include "test_run_wizard.moc"
