#include "ui/wizard/ModelPage.h"

#include <QDir>
#include <QFileInfo>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QVBoxLayout>

#include "core/library/model_library.h"
#include "core/model/gguf_import.h"
#include "ui/models/ModelsPage.h"
#include "ui/util/Eta.h"
#include "ui/util/PathField.h"
#include "ui/wizard/CheckWhileTyping.h"

namespace lowbit::ui {

ModelPage::ModelPage(QWidget* parent) : QWizardPage(parent) {
  setTitle(tr("Model"));
  setSubTitle(tr("A Hugging Face LLaMA-family folder (config.json, *.safetensors, tokenizer.json or "
                 "tokenizer.model), full precision or GPTQ-quantized, or a .gguf file to import first."));
  auto* layout = new QVBoxLayout(this);
  m_folder = new QLineEdit(this);
  m_folder->setObjectName(QStringLiteral("wizardModel"));
  m_status = new QLabel(tr("Type or paste the model folder."), this);
  m_status->setObjectName(QStringLiteral("wizardModelStatus"));
  m_status->setWordWrap(true);
  layout->addWidget(withBrowseButton(m_folder, PathKind::Folder, tr("Choose a model folder")));
  layout->addWidget(m_status);
  // A .gguf file (Ollama, LM Studio) is imported into the model library, then used as that folder.
  m_import = new QPushButton(tr("Import into the model library"), this);
  m_import->setObjectName(QStringLiteral("wizardImportGguf"));
  m_import->hide();
  layout->addWidget(m_import, 0, Qt::AlignLeft);
  m_importRunner = new JobRunner(this);
  connect(m_import, &QPushButton::clicked, this, [this] { importGguf(); });
  connect(m_importRunner, &JobRunner::progressed, this, [this](const jobs::Progress& progress) {
    m_status->setText(tr("Importing… %1 / %2 tensors, %3 left").arg(progress.done).arg(progress.total)
                          .arg(formatEta(progress.eta_s)));
  });
  connect(m_importRunner, &JobRunner::jobFailed, this, [this](const QString& message) {
    m_import->setEnabled(true);
    setProblem(message);
  });
  registerField(QStringLiteral("model*"), m_folder);
  checkWhileTyping<library::ModelLibraryJob>(
      this, m_folder,
      [this]() -> std::shared_ptr<library::ModelLibraryJob> {
        m_valid = false;
        Q_EMIT completeChanged();
        const QString folder = m_folder->text().trimmed();
        m_import->setVisible(folder.endsWith(QStringLiteral(".gguf"), Qt::CaseInsensitive) && QFileInfo(folder).isFile());
        if (m_import->isVisible()) {
          m_status->setText(tr("%1 is a GGUF file: import it into the model library to use it (its weights are "
                               "written as a Hugging Face folder)").arg(QFileInfo(folder).fileName()));
          return nullptr;
        }
        if (folder.isEmpty()) return nullptr;
        m_status->setText(tr("Checking…"));
        return std::make_shared<library::ModelLibraryJob>(std::vector<std::filesystem::path>{folder.toStdString()});
      },
      [this](library::ModelLibraryJob* job, const QString& failure) {
        const QString folder = m_folder->text().trimmed();
        if (!job) return setProblem(failure);
        const auto& cards = job->library().cards;
        if (cards.size() != 1 || cards[0].summary.folder != std::filesystem::path(folder.toStdString())) {
          return setProblem(tr("%1 is not a model folder: it has no config.json (a folder of models? pick one of "
                               "them)").arg(folder));
        }
        const library::ModelCard& card = cards[0];
        if (!card.problem.empty()) return setProblem(QString::fromStdString(card.problem));
        if (!card.unusable.empty()) return setProblem(QString::fromStdString(card.unusable));
        m_hidden = static_cast<int>(card.summary.config.hidden_size);
        m_context = static_cast<int>(card.summary.config.max_position_embeddings);
        m_quantized = card.summary.quantization != "none";
        wizard()->setProperty("chatTemplate", card.summary.has_chat_template);
        m_status->setText(tr("✓ %1, %2 layers, %3 M parameters, %4")
                              .arg(QString::fromStdString(card.summary.config.architecture))
                              .arg(card.summary.config.n_layer)
                              .arg(static_cast<double>(card.summary.parameters) / 1e6, 0, 'f', 2)
                              .arg(m_quantized ? QString::fromStdString(card.summary.quantization) : tr("full precision")));
        m_valid = true;
        Q_EMIT completeChanged();
      });
}

void ModelPage::setProblem(const QString& problem) {
  m_status->setText(QStringLiteral("✗ ") + problem);
  m_valid = false;
  Q_EMIT completeChanged();
}

void ModelPage::importGguf() {
  const QString file = m_folder->text().trimmed();
  const QString out = ModelsPage::freshImportFolder(file);
  QDir().mkpath(ModelsPage::defaultModelsFolder());
  model::GgufImportJob::Params params;
  params.gguf_path = file.toStdString();
  params.out_dir = out.toStdString();
  m_import->setEnabled(false);
  m_importRunner->start(std::make_shared<model::GgufImportJob>(params), [this, out] {
    m_import->setEnabled(true);
    m_folder->setText(out);  // checked like any typed folder
  });
}

}  // namespace lowbit::ui
