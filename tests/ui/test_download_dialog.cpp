// The Models page's "Download…" dialog, driven as a person would, against a Hugging Face Hub on loopback
// (tests/e2e/fake_hub.py serving the real stories260K folder, HF_ENDPOINT pointing at it): the file list with sizes
// and LowBit's choice (pickles never), whether the model fits, progress with speed, Cancel keeping what arrived and
// Download resuming it, the finished model equal byte for byte and on the Models page; a gated model's message.
#include <QCheckBox>
#include <QDir>
#include <QFile>
#include <QLabel>
#include <QLineEdit>
#include <QProcess>
#include <QProgressBar>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTreeWidget>
#include <QtTest>

#include <filesystem>
#include <fstream>

#include "ui/models/DownloadDialog.h"
#include "ui/models/ModelsPage.h"

using lowbit::ui::DownloadDialog;
using lowbit::ui::ModelsPage;
namespace fs = std::filesystem;

namespace {

const fs::path kStories = fs::path(LOWBIT_TESTDATA_DIR) / "models" / "stories260K-hf";
const char* const kToken = "hf_loopbackTokenForTheDialogTest";

template <class Widget>
Widget* child(QWidget* in, const char* name) {
  auto* found = in->findChild<Widget*>(QLatin1String(name));
  if (found == nullptr) qFatal("no widget %s", name);
  return found;
}

QByteArray bytesOf(const fs::path& file) {
  QFile in(QString::fromStdString(file.string()));
  if (!in.open(QIODevice::ReadOnly)) return {};
  return in.readAll();
}

// fake_hub.py on two loopback ports; HF_ENDPOINT points at it while the object lives.
class LoopbackHub {
 public:
  LoopbackHub(const QString& repos, const QStringList& options) {
    m_ports = m_dir.path() + QStringLiteral("/ports");
    m_process.setProcessChannelMode(QProcess::ForwardedChannels);
    m_process.start(QStringLiteral(LOWBIT_PYTHON),
                    QStringList{QStringLiteral(LOWBIT_SOURCE_DIR "/tests/e2e/fake_hub.py"), QStringLiteral("--root"), repos,
                                QStringLiteral("--ports-file"), m_ports, QStringLiteral("--log"),
                                m_dir.path() + QStringLiteral("/hub.log"), QStringLiteral("--token"),
                                QLatin1String(kToken), QStringLiteral("--gated"), QStringLiteral("test-org/gated")} +
                        options);
  }
  ~LoopbackHub() {
    m_process.kill();
    m_process.waitForFinished();
    qunsetenv("HF_ENDPOINT");
  }
  bool waitUntilListening() {
    for (int i = 0; i < 200 && !QFile::exists(m_ports); ++i) QTest::qWait(50);
    QFile ports(m_ports);
    if (!ports.open(QIODevice::ReadOnly)) return false;
    const QList<QByteArray> numbers = ports.readAll().trimmed().split(' ');
    qputenv("HF_ENDPOINT", "http://127.0.0.1:" + numbers.value(0));
    return true;
  }
  QString log() const {
    QFile in(m_dir.path() + QStringLiteral("/hub.log"));
    return in.open(QIODevice::ReadOnly) ? QString::fromUtf8(in.readAll()) : QString();
  }

 private:
  QTemporaryDir m_dir;
  QString m_ports;
  QProcess m_process;
};

}  // namespace

class TestDownloadDialog : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void initTestCase() {
    QStandardPaths::setTestModeEnabled(true);
    QCoreApplication::setOrganizationName(QStringLiteral("LowBitTests"));
    QCoreApplication::setApplicationName(QStringLiteral("test_download_dialog"));
    QSettings().clear();
    qputenv("NO_PROXY", "127.0.0.1,localhost");
    qputenv("no_proxy", "127.0.0.1,localhost");
    qunsetenv("HF_TOKEN");
    qputenv("HF_HOME", m_repos.path().toUtf8());  // no token saved on this machine takes part
    if (!QFile::exists(QStringLiteral(LOWBIT_PYTHON))) return;
    if (!fs::exists(kStories)) return;
    // Two repositories made of the real stories260K folder: one public (with a pickle that must stay behind), one
    // gated.
    for (const char* name : {"test-org/stories260K", "test-org/gated"}) {
      const fs::path repo = fs::path(m_repos.path().toStdString()) / name;
      fs::create_directories(repo);
      for (const auto& entry : fs::directory_iterator(kStories)) {
        if (entry.is_regular_file()) fs::copy_file(entry.path(), repo / entry.path().filename());
      }
    }
    std::ofstream(fs::path(m_repos.path().toStdString()) / "test-org/stories260K/pytorch_model.bin") << "\x80\x02pickle";
  }

  void init() {
    if (!QFile::exists(QStringLiteral(LOWBIT_PYTHON))) QSKIP("no .venv Python for the loopback hub (scripts/setup.sh)");
    if (!fs::exists(kStories)) QSKIP("stories260K not found (shared test assets missing)");
    QDir(ModelsPage::defaultModelsFolder()).removeRecursively();
  }

  void repositoryAddressesBecomeIds() {
    QCOMPARE(DownloadDialog::repoIdFrom(QStringLiteral(" HuggingFaceTB/SmolLM2-135M-Instruct ")),
             QStringLiteral("HuggingFaceTB/SmolLM2-135M-Instruct"));
    QCOMPARE(DownloadDialog::repoIdFrom(QStringLiteral("https://huggingface.co/HuggingFaceTB/SmolLM2-135M-Instruct/tree/main")),
             QStringLiteral("HuggingFaceTB/SmolLM2-135M-Instruct"));
    QCOMPARE(DownloadDialog::repoIdFrom(QStringLiteral("hf.co/HuggingFaceTB/SmolLM2-135M-Instruct")),
             QStringLiteral("HuggingFaceTB/SmolLM2-135M-Instruct"));
  }

  void listsCancelsResumesAndLandsOnTheModelsPage() {
    LoopbackHub hub(m_repos.path(), {QStringLiteral("--rate"), QStringLiteral("20000")});  // slow: Cancel can land
    QVERIFY(hub.waitUntilListening());
    ModelsPage page;
    page.show();
    DownloadDialog* dialog = page.openDownloadDialog();
    QSignalSpy listed(dialog, &DownloadDialog::listed);
    child<QLineEdit>(dialog, "downloadRepo")->setText(QStringLiteral("https://huggingface.co/test-org/stories260K"));
    QTest::mouseClick(child<QPushButton>(dialog, "downloadList"), Qt::LeftButton);
    QTRY_COMPARE_WITH_TIMEOUT(listed.count(), 1, 30000);

    auto* files = child<QTreeWidget>(dialog, "downloadFiles");
    QMap<QString, QTreeWidgetItem*> rows;
    for (int i = 0; i < files->topLevelItemCount(); ++i) rows[files->topLevelItem(i)->text(0)] = files->topLevelItem(i);
    QVERIFY(rows.contains(QStringLiteral("model.safetensors")));
    QCOMPARE(rows[QStringLiteral("model.safetensors")]->checkState(0), Qt::Checked);
    QCOMPARE(rows[QStringLiteral("config.json")]->checkState(0), Qt::Checked);
    QCOMPARE(rows[QStringLiteral("pytorch_model.bin")]->checkState(0), Qt::Unchecked);
    QVERIFY(!(rows[QStringLiteral("pytorch_model.bin")]->flags() & Qt::ItemIsUserCheckable));  // never downloadable
    QVERIFY2(rows[QStringLiteral("pytorch_model.bin")]->text(2).contains(QStringLiteral("pickle")),
             qPrintable(rows[QStringLiteral("pytorch_model.bin")]->text(2)));
    QVERIFY(!rows[QStringLiteral("model.safetensors")]->text(1).isEmpty());
    const QString fit = child<QLabel>(dialog, "downloadFit")->text();
    QVERIFY2(fit.contains(QStringLiteral("chat")) && fit.contains(QStringLiteral("fine-tune (EMEF)")), qPrintable(fit));
    QVERIFY2(child<QLabel>(dialog, "downloadSummary")->text().contains(dialog->destination()),
             qPrintable(child<QLabel>(dialog, "downloadSummary")->text()));

    // Start at 20 kB/s, cancel once bytes flow: what arrived stays in .partial.
    QTest::mouseClick(child<QPushButton>(dialog, "downloadStart"), Qt::LeftButton);
    auto* progress = child<QProgressBar>(dialog, "downloadProgress");
    QTRY_VERIFY_WITH_TIMEOUT(progress->value() > 0 && progress->text().contains(QStringLiteral("/s")), 30000);
    QVERIFY2(progress->text().contains(QStringLiteral(" of ")) && progress->text().contains(QStringLiteral("left")),
             qPrintable(progress->text()));
    QTest::mouseClick(child<QPushButton>(dialog, "downloadCancel"), Qt::LeftButton);
    auto* status = child<QLabel>(dialog, "downloadStatus");
    QTRY_VERIFY_WITH_TIMEOUT(status->text().startsWith(QStringLiteral("Stopped.")), 30000);
    const fs::path destination = dialog->destination().toStdString();
    QVERIFY(fs::exists(destination.string() + ".partial"));
    QVERIFY(!fs::exists(destination));

    // Download again, at full speed: it resumes and finishes; the model appears on the Models page.
    LoopbackHub fast(m_repos.path(), {});
    QVERIFY(fast.waitUntilListening());
    QSignalSpy downloaded(dialog, &DownloadDialog::downloaded);
    QTest::mouseClick(child<QPushButton>(dialog, "downloadStart"), Qt::LeftButton);
    QTRY_COMPARE_WITH_TIMEOUT(downloaded.count(), 1, 60000);
    QVERIFY2(status->text().contains(QStringLiteral("came from the earlier, interrupted download")), qPrintable(status->text()));
    QVERIFY2(fast.log().contains(QStringLiteral("\"range\": \"bytes=")), "the second download did not resume with a Range");
    for (const char* name : {"model.safetensors", "config.json", "tokenizer.model"}) {
      if (!fs::exists(kStories / name)) continue;
      QVERIFY2(bytesOf(destination / name) == bytesOf(kStories / name), name);
    }
    QVERIFY(!fs::exists(destination / "pytorch_model.bin"));
    QTRY_VERIFY_WITH_TIMEOUT(page.chatChoices().size() >= 1, 60000);
    dialog->close();
  }

  void aGatedModelSaysWhatToDoAndTheTokenOpensIt() {
    LoopbackHub hub(m_repos.path(), {});
    QVERIFY(hub.waitUntilListening());
    ModelsPage page;
    DownloadDialog* dialog = page.openDownloadDialog();
    QSignalSpy listed(dialog, &DownloadDialog::listed);
    child<QLineEdit>(dialog, "downloadToken")->clear();
    child<QLineEdit>(dialog, "downloadRepo")->setText(QStringLiteral("test-org/gated"));
    QTest::mouseClick(child<QPushButton>(dialog, "downloadList"), Qt::LeftButton);
    auto* status = child<QLabel>(dialog, "downloadStatus");
    QTRY_VERIFY_WITH_TIMEOUT(!status->text().startsWith(QStringLiteral("Listing")), 30000);
    QVERIFY2(status->text().contains(QStringLiteral("the model is gated")) &&
                 status->text().contains(QStringLiteral("accept its licence")) && status->text().contains(QStringLiteral("token")),
             qPrintable(status->text()));

    child<QLineEdit>(dialog, "downloadToken")->setText(QLatin1String(kToken));
    child<QCheckBox>(dialog, "downloadRememberToken")->setChecked(false);
    QTest::mouseClick(child<QPushButton>(dialog, "downloadList"), Qt::LeftButton);
    QTRY_COMPARE_WITH_TIMEOUT(listed.count(), 1, 30000);
    QSignalSpy downloaded(dialog, &DownloadDialog::downloaded);
    QTest::mouseClick(child<QPushButton>(dialog, "downloadStart"), Qt::LeftButton);
    QTRY_COMPARE_WITH_TIMEOUT(downloaded.count(), 1, 60000);
    QVERIFY(!status->text().contains(QLatin1String(kToken)));
    QVERIFY(!QSettings().contains(QStringLiteral("hub/token")));  // not remembered unless asked
    dialog->close();
  }

 private:
  QTemporaryDir m_repos;
};

QTEST_MAIN(TestDownloadDialog)
#include "test_download_dialog.moc"
