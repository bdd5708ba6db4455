#include "ui/models/ModelsPage.h"

#include <QDesktopServices>
#include <QDir>
#include <algorithm>
#include <QFileDialog>
#include <QMenu>
#include <QUrl>
#include <QFrame>
#include <QHBoxLayout>
#include <QLabel>
#include <QFileInfo>
#include <QProgressBar>
#include <QPushButton>
#include <QRegularExpression>
#include <QScrollArea>
#include <QSettings>
#include <QStandardPaths>
#include <QVBoxLayout>

#include "core/library/model_library.h"
#include "core/export/gguf_export.h"
#include "core/export/hf_export.h"
#include "core/model/gguf_import.h"
#include "core/util/format.h"
#include "ui/jobs/JobRunner.h"
#include "ui/models/DownloadDialog.h"
#include "ui/util/ErrorDialog.h"
#include "ui/runs/RunsPage.h"
#include "ui/util/Count.h"
#include "ui/util/Eta.h"

namespace lowbit::ui {
namespace {

QString badgeStyle(train::Fit fit) {
  switch (fit) {
    case train::Fit::Fits: return QStringLiteral("background:#2e7d32;color:white;");
    case train::Fit::Tight: return QStringLiteral("background:#f9a825;color:black;");
    case train::Fit::Exceeds: return QStringLiteral("background:#c62828;color:white;");
    case train::Fit::NoGpu: return QStringLiteral("background:#e0e0e0;color:black;");
  }
  return {};
}

// What a task needs, said as an outcome: "no GPU" alone read like a failure, where the task runs on the CPU.
QString badgeText(const library::TaskFit& task) {
  const QString needs = QString::fromStdString(format_bytes(task.needed_bytes));
  const QString name = QString::fromStdString(task.task);
  switch (task.fit) {
    case train::Fit::Fits: return QObject::tr("%1: fits the GPU (needs %2)").arg(name, needs);
    case train::Fit::Tight: return QObject::tr("%1: tight on the GPU (needs %2)").arg(name, needs);
    case train::Fit::Exceeds: return QObject::tr("%1: too big for the GPU (needs %2)").arg(name, needs);
    case train::Fit::NoGpu: return QObject::tr("%1: on the CPU, no GPU found (needs %2 of memory)").arg(name, needs);
  }
  return name;
}

QString adapterKind(const library::ModelCard& card, const std::filesystem::path& folder) {
  for (const library::AdapterInfo& adapter : card.adapters) {
    if (adapter.folder == folder) return QString::fromStdString(adapter.kind);
  }
  return QObject::tr("adapter");
}

// "int2", "int2 + correction (LREC)", "int2 + correction (LREC) + fine-tune (EMEF)".
QVector<ChatChoice> chatChoicesOf(const library::ModelCard& card) {
  QVector<ChatChoice> choices;
  const QString model = QString::fromStdString(card.summary.folder.string());
  for (const auto& stack : card.adapter_stacks()) {
    ChatChoice choice{QDir(model).dirName(), model, {}};
    for (const std::filesystem::path& adapter : stack) {
      choice.label += QStringLiteral(" + ") + adapterKind(card, adapter);
      choice.adapters << QString::fromStdString(adapter.string());
    }
    choices.push_back(choice);
  }
  return choices;
}

QLabel* wrappedLabel(const QString& text, const char* name, QWidget* parent) {
  auto* label = new QLabel(text, parent);
  label->setObjectName(QLatin1String(name));
  label->setWordWrap(true);
  return label;
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
  auto* downloadButton = new QPushButton(tr("Download…"), this);
  downloadButton->setObjectName(QStringLiteral("modelsDownload"));
  downloadButton->setToolTip(tr("Get a model from the Hugging Face Hub into the default models folder"));
  top->addWidget(m_gpu, 1);
  top->addWidget(add);
  top->addWidget(downloadButton);
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
  scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);  // cards wrap their lines to the page's width
  m_cards = new QWidget(scroll);
  m_cardsLayout = new QVBoxLayout(m_cards);
  m_folderRows = new QWidget(m_cards);
  m_folderRows->setObjectName(QStringLiteral("modelFolders"));
  m_folderRowsLayout = new QVBoxLayout(m_folderRows);
  m_folderRowsLayout->setContentsMargins(0, 0, 0, 0);
  m_cardsLayout->addWidget(m_folderRows);
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
  connect(downloadButton, &QPushButton::clicked, this, &ModelsPage::openDownloadDialog);
  connect(cancelImport, &QPushButton::clicked, m_importRunner, &JobRunner::cancel);
  connect(m_importRunner, &JobRunner::progressed, this, [this](const jobs::Progress& progress) {
    m_importProgress->setMaximum(static_cast<int>(std::max<int64_t>(1, progress.total)));
    m_importProgress->setValue(static_cast<int>(progress.done));
    m_importProgress->setFormat(tr("%v / %m %1 · %2 left").arg(QString::fromStdString(progress.phase), formatEta(progress.eta_s)));
  });
  connect(m_importRunner, &JobRunner::jobFailed, this, [this](const QString& message) {
    m_importRow->hide();
    showError(this, message, tr("Import or export failed"));
  });
  connect(m_importRunner, &JobRunner::jobCancelled, this, [this] { m_importRow->hide(); });
  rescan();
}

QString ModelsPage::freshModelsFolder(const QString& name) {
  const QString base = defaultModelsFolder() + QLatin1Char('/') + name;
  QString out = base;
  for (int n = 2; QFileInfo::exists(out) || QFileInfo::exists(out + QStringLiteral(".partial")); ++n) {
    out = base + QStringLiteral("-%1").arg(n);
  }
  return out;
}

QString ModelsPage::freshImportFolder(const QString& ggufFile) {
  return freshModelsFolder(QFileInfo(ggufFile).completeBaseName());
}

DownloadDialog* ModelsPage::openDownloadDialog() {
  auto* dialog = new DownloadDialog(defaultModelsFolder(), this);
  dialog->setAttribute(Qt::WA_DeleteOnClose);
  connect(dialog, &DownloadDialog::downloaded, this, [this](const QString& folder) {
    m_gpu->setText(tr("Downloaded %1").arg(folder));
    rescan();
  });
  dialog->open();
  return dialog;
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

void ModelsPage::exportStack(const ChatChoice& choice, ExportFormat format) {
  if (m_importRunner->isRunning()) return;
  QString name = choice.label;
  name.replace(QRegularExpression(QStringLiteral("[^A-Za-z0-9._-]+")), QStringLiteral("-"));
  const QString suffix = format == ExportFormat::HuggingFace ? QStringLiteral("-merged")
                         : format == ExportFormat::GgufQ8_0  ? QStringLiteral("-gguf-q8_0")
                                                             : QStringLiteral("-gguf-q4_0");
  const QString out = freshModelsFolder(name + suffix);  // an export never replaces a model that is already there
  std::vector<std::filesystem::path> adapters;
  for (const QString& adapter : choice.adapters) adapters.emplace_back(adapter.toStdString());
  std::shared_ptr<jobs::Job> job;
  QString done;
  if (format == ExportFormat::HuggingFace) {
    job = std::make_shared<exporting::HfExportJob>(
        exporting::HfExportOptions{choice.model.toStdString(), adapters, out.toStdString(), exporting::ExportDtype::Float16});
    m_importStatus->setText(tr("Exporting %1 into %2 (merged, fp16; a GPTQ model is dequantized)…").arg(choice.label, out));
    done = tr("Exported %1: a Hugging Face folder that transformers loads").arg(out);
  } else {
    const auto type = format == ExportFormat::GgufQ8_0 ? exporting::GgufExportType::Q8_0 : exporting::GgufExportType::Q4_0;
    job = std::make_shared<exporting::GgufExportJob>(
        exporting::GgufExportOptions{choice.model.toStdString(), adapters, out.toStdString(), type});
    m_importStatus->setText(tr("Exporting %1 into %2 as GGUF %3 (merged, then rounded to %3 blocks)…")
                                .arg(choice.label, out, QLatin1String(exporting::gguf_export_type_name(type))));
    done = tr("Exported %1: a GGUF file for llama.cpp and LM Studio, and a Modelfile for `ollama create`").arg(out);
  }
  m_importProgress->setValue(0);
  m_importRow->show();
  m_importRunner->start(job, [this, out, done] {
    m_importRow->hide();
    m_gpu->setText(done);
    Q_EMIT exported(out);
    rescan();
  });
}

void ModelsPage::addFolder(const QString& folder) {
  if (!m_folders.contains(folder)) m_folders << folder;
  QSettings().setValue(QStringLiteral("models/folders"), m_folders);
  rescan();
}

void ModelsPage::removeFolder(const QString& folder) {
  m_folders.removeAll(folder);
  QSettings().setValue(QStringLiteral("models/folders"), m_folders);
  rescan();
}

QWidget* ModelsPage::makeFolderRow(const library::FolderReport& report) {
  auto* row = new QFrame(m_folderRows);
  row->setObjectName(QStringLiteral("modelFolder"));
  auto* layout = new QVBoxLayout(row);
  layout->setContentsMargins(4, 2, 4, 2);
  const QString folder = QString::fromStdString(report.folder.string());
  auto* top = new QHBoxLayout;
  const QString models = report.models == 0 ? tr("no model") : countOf(report.models, tr("model"), tr("models"));
  auto* title = wrappedLabel(tr("Folder %1 — %2").arg(folder, models), "modelFolderTitle", row);
  title->setTextFormat(Qt::PlainText);
  top->addWidget(title, 1);
  // The default models folder is where imports go: it stays.
  if (folder != defaultModelsFolder()) {
    auto* remove = new QPushButton(tr("Remove from the list"), row);
    remove->setObjectName(QStringLiteral("removeFolder"));
    remove->setToolTip(tr("Stop looking for models in %1 (nothing on disk is deleted)").arg(folder));
    connect(remove, &QPushButton::clicked, this, [this, folder] { removeFolder(folder); });
    top->addWidget(remove);
  }
  layout->addLayout(top);
  for (const std::string& note : report.notes) {
    auto* line = wrappedLabel(QStringLiteral("• ") + QString::fromStdString(note), "modelFolderNote", row);
    line->setTextFormat(Qt::PlainText);
    layout->addWidget(line);
  }
  for (const std::filesystem::path& gguf : report.gguf_files) {
    const QString file = QString::fromStdString(gguf.string());
    auto* import = new QPushButton(tr("Import %1").arg(QFileInfo(file).fileName()), row);
    import->setObjectName(QStringLiteral("importFoundGguf"));
    connect(import, &QPushButton::clicked, this, [this, file] { importGguf(file); });
    layout->addWidget(import, 0, Qt::AlignLeft);
  }
  return row;
}

QWidget* ModelsPage::makeCard(const library::ModelCard& card) {
  auto* frame = new QFrame(m_cards);
  frame->setObjectName(QStringLiteral("modelCard"));
  frame->setFrameShape(QFrame::StyledPanel);
  auto* layout = new QVBoxLayout(frame);
  const QString folder = QString::fromStdString(card.summary.folder.string());
  auto* title = new QLabel(QStringLiteral("<b>%1</b> <span style='color:gray'>%2</span>")
                               .arg(QDir(folder).dirName().toHtmlEscaped(), folder.toHtmlEscaped()), frame);
  title->setObjectName(QStringLiteral("modelTitle"));
  title->setWordWrap(true);
  layout->addWidget(title);
  auto* actions = new QHBoxLayout;
  auto addAction = [&](const QString& text, const char* name, const QString& tip) {
    auto* button = new QPushButton(text, frame);
    button->setObjectName(QLatin1String(name));
    button->setToolTip(tip);
    actions->addWidget(button);
    return button;
  };
  const auto finishActions = [&] {
    QPushButton* open = addAction(tr("Open folder"), "cardOpenFolder", tr("Show %1 in the file manager").arg(folder));
    connect(open, &QPushButton::clicked, this, [folder] { QDesktopServices::openUrl(QUrl::fromLocalFile(folder)); });
    actions->addStretch(1);
    layout->addLayout(actions);
  };
  if (!card.problem.empty() || !card.unusable.empty()) {
    auto* problem = wrappedLabel(QString::fromStdString(card.problem.empty() ? card.unusable : card.problem),
                                 card.problem.empty() ? "modelUnusable" : "modelProblem", frame);
    problem->setTextFormat(Qt::PlainText);
    problem->setStyleSheet(QStringLiteral("color:#c62828;"));
    layout->addWidget(problem);
    finishActions();
    return frame;
  }
  const model::ModelSummary& s = card.summary;
  QStringList dtypes;
  for (const auto& [dtype, count] : s.stored_dtypes) dtypes << QString::fromStdString(dtype);
  const bool quantized = s.quantization != "none";
  auto* facts = wrappedLabel(tr("%1, %2 layers, hidden %3 · %4 M parameters · %5 · %6 · %7 on disk · %8")
                                 .arg(QString::fromStdString(s.config.architecture))
                                 .arg(s.config.n_layer)
                                 .arg(s.config.hidden_size)
                                 .arg(static_cast<double>(s.parameters) / 1e6, 0, 'f', 2)
                                 .arg(dtypes.join(QStringLiteral("/")),
                                      quantized ? QString::fromStdString(s.quantization) : tr("full precision"),
                                      QString::fromStdString(format_bytes(s.weight_file_bytes)),
                                      QString::fromStdString(s.tokenizer).section(QLatin1Char(' '), 0, 0)),
                             "modelFacts", frame);
  facts->setToolTip(tr("Chat template: %1").arg(QString::fromStdString(s.chat_template)));
  layout->addWidget(facts);
  if (!card.made_by_run.empty()) {
    layout->addWidget(wrappedLabel(tr("Made by your run %1").arg(QString::fromStdString(card.made_by_run.string())),
                                   "modelMadeBy", frame));
  }
  if (!card.runs.empty()) {
    QStringList runs;
    for (const library::RunFromModel& run : card.runs) {
      runs << tr("%1 in %2").arg(QString::fromStdString(run.kind), QString::fromStdString(run.folder.string()));
    }
    auto* runLine = wrappedLabel(tr("Your runs from it: %1").arg(runs.join(QStringLiteral("; "))), "modelRuns", frame);
    runLine->setTextFormat(Qt::PlainText);
    layout->addWidget(runLine);
  }
  QStringList adapters;
  for (const library::AdapterInfo& adapter : card.adapters) {
    adapters << tr("%1 in %2").arg(QString::fromStdString(adapter.kind), QString::fromStdString(adapter.folder.string()));
  }
  auto* adapterLine = wrappedLabel(adapters.isEmpty() ? tr("No adapters made for it yet")
                                                      : tr("Adapters made for it: %1").arg(adapters.join(QStringLiteral("; "))),
                                   "modelAdapters", frame);
  adapterLine->setTextFormat(Qt::PlainText);
  layout->addWidget(adapterLine);
  auto* badges = new QHBoxLayout;
  for (const library::TaskFit& task : card.tasks) {
    auto* badge = new QLabel(QStringLiteral(" %1 ").arg(badgeText(task)), frame);
    badge->setObjectName(QStringLiteral("fitBadge"));
    badge->setWordWrap(true);  // three badges share a laptop-wide card: each wraps rather than widening the page
    badge->setStyleSheet(badgeStyle(task.fit) + QStringLiteral("border-radius:4px;padding:2px;"));
    badges->addWidget(badge);
  }
  badges->addStretch(1);
  layout->addLayout(badges);

  const QVector<ChatChoice> stacks = chatChoicesOf(card);
  QPushButton* chat = addAction(tr("Chat"), "cardChat", tr("Chat with this model on the Chat page"));
  if (stacks.size() > 1) {
    // With adapters made for it, the user picks what to chat with: the model alone, or with a stack.
    auto* menu = new QMenu(chat);
    menu->setObjectName(QStringLiteral("cardChatMenu"));
    for (const ChatChoice& choice : stacks) {
      menu->addAction(choice.label, this, [this, choice] { Q_EMIT chatRequested(choice.model, choice.adapters); });
    }
    chat->setMenu(menu);
  } else {
    connect(chat, &QPushButton::clicked, this, [this, folder] { Q_EMIT chatRequested(folder, {}); });
  }
  QPushButton* exportButton = addAction(tr("Export…"), "cardExport",
                                        tr("Merge it and its adapters into one Hugging Face folder, or one GGUF file "
                                           "with an Ollama Modelfile (llama.cpp, Ollama, LM Studio)"));
  auto* exportMenu = new QMenu(exportButton);
  exportMenu->setObjectName(QStringLiteral("cardExportMenu"));
  for (const ChatChoice& choice : stacks) {
    QMenu* stackMenu = exportMenu->addMenu(choice.label);
    stackMenu->setObjectName(QStringLiteral("cardExportStackMenu"));
    addExportActions(stackMenu, [this, choice](ExportFormat format) { exportStack(choice, format); });
  }
  exportButton->setMenu(exportMenu);
  QPushButton* quantize = addAction(tr("Quantize"), "cardQuantize", tr("Make it smaller: a new run that quantizes it"));
  quantize->setEnabled(!quantized);
  if (quantized) quantize->setToolTip(tr("Already quantized (%1)").arg(QString::fromStdString(s.quantization)));
  connect(quantize, &QPushButton::clicked, this, [this, folder] { Q_EMIT runRequested(QStringLiteral("quantize"), folder); });
  QPushButton* correct = addAction(tr("Correct"), "cardCorrect",
                                   quantized ? tr("Repair its quantization damage (LREC)")
                                             : tr("Quantize it, then repair the damage (LREC): a new run"));
  connect(correct, &QPushButton::clicked, this, [this, folder] { Q_EMIT runRequested(QStringLiteral("correct"), folder); });
  QPushButton* finetune = addAction(tr("Fine-tune"), "cardFineTune", tr("Teach it to follow instructions (EMEF): a new run"));
  connect(finetune, &QPushButton::clicked, this, [this, folder] { Q_EMIT runRequested(QStringLiteral("finetune"), folder); });
  finishActions();
  return frame;
}

void ModelsPage::rescan() {
  if (m_runner->isRunning()) {
    m_rescanPending = true;  // a folder was added while scanning: scan again when this scan ends
    return;
  }
  std::vector<std::filesystem::path> folders;
  for (const QString& folder : m_folders) folders.emplace_back(folder.toStdString());
  std::vector<std::filesystem::path> runs;  // what the user's own runs made: quantized models, adapters
  for (const QString& run : RunsPage::recentRuns()) runs.emplace_back(run.toStdString());
  auto job = std::make_shared<library::ModelLibraryJob>(folders, runs);
  m_runner->start(job, [this, job] {
    const library::ModelLibrary& library = job->library();
    while (m_cardsLayout->count() > 2) {
      QLayoutItem* card = m_cardsLayout->takeAt(1);
      delete card->widget();
      delete card;
    }
    while (QLayoutItem* row = m_folderRowsLayout->takeAt(0)) {
      delete row->widget();
      delete row;
    }
    for (const library::FolderReport& report : library.folders) m_folderRowsLayout->addWidget(makeFolderRow(report));
    m_chatChoices.clear();
    m_quantized.clear();
    for (const library::ModelCard& card : library.cards) {
      m_cardsLayout->insertWidget(m_cardsLayout->count() - 1, makeCard(card));
      if (card.problem.empty() && card.unusable.empty()) m_chatChoices += chatChoicesOf(card);
      if (card.summary.quantization != "none") m_quantized << QString::fromStdString(card.summary.folder.string());
    }
    m_gpu->setText(tr("%1 · GPU: %2").arg(countOf(static_cast<int>(library.cards.size()), tr("model"), tr("models")),
                                         QString::fromStdString(library.gpu)));
    if (m_rescanPending) {
      m_rescanPending = false;
      QMetaObject::invokeMethod(this, &ModelsPage::rescan, Qt::QueuedConnection);
      return;
    }
    Q_EMIT scanned(static_cast<int>(library.cards.size()));
  });
}

}  // namespace lowbit::ui
