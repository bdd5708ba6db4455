// The New run wizard on the real stories260K folder: the model folder is checked as it is typed (a wrong folder
// explained, Next enabled only for a usable model), the data page previews calibration text and Alpaca data with
// their bad records, and the settings page shows the same run as lowbit commands.
#include <QAbstractButton>
#include <QCheckBox>
#include <QComboBox>
#include <QSpinBox>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QRadioButton>
#include <QSettings>
#include <QTemporaryDir>
#include <QtTest>

#include <filesystem>

#include "core/train/run_plan.h"
#include "tests/support/tiny_pipeline.h"
#include "tests/support/shell_words.h"
#include "ui/wizard/RunWizard.h"

using lowbit::ui::RunWizard;

namespace {

// The wizard's "same in a terminal" lines, parsed by the CLI's settings schemas, are the steps of the job that
// Finish starts.
void expectCommandsAreTheRun(const RunWizard& wizard) {
  using namespace lowbit;
  const auto job = std::dynamic_pointer_cast<train::RunPlanJob>(wizard.makeJob());
  QVERIFY(job != nullptr);
  const train::RunPlan& plan = job->plan();
  for (const QString& line : wizard.findChild<QPlainTextEdit*>("wizardCommands")->toPlainText().split('\n')) {
    std::vector<std::string> words = testing::split_shell_words(line.toStdString());
    QVERIFY2(words.size() > 2 && words[0] == "lowbit", qPrintable(line));
    const std::string command = words[1];
    words.erase(words.begin(), words.begin() + 2);
    if (command == "quantize") {
      const auto& schema = quant::quantize_settings_schema();
      QVERIFY2(plan.quantize && schema.parse(ArgParser(command, words, schema.options())) == *plan.quantize, qPrintable(line));
    } else if (command == "correct") {
      const auto& schema = train::lrec_settings_schema();
      QVERIFY2(plan.correct && schema.parse(ArgParser(command, words, schema.options())) == *plan.correct, qPrintable(line));
    } else {
      const auto& schema = train::emef_settings_schema();
      QVERIFY2(plan.finetune && schema.parse(ArgParser(command, words, schema.options())) == *plan.finetune, qPrintable(line));
    }
  }
}

}  // namespace

class TestRunWizard : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void initTestCase() {
    QCoreApplication::setOrganizationName(QStringLiteral("LowBitTests"));
    QCoreApplication::setApplicationName(QStringLiteral("test_run_wizard"));
    QSettings().clear();
  }

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
    QTRY_VERIFY2(preview->toPlainText().contains("Calibration text — ✓ plain text, 1 document;"), qPrintable(preview->toPlainText()));
    QVERIFY(!next->isEnabled());  // the pipeline also needs instructions
    const QString bad = dir.filePath("bad.json");
    QFile file(bad);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write(R"([{"instruction": "Name a colour.", "output": "Red."}, {"instruction": "No answer"}])");
    file.close();
    QTest::keyClicks(wizard.findChild<QLineEdit*>("wizardAlpaca"), bad);
    QTRY_VERIFY2(preview->toPlainText().contains("Instructions — ✓ Alpaca JSON: 2 records in the file, 1 usable, 1 left out"),
                 qPrintable(preview->toPlainText()));
    QVERIFY(preview->toPlainText().contains("record 1, field \"output\": is missing"));
    QVERIFY(preview->toPlainText().contains("### Instruction:\nName a colour."));
    QTRY_VERIFY(next->isEnabled());
    QTest::mouseClick(next, Qt::LeftButton);

    QCOMPARE(wizard.currentId(), int(RunWizard::SettingsPageId));
    auto* output = wizard.findChild<QLineEdit*>("wizardOutput");
    QVERIFY2(output->text().contains("/runs/stories260K-hf-"), qPrintable(output->text()));  // a new folder suggested
    output->clear();
    QTest::keyClicks(output, dir.filePath("run"));
    const QStringList commands = wizard.findChild<QPlainTextEdit*>("wizardCommands")->toPlainText().split('\n');
    QCOMPARE(commands.size(), 3);
    QVERIFY2(commands[0].startsWith("lowbit quantize " + model + " --out " + dir.filePath("run/int2") + " --calib "), qPrintable(commands[0]));
    QVERIFY2(commands[0].contains(" --bits 2 --group-size 32 --act-order "), qPrintable(commands[0]));
    QVERIFY2(commands[1].contains("lowbit correct " + dir.filePath("run/int2") + " --teacher " + model), qPrintable(commands[1]));
    QVERIFY2(commands[1].contains("--preset int2 --loss rilq --eval-every 20"), qPrintable(commands[1]));  // 200 steps: the default
    QVERIFY2(commands[2].contains(" --data " + bad) && commands[2].contains("--adapters " + dir.filePath("run/lrec/adapter")), qPrintable(commands[2]));
    expectCommandsAreTheRun(wizard);
    // stories260K has no chat template: it is fine-tuned in Alpaca's, and the choice says why it cannot change.
    auto* emefTemplate = wizard.findChild<QComboBox*>("wizardEmefTemplate");
    QCOMPARE(emefTemplate->currentIndex(), 0);
    QVERIFY(!emefTemplate->isEnabled());
    QVERIFY(emefTemplate->toolTip().contains("no chat template"));
    QVERIFY(!commands[2].contains("--template"));

    // The estimate of every step on this machine (no GPU here: RAM), with the fit verdict and a time.
    auto* estimate = wizard.findChild<QLabel*>("wizardEstimate");
    QTRY_VERIFY_WITH_TIMEOUT(estimate->text().contains("fine-tune (EMEF)"), 30000);
    for (const char* step : {"quantize (GPTQ 2-bit): ", "correct (LREC): ", "fine-tune (EMEF): "}) {
      QVERIFY2(estimate->text().contains(step), qPrintable(estimate->text()));
    }
    QVERIFY2(estimate->text().contains(" RAM (fits), about "), qPrintable(estimate->text()));
    QVERIFY2(estimate->text().contains("in all about"), qPrintable(estimate->text()));

    // The wizard repairs with RILQ's recipe, measured better at every bit width (docs/correction-recipes.md); the
    // line under the bits says what will run, and follows the person's choice of recipe.
    auto* presetInfo = wizard.findChild<QLabel*>("wizardPresetInfo");
    auto* recipe = wizard.findChild<QComboBox*>("wizardLrecRecipe");
    auto* bits = wizard.findChild<QComboBox*>("wizardBits");
    QCOMPARE(recipe->currentData().toString(), QStringLiteral("rilq"));
    QVERIFY2(presetInfo->text().contains("INT2 — RILQ") && presetInfo->text().contains("lr 0.0001"), qPrintable(presetInfo->text()));
    QTest::keyClick(recipe, Qt::Key_Up);
    QCOMPARE(recipe->currentData().toString(), QStringLiteral("lrec"));
    QVERIFY2(presetInfo->text().contains("INT2 — LREC preset int2") && presetInfo->text().contains("λ_CE 120,"), qPrintable(presetInfo->text()));
    bits->setCurrentText(QStringLiteral("4"));
    QVERIFY2(presetInfo->text().contains("INT4 — LREC preset int4") && presetInfo->text().contains("λ_CE 10,"), qPrintable(presetInfo->text()));
    bits->setCurrentText(QStringLiteral("2"));
    QTest::keyClick(recipe, Qt::Key_Down);
    QCOMPARE(wizard.findChild<QPlainTextEdit*>("wizardCommands")->toPlainText().split('\n'), commands);

    // Advanced: every setting, reflected in the commands; a batch that micro-batches cannot split is refused.
    auto* advancedBox = wizard.findChild<QWidget*>("wizardAdvancedBox");
    QVERIFY(!advancedBox->isVisible());
    auto* advancedToggle = wizard.findChild<QCheckBox*>("wizardAdvanced");
    auto* commandsBox = wizard.findChild<QPlainTextEdit*>("wizardCommands");
    const QString basicCommands = commandsBox->toPlainText();
    QTest::mouseClick(advancedToggle, Qt::LeftButton);
    QCOMPARE(commandsBox->toPlainText(), basicCommands);  // showing the settings changes none of them
    QTest::mouseClick(advancedToggle, Qt::LeftButton);
    QCOMPARE(commandsBox->toPlainText(), basicCommands);
    QTest::mouseClick(advancedToggle, Qt::LeftButton);
    // At the wizard's own size every advanced row is as tall as it needs to be, none squashed.
    for (QSpinBox* box : advancedBox->findChildren<QSpinBox*>()) {
      QTRY_VERIFY2(box->height() >= box->sizeHint().height(),
                   qPrintable(box->objectName() + QStringLiteral(" is squashed: %1 of %2 px").arg(box->height()).arg(box->sizeHint().height())));
    }
    QVERIFY2(advancedToggle->isChecked(), qPrintable(QStringLiteral("%1x%2").arg(advancedToggle->width()).arg(advancedToggle->height())));
    QVERIFY(advancedBox->isVisible());
    auto* lrecRank = wizard.findChild<QSpinBox*>("wizardLrecRank");
    QVERIFY(lrecRank->isVisible());  // the LREC form's advanced rows, shared with the Correct page
    lrecRank->selectAll();
    QTest::keyClicks(lrecRank, "8");
    auto* microBatch = wizard.findChild<QSpinBox*>("wizardEmefMicroBatch");
    microBatch->selectAll();
    QTest::keyClicks(microBatch, "5");
    QVERIFY(!next->isEnabled());  // 128 is not a multiple of 5
    microBatch->selectAll();
    QTest::keyClicks(microBatch, "8");
    QVERIFY(next->isEnabled());
    const QStringList advanced = wizard.findChild<QPlainTextEdit*>("wizardCommands")->toPlainText().split('\n');
    QVERIFY2(advanced[0].contains(" --seqlen 512"), qPrintable(advanced[0]));
    QVERIFY2(advanced[1].contains("--loss rilq --rank 8 --eval-every") && !advanced[1].contains("--alpha"), qPrintable(advanced[1]));  // RILQ: α 16 at any rank
    QVERIFY2(advanced[2].contains("--micro-batch 8"), qPrintable(advanced[2]));
    expectCommandsAreTheRun(wizard);
    QTest::mouseClick(next, Qt::LeftButton);
    QCOMPARE(wizard.currentId(), int(RunWizard::SummaryPageId));
    // The instructions checked at the run's own cutoff: half of them are left out, so Finish waits for a yes.
    auto* dataCheck = wizard.findChild<QLabel*>("wizardDataCheck");
    QTRY_VERIFY2(dataCheck->text().startsWith(QStringLiteral("⚠ Fine-tuning learns from 1 of the 2 records at its cutoff of 256 tokens: 1 left out")),
                 qPrintable(dataCheck->text()));
    QVERIFY(dataCheck->text().contains("0 whose prompt alone fills the cutoff, 1 malformed"));
    QAbstractButton* finish = wizard.button(QWizard::FinishButton);
    QVERIFY(!finish->isEnabled());
    auto* startAnyway = wizard.findChild<QCheckBox*>("wizardStartAnyway");
    QVERIFY(startAnyway->isVisible());
    QCOMPARE(startAnyway->text(), QStringLiteral("&Start with the 1 usable record anyway"));  // Alt+S ticks it
    startAnyway->setChecked(true);
    QVERIFY(finish->isEnabled());
    QVERIFY(wizard.findChild<QLabel*>("wizardSummary")->text().contains("lowbit finetune"));
    const auto job = wizard.makeJob();
    QCOMPARE(QString::fromStdString(job->title()), QStringLiteral("Quantize → Correct (LREC) → Fine-tune (EMEF)"));
    QCOMPARE(wizard.runFolders(), (QStringList{dir.filePath("run/lrec"), dir.filePath("run/emef")}));
  }

  // Fine-tuning on its own a model that a Quantize + correct run made: the wizard offers that run's correction
  // adapter (stacked, frozen, under the new one), checks any adapter typed there against the model, and the
  // command and the job carry it.
  void aFineTuneIsGivenTheCorrectionAdapterMadeForItsModel() {
    namespace fs = std::filesystem;
    if (!fs::exists(lowbit::testing::testdata_path(lowbit::testing::kPipelineModel))) QSKIP("stories260K not found (shared test assets missing)");
    QTemporaryDir dir;
    lowbit::train::RunPlan made = lowbit::testing::tiny_pipeline((dir.path() + "/run").toStdString());
    made.finetune.reset();
    lowbit::jobs::IgnoreEvents quiet;
    lowbit::jobs::CancelToken cancel;
    lowbit::train::RunPlanJob(made).run(quiet, cancel);
    const QString quantized = QString::fromStdString(made.quantize->out_dir.string());
    const QString correction = QString::fromStdString((made.correct->run_dir / "adapter").string());
    const QString original = QString::fromStdString(made.model_dir.string());
    const QString alpaca = QString::fromStdString(lowbit::testing::testdata_path(lowbit::testing::kPipelineAlpaca).string());

    auto openDataPage = [](RunWizard& wizard, const QString& model) {
      wizard.show();
      QTest::keyClicks(wizard.findChild<QLineEdit*>("wizardModel"), model);
      QTRY_VERIFY(wizard.button(QWizard::NextButton)->isEnabled());
      QTest::mouseClick(wizard.button(QWizard::NextButton), Qt::LeftButton);
      wizard.findChild<QRadioButton*>("goalFinetune")->click();
      QTest::mouseClick(wizard.button(QWizard::NextButton), Qt::LeftButton);
      QCOMPARE(wizard.currentId(), int(RunWizard::DataPageId));
    };
    {
      RunWizard wizard;
      openDataPage(wizard, quantized);
      auto* adapter = wizard.findChild<QLineEdit*>("wizardBaseAdapter");
      auto* status = wizard.findChild<QLabel*>("wizardBaseAdapterStatus");
      QVERIFY(wizard.findChild<QRadioButton*>("goalFinetune")->isChecked());
      QVERIFY(adapter->isVisible());
      QCOMPARE(adapter->text(), correction);  // the correction beside the quantized model, offered
      QTRY_VERIFY2(status->text().startsWith(QStringLiteral("✓ LoRA rank 4 on ")), qPrintable(status->text()));
      QVERIFY2(status->text().contains("made for int2"), qPrintable(status->text()));
      QTest::keyClicks(wizard.findChild<QLineEdit*>("wizardAlpaca"), alpaca);
      QTRY_VERIFY(wizard.button(QWizard::NextButton)->isEnabled());
      // A folder that is not an adapter is explained, and holds the wizard on this page.
      adapter->clear();
      QTest::keyClicks(adapter, dir.path());
      QTRY_VERIFY2(status->text().contains("has no adapter_config.json"), qPrintable(status->text()));
      QVERIFY(!wizard.button(QWizard::NextButton)->isEnabled());
      adapter->clear();
      QTest::keyClicks(adapter, correction);
      QTRY_VERIFY(wizard.button(QWizard::NextButton)->isEnabled());
      QTest::mouseClick(wizard.button(QWizard::NextButton), Qt::LeftButton);
      QCOMPARE(wizard.currentId(), int(RunWizard::SettingsPageId));
      const QString command = wizard.findChild<QPlainTextEdit*>("wizardCommands")->toPlainText();
      QVERIFY2(command.startsWith("lowbit finetune " + quantized) && command.contains(" --adapters " + correction), qPrintable(command));
      expectCommandsAreTheRun(wizard);
      const auto job = std::dynamic_pointer_cast<lowbit::train::RunPlanJob>(wizard.makeJob());
      QCOMPARE(job->plan().finetune->base_adapters, std::vector<fs::path>{correction.toStdString()});
    }
    {
      // The same adapter for the full-precision model it was not made for: refused, saying which model it fits.
      RunWizard wizard;
      openDataPage(wizard, original);
      auto* adapter = wizard.findChild<QLineEdit*>("wizardBaseAdapter");
      QVERIFY(adapter->text().isEmpty());  // nothing made for this model beside it
      QTest::keyClicks(wizard.findChild<QLineEdit*>("wizardAlpaca"), alpaca);
      QTRY_VERIFY(wizard.button(QWizard::NextButton)->isEnabled());
      QTest::keyClicks(adapter, correction);
      auto* status = wizard.findChild<QLabel*>("wizardBaseAdapterStatus");
      QTRY_VERIFY2(status->text().contains("was made for " + quantized + ", not for " + original), qPrintable(status->text()));
      QVERIFY(!wizard.button(QWizard::NextButton)->isEnabled());
    }
  }
};

QTEST_MAIN(TestRunWizard)
#include "test_run_wizard.moc"
