// The Models page lists the real stories260K model as a card with its facts and a fit badge per task, scanned
// on a worker thread; each added folder says what it gave (no model, GGUF files to import, files LowBit does not
// read) and can be removed; a model LowBit cannot use says why; the models and adapters of the user's runs join
// the library, and a card's actions lead to Chat (alone or with an adapter stack) and to new runs.
#include <QAction>
#include <QDir>
#include <QFileInfo>
#include <QLabel>
#include <QMenu>
#include <QMessageBox>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "ui/models/ModelsPage.h"

using lowbit::ui::ModelsPage;
namespace fs = std::filesystem;

namespace {

const fs::path kModels = fs::path(LOWBIT_TESTDATA_DIR) / "models";

QLabel* label(QWidget* in, const char* name) {
  QLabel* found = in->findChild<QLabel*>(QLatin1String(name));
  if (found == nullptr) qFatal("no label %s", name);
  return found;
}

QWidget* folderRow(ModelsPage& page, const QString& folder) {
  for (QWidget* row : page.findChildren<QWidget*>(QStringLiteral("modelFolder"))) {
    if (row->findChild<QLabel*>(QStringLiteral("modelFolderTitle"))->text().startsWith(QStringLiteral("Folder ") + folder + QStringLiteral(" —"))) return row;
  }
  return nullptr;
}

QStringList texts(QWidget* in, const char* name) {
  QStringList all;
  for (QLabel* found : in->findChildren<QLabel*>(QLatin1String(name))) all << found->text();
  return all;
}

void writeJson(const fs::path& file, const std::string& json) {
  fs::create_directories(file.parent_path());
  std::ofstream(file) << json;
}

// Rescans and waits for the scan that follows.
void scanWith(ModelsPage& page, const QString& folder) {
  QSignalSpy scanned(&page, &ModelsPage::scanned);
  page.addFolder(folder);
  QTRY_VERIFY_WITH_TIMEOUT(scanned.count() >= 1, 60000);
}

}  // namespace

class TestModelsPage : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void initTestCase() {
    QStandardPaths::setTestModeEnabled(true);  // QSettings and the default models folder in a test location
    QCoreApplication::setOrganizationName(QStringLiteral("LowBitTests"));
    QCoreApplication::setApplicationName(QStringLiteral("test_models_page"));
    QSettings().clear();  // folders added by an earlier run of this test
  }

  void init() {
    QDir(ModelsPage::defaultModelsFolder()).removeRecursively();  // models an earlier test exported or imported
    QSettings().remove(QStringLiteral("models/folders"));
    QSettings().remove(QStringLiteral("runs/recent"));
  }

  void showsACardPerModelWithFitBadges() {
    if (!fs::exists(kModels / "stories260K-hf")) QSKIP("stories260K not found (shared test assets missing)");
    ModelsPage page;
    page.show();
    scanWith(page, QString::fromStdString(kModels.string()));
    const auto cards = page.findChildren<QWidget*>("modelCard");
    QCOMPARE(cards.size(), 1);  // stories260K-hf; the gguf/llama2.c folders are not HF model folders
    const auto facts = cards[0]->findChild<QLabel*>("modelFacts");
    QVERIFY(facts->text().contains("LlamaForCausalLM, 5 layers, hidden 64"));
    QVERIFY(facts->text().contains("0.26 M parameters"));
    const auto badges = cards[0]->findChildren<QLabel*>("fitBadge");
    QCOMPARE(badges.size(), 3);
    for (QLabel* badge : badges) {
      // Said as an outcome: on a machine without a GPU the task runs on the CPU, which is not a failure.
      QVERIFY2(QRegularExpression("^ (chat|correct \\(LREC\\)|fine-tune \\(EMEF\\)): (fits the GPU|tight on the GPU|"
                                  "too big for the GPU|on the CPU, no GPU found) \\(needs [0-9.]+ [KMG]iB( of memory)?\\) $")
                   .match(badge->text()).hasMatch(), qPrintable(badge->text()));
    }
    QVERIFY(label(&page, "modelsGpu")->text().startsWith("1 model · GPU: "));
    QCOMPARE(label(cards[0], "modelAdapters")->text(), QStringLiteral("No adapters made for it yet"));
    for (const char* action : {"cardChat", "cardQuantize", "cardCorrect", "cardFineTune", "cardOpenFolder"}) {
      QVERIFY2(cards[0]->findChild<QPushButton*>(action) != nullptr, action);
    }

    // The files LowBit passes over are named, each GGUF file with its Import button.
    QWidget* row = folderRow(page, QString::fromStdString(kModels.string()));
    QVERIFY(row != nullptr);
    QCOMPARE(label(row, "modelFolderTitle")->text(), QStringLiteral("Folder %1 — 1 model").arg(QString::fromStdString(kModels.string())));
    const QString notes = texts(row, "modelFolderNote").join("\n");
    QVERIFY2(notes.contains("stories260K/stories260K.gguf is a GGUF file: import it to make a model LowBit can use"), qPrintable(notes));
    QVERIFY2(notes.contains("stories260K/stories260K.bin: LowBit does not read .bin files"), qPrintable(notes));
    QStringList imports;
    for (QPushButton* button : row->findChildren<QPushButton*>("importFoundGguf")) imports << button->text();
    QVERIFY2(imports.contains("Import stories260K.gguf"), qPrintable(imports.join(", ")));
    QVERIFY(row->findChild<QPushButton*>("removeFolder") != nullptr);
  }

  // A folder without a model was accepted silently and stayed for good: now it says so and can be removed.
  void anEmptyFolderSaysSoAndCanBeRemoved() {
    QTemporaryDir empty;
    ModelsPage page;
    page.show();
    scanWith(page, empty.path());
    QWidget* row = folderRow(page, empty.path());
    QVERIFY(row != nullptr);
    QCOMPARE(label(row, "modelFolderTitle")->text(), QStringLiteral("Folder %1 — no model").arg(empty.path()));
    QVERIFY(texts(row, "modelFolderNote").join("\n").contains("no model in it"));
    QVERIFY(QSettings().value("models/folders").toStringList().contains(empty.path()));
    QSignalSpy scanned(&page, &ModelsPage::scanned);
    QTest::mouseClick(row->findChild<QPushButton*>("removeFolder"), Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(scanned.count() >= 1, 60000);
    QVERIFY(folderRow(page, empty.path()) == nullptr);
    QVERIFY(!QSettings().value("models/folders").toStringList().contains(empty.path()));
    QVERIFY(!ModelsPage().folders().contains(empty.path()));  // and stays removed at the next start
    // The default models folder, where imports go, has no Remove.
    QWidget* defaultRow = folderRow(page, ModelsPage::defaultModelsFolder());
    QVERIFY(defaultRow != nullptr);
    QVERIFY(defaultRow->findChild<QPushButton*>("removeFolder") == nullptr);
  }

  // A model without a tokenizer showed normal fit badges and a grey "no tokenizer.model".
  void aModelLowBitCannotUseSaysWhyAndOffersNoTasks() {
    if (!fs::exists(kModels / "stories260K-hf")) QSKIP("stories260K not found (shared test assets missing)");
    QTemporaryDir root;
    const fs::path model = fs::path(root.path().toStdString()) / "no-tokenizer";
    fs::create_directories(model);
    for (const char* file : {"config.json", "model.safetensors"}) fs::copy_file(kModels / "stories260K-hf" / file, model / file);
    ModelsPage page;
    page.show();
    scanWith(page, root.path());
    const auto cards = page.findChildren<QWidget*>("modelCard");
    QCOMPARE(cards.size(), 1);
    const QString why = label(cards[0], "modelUnusable")->text();
    QVERIFY2(why.startsWith("cannot be used: ") && why.contains("has no tokenizer (tokenizer.json or tokenizer.model)"), qPrintable(why));
    QVERIFY(cards[0]->findChildren<QLabel*>("fitBadge").isEmpty());
    QVERIFY(cards[0]->findChild<QPushButton*>("cardChat") == nullptr);
    QVERIFY(cards[0]->findChild<QPushButton*>("cardOpenFolder") != nullptr);
    QVERIFY(page.chatChoices().isEmpty());
  }

  // The model and adapters a pipeline made appear without adding anything: the run is among the recent runs.
  void aRunsModelAndAdaptersBecomeChatStacksAndCardsLeadToRuns() {
    if (!fs::exists(kModels / "stories260K-hf")) QSKIP("stories260K not found (shared test assets missing)");
    QTemporaryDir root;
    const fs::path run = fs::path(root.path().toStdString()) / "pipeline";
    fs::create_directories(run);
    fs::copy(kModels / "stories260K-hf", run / "int2");
    const std::string model = fs::weakly_canonical(run / "int2").string();
    const std::string lrec = fs::weakly_canonical(run / "lrec").string() + "/adapter";
    const std::string emef = fs::weakly_canonical(run / "emef").string() + "/adapter";
    writeJson(run / "lrec" / "config.json", R"({"kind":"lrec","total_steps":8})");
    writeJson(run / "lrec" / "adapter" / "adapter_config.json", R"({"base_model_name_or_path":")" + model + R"(","r":4})");
    writeJson(run / "emef" / "config.json", R"({"kind":"emef","total_steps":8,"base_adapters":[")" + lrec + R"("]})");
    writeJson(run / "emef" / "adapter" / "adapter_config.json", R"({"base_model_name_or_path":")" + model + R"(","r":4})");
    const fs::path source = kModels / "stories260K-hf";
    writeJson(run / "pipeline.json", R"({"kind":"pipeline","model":")" + source.string() + R"("})");
    QSettings().setValue("runs/recent", QStringList{QString::fromStdString(run.string())});

    ModelsPage page;
    page.show();
    QSignalSpy scanned(&page, &ModelsPage::scanned);
    page.rescan();
    QTRY_VERIFY_WITH_TIMEOUT(scanned.count() >= 1, 60000);
    QCOMPARE(page.findChildren<QWidget*>("modelCard").size(), 1);  // the run's model, with nothing added
    QVERIFY(page.findChildren<QLabel*>("modelRuns").isEmpty());

    // The model it started from, once its folder is added, lists the run.
    scanWith(page, QString::fromStdString(kModels.string()));
    QWidget* sourceCard = nullptr;
    QWidget* runCard = nullptr;
    for (QWidget* card : page.findChildren<QWidget*>("modelCard")) {
      (label(card, "modelTitle")->text().contains(QString::fromStdString(source.string())) ? sourceCard : runCard) = card;
    }
    QVERIFY(sourceCard != nullptr && runCard != nullptr);
    QCOMPARE(label(sourceCard, "modelRuns")->text(),
             QStringLiteral("Your runs from it: pipeline (New run) in %1").arg(QString::fromStdString(run.string())));
    const QList<QWidget*> cards{runCard};
    QCOMPARE(label(cards[0], "modelMadeBy")->text(), QStringLiteral("Made by your run %1").arg(QString::fromStdString(run.string())));
    const QString adapters = label(cards[0], "modelAdapters")->text();
    QVERIFY2(adapters == QString::fromStdString("Adapters made for it: fine-tune (EMEF) in " + emef + "; correction (LREC) in " + lrec),
             qPrintable(adapters));

    // Chat offers the model alone and each stack, the fine-tune on top of the correction it was trained with.
    auto* menu = cards[0]->findChild<QMenu*>("cardChatMenu");
    QVERIFY(menu != nullptr);
    QStringList labels;
    for (QAction* action : menu->actions()) labels << action->text();
    QCOMPARE(labels, (QStringList{"int2", "int2 + correction (LREC) + fine-tune (EMEF)", "int2 + correction (LREC)"}));
    QCOMPARE(page.chatChoices().size(), 4);  // and stories260K-hf alone
    QSignalSpy chat(&page, &ModelsPage::chatRequested);
    menu->actions()[1]->trigger();
    QCOMPARE(chat.count(), 1);
    QCOMPARE(chat.at(0).at(0).toString(), QString::fromStdString(model));
    QCOMPARE(chat.at(0).at(1).toStringList(), (QStringList{QString::fromStdString(lrec), QString::fromStdString(emef)}));

    QSignalSpy runs(&page, &ModelsPage::runRequested);
    QTest::mouseClick(cards[0]->findChild<QPushButton*>("cardCorrect"), Qt::LeftButton);
    QTest::mouseClick(cards[0]->findChild<QPushButton*>("cardFineTune"), Qt::LeftButton);
    QTest::mouseClick(cards[0]->findChild<QPushButton*>("cardQuantize"), Qt::LeftButton);
    QCOMPARE(runs.count(), 3);
    QCOMPARE(runs.at(0), (QList<QVariant>{"correct", QString::fromStdString(model)}));
    QCOMPARE(runs.at(1), (QList<QVariant>{"finetune", QString::fromStdString(model)}));
    QCOMPARE(runs.at(2), (QList<QVariant>{"quantize", QString::fromStdString(model)}));

    // Export offers the same stacks, each as a Hugging Face folder or a GGUF file. The model alone becomes a
    // merged folder that joins the library, and a Q8_0 GGUF with its Modelfile; a stack whose adapter has no
    // weights (these are made-up folders) is refused with a message, leaving nothing behind.
    auto* exportMenu = runCard->findChild<QMenu*>("cardExportMenu");
    QVERIFY(exportMenu != nullptr);
    QCOMPARE(exportMenu->actions().size(), 3);
    QCOMPARE(exportMenu->actions()[1]->text(), QStringLiteral("int2 + correction (LREC) + fine-tune (EMEF)"));
    QMenu* alone = exportMenu->actions()[0]->menu();
    QVERIFY(alone != nullptr);
    QCOMPARE(alone->actions().size(), 3);
    QSignalSpy exported(&page, &ModelsPage::exported);
    alone->actions()[0]->trigger();
    QTRY_COMPARE_WITH_TIMEOUT(exported.count(), 1, 60000);
    const fs::path merged = exported.at(0).at(0).toString().toStdString();
    QVERIFY2(merged.filename().string() == "int2-merged", merged.c_str());
    QVERIFY(fs::exists(merged / "model.safetensors"));
    std::ifstream mergedConfig(merged / "config.json");
    const std::string configText((std::istreambuf_iterator<char>(mergedConfig)), std::istreambuf_iterator<char>());
    QVERIFY(configText.find("\"float16\"") != std::string::npos);
    QTRY_VERIFY_WITH_TIMEOUT(page.chatChoices().size() == 5, 60000);  // the merged model joined the library
    QMenu* stackMenu = nullptr;
    for (QMenu* candidate : page.findChildren<QMenu*>("cardExportMenu")) {
      if (candidate->actions().size() == 3) stackMenu = candidate;
    }
    QVERIFY(stackMenu != nullptr);
    stackMenu->actions()[0]->menu()->actions()[1]->trigger();  // the model alone, GGUF Q8_0
    QTRY_COMPARE_WITH_TIMEOUT(exported.count(), 2, 60000);
    const fs::path gguf = exported.at(1).at(0).toString().toStdString();
    QVERIFY2(gguf.filename().string() == "int2-gguf-q8_0", gguf.c_str());
    QVERIFY(fs::exists(gguf / "int2.Q8_0.gguf"));
    QVERIFY(fs::exists(gguf / "Modelfile"));
    for (QMenu* candidate : page.findChildren<QMenu*>("cardExportMenu")) {
      if (candidate->actions().size() == 3) stackMenu = candidate;
    }
    stackMenu->actions()[1]->menu()->actions()[0]->trigger();
    QMessageBox* error = nullptr;
    QTRY_VERIFY_WITH_TIMEOUT((error = page.findChild<QMessageBox*>("errorDialog")) != nullptr, 60000);
    QVERIFY2(error->text().contains(QStringLiteral("adapter")), qPrintable(error->text()));
    QCOMPARE(exported.count(), 2);
    error->close();

  }

  // Import GGUF: the file becomes a model folder in the default models folder and its card appears.
  void importsAGgufFileIntoTheLibrary() {
    const fs::path gguf = kModels / "stories260K" / "stories260K.gguf";
    if (!fs::exists(gguf)) QSKIP("stories260K.gguf not found (shared test assets missing)");
    QDir(ModelsPage::defaultModelsFolder() + QStringLiteral("/stories260K")).removeRecursively();
    ModelsPage page;
    page.show();
    QSignalSpy imported(&page, &ModelsPage::imported);
    QSignalSpy scanned(&page, &ModelsPage::scanned);
    page.importGguf(QString::fromStdString(gguf.string()));
    QTRY_COMPARE_WITH_TIMEOUT(imported.count(), 1, 60000);
    const QString folder = imported.at(0).at(0).toString();
    QCOMPARE(folder, ModelsPage::defaultModelsFolder() + QStringLiteral("/stories260K"));
    QVERIFY(QFileInfo::exists(folder + QStringLiteral("/tokenizer.json")));
    QTRY_VERIFY_WITH_TIMEOUT(scanned.count() >= 1 && !page.findChildren<QWidget*>("modelCard").isEmpty(), 30000);
    bool found = false;
    for (QLabel* facts : page.findChildren<QLabel*>("modelFacts")) {
      found = found || facts->text().contains("LlamaForCausalLM, 5 layers, hidden 64");
    }
    QVERIFY(found);
    // A second import of the same file goes into a fresh folder, never over the first.
    page.importGguf(QString::fromStdString(gguf.string()));
    QTRY_COMPARE_WITH_TIMEOUT(imported.count(), 2, 60000);
    QCOMPARE(imported.at(1).at(0).toString(), folder + QStringLiteral("-2"));
    QDir(folder).removeRecursively();
    QDir(folder + QStringLiteral("-2")).removeRecursively();
  }
};

QTEST_MAIN(TestModelsPage)
#include "test_models_page.moc"
