// The Models page lists the real stories260K model as a card with its facts and a fit badge per task, scanned
// on a worker thread.
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

 private slots:
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
};

QTEST_MAIN(TestModelsPage)
#include "test_models_page.moc"
