#include "ui/models/ModelsPage.h"

#include <QDir>
#include <algorithm>
#include <QFileDialog>
#include <QFrame>
#include <QHBoxLayout>
#include <QLabel>
#include <QFileInfo>
#include <QProgressBar>
#include <QPushButton>
#include <QScrollArea>
#include <QSettings>
#include <QStandardPaths>
#include <QVBoxLayout>

#include "core/library/model_library.h"
#include "core/model/gguf_import.h"
#include "core/util/format.h"
#include "ui/jobs/JobRunner.h"
#include "ui/util/ErrorDialog.h"
#include "ui/util/Eta.h"

namespace lowbit::ui {
namespace {

QString badgeStyle(train::Fit fit) {
  switch (fit) {
    case train::Fit::Fits: return QStringLiteral("background:#2e7d32;color:white;");
    case train::Fit::Tight: return QStringLiteral("background:#f9a825;color:black;");
    case train::Fit::Exceeds: return QStringLiteral("background:#c62828;color:white;");
    case train::Fit::NoGpu: return QStringLiteral("background:#757575;color:white;");
  }
  return {};
}

QWidget* makeCard(const library::ModelCard& card, QWidget* parent) {
  auto* frame = new QFrame(parent);
  frame->setObjectName(QStringLiteral("modelCard"));
  frame->setFrameShape(QFrame::StyledPanel);
  auto* layout = new QVBoxLayout(frame);
  const QString folder = QString::fromStdString(card.summary.folder.string());
  auto* title = new QLabel(QStringLiteral("<b>%1</b> <span style='color:gray'>%2</span>")
                               .arg(QDir(folder).dirName().toHtmlEscaped(), folder.toHtmlEscaped()), frame);
  layout->addWidget(title);
  if (!card.problem.empty()) {
    auto* problem = new QLabel(QString::fromStdString(card.problem), frame);
    problem->setObjectName(QStringLiteral("modelProblem"));
    problem->setWordWrap(true);
    problem->setStyleSheet(QStringLiteral("color:#c62828;"));
    layout->addWidget(problem);
    return frame;
  }
  const model::ModelSummary& s = card.summary;
  QStringList dtypes;
  for (const auto& [dtype, count] : s.stored_dtypes) dtypes << QString::fromStdString(dtype);
  auto* facts = new QLabel(QObject::tr("%1, %2 layers, hidden %3 · %4 M parameters · %5 · %6 · %7 on disk · %8")
                               .arg(QString::fromStdString(s.config.architecture))
                               .arg(s.config.n_layer)
                               .arg(s.config.hidden_size)
                               .arg(static_cast<double>(s.parameters) / 1e6, 0, 'f', 2)
                               .arg(dtypes.join(QStringLiteral("/")), QString::fromStdString(s.quantization),
                                    QString::fromStdString(format_bytes(s.weight_file_bytes)),
                                    s.has_tokenizer ? QString::fromStdString(s.tokenizer).section(QLatin1Char(' '), 0, 0)
                                                    : QObject::tr("no tokenizer")),
                           frame);
  facts->setObjectName(QStringLiteral("modelFacts"));
  facts->setToolTip(QObject::tr("Chat template: %1").arg(QString::fromStdString(s.chat_template)));
  facts->setWordWrap(true);
  layout->addWidget(facts);
  QStringList adapters;
  for (const auto& adapter : card.adapters) adapters << QString::fromStdString(adapter.string());
  auto* adapterLine = new QLabel(adapters.isEmpty() ? QObject::tr("No adapters found for it")
                                                    : QObject::tr("Adapters: %1").arg(adapters.join(QStringLiteral("; "))),
                                 frame);
  adapterLine->setObjectName(QStringLiteral("modelAdapters"));
  adapterLine->setWordWrap(true);
  layout->addWidget(adapterLine);
  auto* badges = new QHBoxLayout;
  for (const library::TaskFit& task : card.tasks) {
    auto* badge = new QLabel(QStringLiteral(" %1: %2 (%3) ")
                                 .arg(QString::fromStdString(task.task), QString::fromLatin1(train::fit_name(task.fit)),
                                      QString::fromStdString(format_bytes(task.needed_bytes))),
                             frame);
    badge->setObjectName(QStringLiteral("fitBadge"));
    badge->setStyleSheet(badgeStyle(task.fit) + QStringLiteral("border-radius:4px;padding:2px;"));
    badges->addWidget(badge);
  }
  badges->addStretch(1);
  layout->addLayout(badges);
  return frame;
}

}  // namespace

QString ModelsPage::defaultModelsFolder() {
  return QStandardPaths::writableLocation(QStandardPaths::AppDataLocation) + QStringLiteral("/models");
}

ModelsPage::ModelsPage(QWidget* parent)
    : QWidget(parent), m_runner(new JobRunner(this)), m_importRunner(new JobRunner(this)) {
  auto* layout = new QVBoxLayout(this);
  auto* top = new QHBoxLayout;
  m_gpu = new QLabel(tr("Looking for models…"), this);
  m_gpu->setObjectName(QStringLiteral("modelsGpu"));
  m_gpu->setWordWrap(true);
  auto* add = new QPushButton(tr("Add folder…"), this);
  add->setObjectName(QStringLiteral("modelsAdd"));
  auto* refresh = new QPushButton(tr("Rescan"), this);
  refresh->setObjectName(QStringLiteral("modelsRescan"));
  auto* importButton = new QPushButton(tr("Import GGUF…"), this);
  importButton->setObjectName(QStringLiteral("modelsImportGguf"));
  importButton->setToolTip(tr("Turn a .gguf file (from Ollama, LM Studio or llama.cpp) into a model LowBit can "
                              "quantize, correct, fine-tune and chat with"));
  top->addWidget(m_gpu, 1);
  top->addWidget(add);
  top->addWidget(importButton);
  top->addWidget(refresh);
  layout->addLayout(top);
  m_importRow = new QWidget(this);
  auto* importLayout = new QHBoxLayout(m_importRow);
  importLayout->setContentsMargins(0, 0, 0, 0);
  m_importStatus = new QLabel(m_importRow);
  m_importStatus->setObjectName(QStringLiteral("modelsImportStatus"));
  m_importStatus->setWordWrap(true);
  m_importProgress = new QProgressBar(m_importRow);
  m_importProgress->setObjectName(QStringLiteral("modelsImportProgress"));
  auto* cancelImport = new QPushButton(tr("Cancel"), m_importRow);
  cancelImport->setObjectName(QStringLiteral("modelsImportCancel"));
  importLayout->addWidget(m_importStatus, 1);
  importLayout->addWidget(m_importProgress, 1);
  importLayout->addWidget(cancelImport);
  m_importRow->hide();
  layout->addWidget(m_importRow);
  auto* scroll = new QScrollArea(this);
  scroll->setWidgetResizable(true);
  m_cards = new QWidget(scroll);
  m_cardsLayout = new QVBoxLayout(m_cards);
  m_cardsLayout->addStretch(1);
  scroll->setWidget(m_cards);
  layout->addWidget(scroll, 1);

  QDir().mkpath(defaultModelsFolder());
  m_folders = QSettings().value(QStringLiteral("models/folders")).toStringList();
  if (!m_folders.contains(defaultModelsFolder())) m_folders.prepend(defaultModelsFolder());
  connect(add, &QPushButton::clicked, this, [this] {
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Add a model folder, or a folder of models"));
    if (!dir.isEmpty()) addFolder(dir);
  });
  connect(refresh, &QPushButton::clicked, this, &ModelsPage::rescan);
  connect(importButton, &QPushButton::clicked, this, [this] {
    const QString file = QFileDialog::getOpenFileName(this, tr("Import a GGUF model"), QString(),
                                                      tr("GGUF models (*.gguf);;All files (*)"));
    if (!file.isEmpty()) importGguf(file);
  });
  connect(cancelImport, &QPushButton::clicked, m_importRunner, &JobRunner::cancel);
  connect(m_importRunner, &JobRunner::progressed, this, [this](const jobs::Progress& progress) {
    m_importProgress->setMaximum(static_cast<int>(std::max<int64_t>(1, progress.total)));
    m_importProgress->setValue(static_cast<int>(progress.done));
    m_importProgress->setFormat(tr("%v / %m tensors · %1 left").arg(formatEta(progress.eta_s)));
  });
  connect(m_importRunner, &JobRunner::jobFailed, this, [this](const QString& message) {
    m_importRow->hide();
    showError(this, message, tr("Import failed"));
  });
  connect(m_importRunner, &JobRunner::jobCancelled, this, [this] { m_importRow->hide(); });
  rescan();
}

QString ModelsPage::freshImportFolder(const QString& ggufFile) {
  const QString base = defaultModelsFolder() + QLatin1Char('/') + QFileInfo(ggufFile).completeBaseName();
  QString out = base;
  for (int n = 2; QFileInfo::exists(out) || QFileInfo::exists(out + QStringLiteral(".partial")); ++n) {
    out = base + QStringLiteral("-%1").arg(n);
  }
  return out;
}

void ModelsPage::importGguf(const QString& ggufFile) {
  if (m_importRunner->isRunning()) return;
  const QString out = freshImportFolder(ggufFile);  // importing never replaces a model that is already there
  model::GgufImportJob::Params params;
  params.gguf_path = ggufFile.toStdString();
  params.out_dir = out.toStdString();
  auto job = std::make_shared<model::GgufImportJob>(params);
  m_importStatus->setText(tr("Importing %1 into %2…").arg(QFileInfo(ggufFile).fileName(), out));
  m_importProgress->setValue(0);
  m_importRow->show();
  m_importRunner->start(job, [this, out] {
    m_importRow->hide();
    m_gpu->setText(tr("Imported %1").arg(out));
    Q_EMIT imported(out);
    rescan();
  });
}

void ModelsPage::addFolder(const QString& folder) {
  if (!m_folders.contains(folder)) m_folders << folder;
  QSettings().setValue(QStringLiteral("models/folders"), m_folders);
  rescan();
}

void ModelsPage::rescan() {
  if (m_runner->isRunning()) {
    m_rescanPending = true;  // a folder was added while scanning: scan again when this scan ends
    return;
  }
  std::vector<std::filesystem::path> folders;
  for (const QString& folder : m_folders) folders.emplace_back(folder.toStdString());
  auto job = std::make_shared<library::ModelLibraryJob>(folders);
  m_runner->start(job, [this, job] {
    const library::ModelLibrary& library = job->library();
    while (m_cardsLayout->count() > 1) delete m_cardsLayout->takeAt(0)->widget();
    for (const library::ModelCard& card : library.cards) m_cardsLayout->insertWidget(m_cardsLayout->count() - 1, makeCard(card, m_cards));
    m_gpu->setText(tr("%1 model(s) · GPU: %2 · folders: %3")
                       .arg(library.cards.size())
                       .arg(QString::fromStdString(library.gpu), m_folders.join(QStringLiteral("; "))));
    if (m_rescanPending) {
      m_rescanPending = false;
      QMetaObject::invokeMethod(this, &ModelsPage::rescan, Qt::QueuedConnection);
      return;
    }
    Q_EMIT scanned(static_cast<int>(library.cards.size()));
  });
}

}  // namespace lowbit::ui
