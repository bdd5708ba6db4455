// The Models page lists the real stories260K model as a card with its facts and a fit badge per task, scanned
// on a worker thread.
#include <QDir>
#include <QFileInfo>
#include <QLabel>
#include <QSettings>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

#include <filesystem>

#include "ui/models/ModelsPage.h"

using lowbit::ui::ModelsPage;

class TestModelsPage : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void initTestCase() {
    QStandardPaths::setTestModeEnabled(true);  // QSettings and the default models folder in a test location
    QCoreApplication::setOrganizationName(QStringLiteral("LowBitTests"));
    QCoreApplication::setApplicationName(QStringLiteral("test_models_page"));
    QSettings().clear();  // folders added by an earlier run of this test
  }

  void showsACardPerModelWithFitBadges() {
    const std::filesystem::path models = std::filesystem::path(LOWBIT_TESTDATA_DIR) / "models";
    if (!std::filesystem::exists(models / "stories260K-hf")) QSKIP("stories260K not found (shared test assets missing)");
    ModelsPage page;
    page.show();
    QSignalSpy scanned(&page, &ModelsPage::scanned);
    page.addFolder(QString::fromStdString(models.string()));
    QTRY_VERIFY(scanned.count() >= 1);
    const auto cards = page.findChildren<QWidget*>("modelCard");
    QCOMPARE(cards.size(), 1);  // stories260K-hf; the gguf/llama2.c folders are not HF model folders
    const auto facts = cards[0]->findChild<QLabel*>("modelFacts");
    QVERIFY(facts->text().contains("LlamaForCausalLM, 5 layers, hidden 64"));
    QVERIFY(facts->text().contains("0.26 M parameters"));
    const auto badges = cards[0]->findChildren<QLabel*>("fitBadge");
    QCOMPARE(badges.size(), 3);
    for (QLabel* badge : badges) {
      QVERIFY2(QRegularExpression("(chat|correct \\(LREC\\)|fine-tune \\(EMEF\\)): (fits|tight|exceeds|no GPU)")
                   .match(badge->text()).hasMatch(), qPrintable(badge->text()));
    }
    QVERIFY(page.findChild<QLabel*>("modelsGpu")->text().contains("1 model(s)"));
  }

  // Import GGUF: the file becomes a model folder in the default models folder and its card appears.
  void importsAGgufFileIntoTheLibrary() {
    const std::filesystem::path gguf =
        std::filesystem::path(LOWBIT_TESTDATA_DIR) / "models" / "stories260K" / "stories260K.gguf";
    if (!std::filesystem::exists(gguf)) QSKIP("stories260K.gguf not found (shared test assets missing)");
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
