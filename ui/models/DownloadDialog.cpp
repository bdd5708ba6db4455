#include "ui/models/DownloadDialog.h"

#include <QCheckBox>
#include <QDir>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QRegularExpression>
#include <QSettings>
#include <QTreeWidget>
#include <QVBoxLayout>

#include "core/hub/hub_download.h"
#include "core/library/model_library.h"
#include "core/train/metric_names.h"
#include "core/util/errors.h"
#include "core/util/format.h"
#include "ui/jobs/JobRunner.h"
#include "ui/util/Eta.h"

namespace lowbit::ui {
namespace {

constexpr const char* kTokenSetting = "hub/token";

// The listing and, from its config.json, what each task needs on this machine's GPU: core calls, on the worker.
class ListRepoJob : public jobs::Job {
 public:
  explicit ListRepoJob(hub::HubRepo repo) : repo_(std::move(repo)) {}
  std::string title() const override { return "List files"; }
  void run(jobs::JobEvents&, const jobs::CancelToken& cancel) override {
    listing = hub::list_hub_repo(repo_, cancel);
    if (listing.config.is_null()) return;
    try {
      gpu = library::first_gpu_memory();
      tasks = library::estimate_tasks(listing.config, repo_.repo_id + "/config.json", gpu.free_bytes);
    } catch (const InputError& e) {
      unusable = e.what();
    }
  }

  hub::HubListing listing;
  library::GpuMemory gpu;
  std::vector<library::TaskFit> tasks;
  std::string unusable;

 private:
  hub::HubRepo repo_;
};

QString bytes(int64_t count) { return QString::fromStdString(format_bytes(count)); }

}  // namespace

DownloadDialog::DownloadDialog(const QString& modelsFolder, QWidget* parent)
    : QDialog(parent),
      m_modelsFolder(modelsFolder),
      m_listRunner(new JobRunner(this)),
      m_downloadRunner(new JobRunner(this)) {
  setWindowTitle(tr("Download a model from Hugging Face"));
  setObjectName(QStringLiteral("downloadDialog"));
  auto* layout = new QVBoxLayout(this);
  auto* form = new QFormLayout;
  m_repo = new QLineEdit(this);
  m_repo->setObjectName(QStringLiteral("downloadRepo"));
  m_repo->setPlaceholderText(tr("owner/name, or its huggingface.co address, e.g. HuggingFaceTB/SmolLM2-135M-Instruct"));
  m_revision = new QLineEdit(QStringLiteral("main"), this);
  m_revision->setObjectName(QStringLiteral("downloadRevision"));
  m_token = new QLineEdit(this);
  m_token->setObjectName(QStringLiteral("downloadToken"));
  m_token->setEchoMode(QLineEdit::Password);
  m_token->setPlaceholderText(tr("only for gated or private models (huggingface.co → Settings → Access Tokens)"));
  const QString saved = QSettings().value(QLatin1String(kTokenSetting)).toString();
  m_token->setText(saved.isEmpty() ? QString::fromStdString(hub::default_hub_token()) : saved);
  m_rememberToken = new QCheckBox(tr("Remember the token on this computer"), this);
  m_rememberToken->setObjectName(QStringLiteral("downloadRememberToken"));
  m_rememberToken->setChecked(!saved.isEmpty());
  m_list = new QPushButton(tr("List files"), this);
  m_list->setObjectName(QStringLiteral("downloadList"));
  m_list->setDefault(true);
  auto* repoRow = new QHBoxLayout;
  repoRow->addWidget(m_repo, 1);
  repoRow->addWidget(m_list);
  form->addRow(tr("Repository"), repoRow);
  form->addRow(tr("Revision"), m_revision);
  form->addRow(tr("Token"), m_token);
  form->addRow(QString(), m_rememberToken);
  layout->addLayout(form);

  m_files = new QTreeWidget(this);
  m_files->setObjectName(QStringLiteral("downloadFiles"));
  m_files->setHeaderLabels({tr("File"), tr("Size"), tr("Note")});
  m_files->setRootIsDecorated(false);
  m_files->header()->setSectionResizeMode(0, QHeaderView::Stretch);
  layout->addWidget(m_files, 1);
  m_summary = new QLabel(this);
  m_summary->setObjectName(QStringLiteral("downloadSummary"));
  m_fit = new QLabel(this);
  m_fit->setObjectName(QStringLiteral("downloadFit"));
  m_fit->setWordWrap(true);
  layout->addWidget(m_summary);
  layout->addWidget(m_fit);
  m_status = new QLabel(this);
  m_status->setObjectName(QStringLiteral("downloadStatus"));
  m_status->setWordWrap(true);
  m_status->setTextInteractionFlags(Qt::TextSelectableByMouse);
  layout->addWidget(m_status);
  m_progress = new QProgressBar(this);
  m_progress->setObjectName(QStringLiteral("downloadProgress"));
  m_progress->hide();
  layout->addWidget(m_progress);
  auto* buttons = new QHBoxLayout;
  m_download = new QPushButton(tr("Download"), this);
  m_download->setObjectName(QStringLiteral("downloadStart"));
  m_download->setEnabled(false);
  m_cancel = new QPushButton(tr("Cancel"), this);
  m_cancel->setObjectName(QStringLiteral("downloadCancel"));
  m_cancel->setToolTip(tr("Stops the download and keeps what arrived: Download again resumes it"));
  m_cancel->setEnabled(false);
  auto* close = new QPushButton(tr("Close"), this);
  buttons->addStretch(1);
  buttons->addWidget(m_download);
  buttons->addWidget(m_cancel);
  buttons->addWidget(close);
  layout->addLayout(buttons);
  resize(720, 520);

  connect(m_list, &QPushButton::clicked, this, &DownloadDialog::listFiles);
  connect(m_repo, &QLineEdit::returnPressed, this, &DownloadDialog::listFiles);
  connect(m_download, &QPushButton::clicked, this, &DownloadDialog::startDownload);
  connect(m_cancel, &QPushButton::clicked, m_downloadRunner, &JobRunner::cancel);
  connect(close, &QPushButton::clicked, this, &QDialog::reject);
  connect(m_files, &QTreeWidget::itemChanged, this, &DownloadDialog::updateSummary);

  connect(m_listRunner, &JobRunner::jobFailed, this, [this](const QString& message) {
    setBusy(false);
    showProblem(message);
  });
  connect(m_downloadRunner, &JobRunner::metricReported, this, [this](const jobs::Metric& metric) {
    if (metric.name == train::metrics::kDownloadSpeed) m_bytesPerSecond = metric.value;
  });
  connect(m_downloadRunner, &JobRunner::progressed, this, [this](const jobs::Progress& progress) {
    const int64_t unit = progress.phase == "MiB" ? (int64_t{1} << 20) : (int64_t{1} << 10);
    m_progress->setMaximum(static_cast<int>(std::max<int64_t>(1, progress.total)));
    m_progress->setValue(static_cast<int>(std::min(progress.done, progress.total)));
    m_progress->setFormat(tr("%1 of %2 · %3/s · %4 left")
                              .arg(bytes(progress.done * unit), bytes(progress.total * unit),
                                   bytes(static_cast<int64_t>(m_bytesPerSecond)), formatEta(progress.eta_s)));
  });
  connect(m_downloadRunner, &JobRunner::lineLogged, this, [this](const jobs::LogLine& line) {
    m_status->setText(QString::fromStdString(line.text));
  });
  connect(m_downloadRunner, &JobRunner::jobFailed, this, [this](const QString& message) {
    setBusy(false);
    showProblem(message);
  });
  connect(m_downloadRunner, &JobRunner::jobCancelled, this, [this] {
    setBusy(false);
    m_status->setText(tr("Stopped. What arrived is kept in %1.partial: Download resumes it.").arg(m_destination));
  });
}

QString DownloadDialog::repoIdFrom(const QString& typed) {
  QString text = typed.trimmed();
  static const QRegularExpression address(QStringLiteral("^(https?://)?(www\\.)?(huggingface\\.co|hf\\.co)/"));
  text.remove(address);
  const QStringList parts = text.split(QLatin1Char('/'), Qt::SkipEmptyParts);
  if (parts.size() >= 2 && text != typed.trimmed()) return parts[0] + QLatin1Char('/') + parts[1];
  return text;
}

void DownloadDialog::updateSummary() {
  int64_t total = 0;
  int count = 0;
  for (int i = 0; i < m_files->topLevelItemCount(); ++i) {
    const QTreeWidgetItem* item = m_files->topLevelItem(i);
    if (item->checkState(0) != Qt::Checked) continue;
    total += item->data(1, Qt::UserRole).toLongLong();
    ++count;
  }
  m_summary->setText(tr("%n file(s) to download, %1, into %2", nullptr, count).arg(bytes(total), m_destination));
  m_download->setEnabled(count > 0 && !m_downloadRunner->isRunning());
}

void DownloadDialog::setBusy(bool busy) {
  m_list->setEnabled(!busy);
  m_repo->setEnabled(!busy);
  m_revision->setEnabled(!busy);
  m_token->setEnabled(!busy);
  m_files->setEnabled(!busy);
  m_cancel->setEnabled(busy && m_downloadRunner->isRunning());
  m_download->setEnabled(!busy && m_files->topLevelItemCount() > 0);
}

void DownloadDialog::showProblem(const QString& message) {
  QString shown = message;
  if (!m_token->text().isEmpty()) shown.replace(m_token->text(), QStringLiteral("(token)"));
  m_status->setText(shown);
  m_progress->hide();
}

void DownloadDialog::listFiles() {
  if (m_listRunner->isRunning() || m_downloadRunner->isRunning()) return;
  hub::HubRepo repo;
  repo.repo_id = repoIdFrom(m_repo->text()).toStdString();
  repo.revision = m_revision->text().trimmed().isEmpty() ? "main" : m_revision->text().trimmed().toStdString();
  repo.token = m_token->text().trimmed().toStdString();
  m_files->clear();
  m_summary->clear();
  m_fit->clear();
  m_status->setText(tr("Listing the files of %1…").arg(QString::fromStdString(repo.repo_id)));
  setBusy(true);
  m_cancel->setEnabled(false);
  auto job = std::make_shared<ListRepoJob>(repo);
  m_listRunner->start(job, [this, job] {
    setBusy(false);
    m_status->setText(job->listing.problem.empty()
                          ? QString()
                          : tr("%1: %2").arg(QString::fromStdString(job->listing.problem),
                                             QString::fromStdString(job->listing.remedy)));
    showListing(job->listing);
    if (!job->unusable.empty()) {
      m_fit->setText(tr("LowBit cannot run this model: %1").arg(QString::fromStdString(job->unusable)));
    } else if (!job->tasks.empty()) {
      QStringList parts;
      for (const library::TaskFit& task : job->tasks) {
        parts << tr("%1 %2 (%3)").arg(QString::fromStdString(task.task), bytes(task.needed_bytes),
                                      QString::fromUtf8(train::fit_name(task.fit)));
      }
      m_fit->setText(tr("On %1: %2").arg(QString::fromStdString(job->gpu.described), parts.join(QStringLiteral(" · "))));
    }
    Q_EMIT listed(m_files->topLevelItemCount());
  });
}

void DownloadDialog::showListing(const hub::HubListing& listing) {
  m_listedRepo = QString::fromStdString(listing.repo_id);
  m_commit = QString::fromStdString(listing.commit);
  const QString name = m_listedRepo.section(QLatin1Char('/'), -1);
  m_destination = m_modelsFolder + QLatin1Char('/') + name;
  for (int n = 2; QFileInfo::exists(m_destination); ++n) {
    m_destination = m_modelsFolder + QLatin1Char('/') + name + QStringLiteral("-%1").arg(n);
  }
  {
    const QSignalBlocker quiet(m_files);
    for (const hub::HubFile& file : listing.files) {
      auto* item = new QTreeWidgetItem(m_files, {QString::fromStdString(file.path), bytes(file.size),
                                                 QString::fromStdString(file.left_out_because)});
      item->setData(1, Qt::UserRole, QVariant::fromValue<qlonglong>(file.size));
      item->setData(0, Qt::UserRole, file.selected);
      const bool pickle = file.left_out_because.find("pickle") != std::string::npos;
      item->setFlags(pickle ? Qt::ItemIsSelectable : (Qt::ItemIsEnabled | Qt::ItemIsUserCheckable | Qt::ItemIsSelectable));
      item->setCheckState(0, file.selected ? Qt::Checked : Qt::Unchecked);
    }
  }
  m_files->resizeColumnToContents(1);
  updateSummary();
}

void DownloadDialog::startDownload() {
  if (m_downloadRunner->isRunning() || m_listedRepo.isEmpty()) return;
  hub::HubRepo repo;
  repo.repo_id = m_listedRepo.toStdString();
  repo.revision = m_commit.toStdString();  // what was listed is what comes, even if the branch moves meanwhile
  repo.token = m_token->text().trimmed().toStdString();
  bool changed = false;
  for (int i = 0; i < m_files->topLevelItemCount(); ++i) {
    const QTreeWidgetItem* item = m_files->topLevelItem(i);
    const bool ticked = item->checkState(0) == Qt::Checked;
    changed |= ticked != item->data(0, Qt::UserRole).toBool();
    if (ticked) repo.include.push_back(item->text(0).toStdString());
  }
  if (!changed) repo.include.clear();  // LowBit's own choice, as listed
  QSettings settings;
  if (m_rememberToken->isChecked() && !m_token->text().trimmed().isEmpty()) {
    settings.setValue(QLatin1String(kTokenSetting), m_token->text().trimmed());
  } else {
    settings.remove(QLatin1String(kTokenSetting));
  }
  QDir().mkpath(m_modelsFolder);
  m_bytesPerSecond = 0;
  m_progress->setValue(0);
  m_progress->setFormat(tr("starting…"));
  m_progress->show();
  m_status->setText(tr("Downloading %1 into %2…").arg(m_listedRepo, m_destination));
  auto job = std::make_shared<hub::HubDownloadJob>(repo, m_destination.toStdString());
  setBusy(true);
  m_download->setEnabled(false);
  m_downloadRunner->start(job, [this, job] {
    setBusy(false);
    m_download->setEnabled(false);
    const hub::HubDownloadResult& r = job->result();
    QString text = tr("Downloaded %1 into %2: %n file(s), %3, every file checked against the Hub's hash.", nullptr,
                      static_cast<int>(r.files))
                       .arg(m_listedRepo, m_destination, bytes(r.bytes_total));
    if (r.bytes_reused > 0) text += QLatin1Char(' ') + tr("%1 came from the earlier, interrupted download.").arg(bytes(r.bytes_reused));
    m_status->setText(text);
    m_progress->setValue(m_progress->maximum());
    Q_EMIT downloaded(m_destination);
  });
  m_cancel->setEnabled(true);
}

}  // namespace lowbit::ui
