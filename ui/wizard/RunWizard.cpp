#include "core/data/data_preview.h"
#include "core/model/gguf_import.h"
#include "core/model/model_library.h"
#include "core/quant/quantize_job.h"
#include "core/train/emef_job.h"
#include "core/train/lrec_job.h"
#include "core/train/run_plan.h"
#include "ui/wizard/RunWizard.h"

#include <QButtonGroup>
#include <QDateTime>
#include <QDir>
#include <QFileInfo>
#include <QPushButton>
#include <QSettings>
#include <QStandardPaths>
#include <QCheckBox>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QComboBox>
#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QRadioButton>
#include <QSpinBox>
#include <QTimer>
#include <QVBoxLayout>

#include "ui/jobs/JobRunner.h"
#include "ui/models/ModelsPage.h"
#include "ui/util/CommandLine.h"
#include "ui/util/Eta.h"
#include "ui/util/PathField.h"

namespace lowbit::ui {

// The wizard's choices as the jobs they make (defined below, used by the settings page for its estimate).
train::RunPlan planOf(const QWizard& wizard);

namespace {

// Runs `make()`'s job on a worker ~300 ms after the last edit of `field`, then `done(job, "")` on the GUI thread,
// or `done(nullptr, message)` when it fails.
// Returns the timer, so that a page can check a field again (a remembered value, once the model is known).
template <typename JobType, typename Make, typename Done>
QTimer* checkWhileTyping(QWizardPage* page, QLineEdit* field, Make make, Done done) {
  auto* timer = new QTimer(page);
  timer->setSingleShot(true);
  timer->setInterval(300);
  auto* runner = new JobRunner(page);
  QObject::connect(field, &QLineEdit::textChanged, timer, qOverload<>(&QTimer::start));
  QObject::connect(runner, &JobRunner::jobFailed, page, [=](const QString& message) { done(nullptr, message); });
  QObject::connect(timer, &QTimer::timeout, page, [=] {
    if (runner->isRunning()) {
      timer->start();  // the previous check is still reading; check the newest text after it
      return;
    }
    std::shared_ptr<JobType> job = make();
    if (job) runner->start(job, [=] { done(job.get(), QString()); });
  });
  return timer;
}

class ModelPage : public QWizardPage {
 public:
  explicit ModelPage(QWidget* parent) : QWizardPage(parent) {
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
    checkWhileTyping<model::ModelLibraryJob>(
        this, m_folder,
        [this]() -> std::shared_ptr<model::ModelLibraryJob> {
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
          return std::make_shared<model::ModelLibraryJob>(std::vector<std::filesystem::path>{folder.toStdString()});
        },
        [this](model::ModelLibraryJob* job, const QString& failure) {
          const QString folder = m_folder->text().trimmed();
          if (!job) return setProblem(failure);
          const auto& cards = job->library().cards;
          if (cards.size() != 1 || cards[0].summary.folder != std::filesystem::path(folder.toStdString())) {
            return setProblem(tr("%1 is not a model folder: it has no config.json (a folder of models? pick one of "
                                 "them)").arg(folder));
          }
          const model::ModelCard& card = cards[0];
          if (!card.problem.empty()) return setProblem(QString::fromStdString(card.problem));
          if (!card.summary.has_tokenizer) return setProblem(tr("%1 has no tokenizer (tokenizer.json or tokenizer.model); copy the model's tokenizer files into it").arg(folder));
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
  bool isComplete() const override { return m_valid; }
  int hidden() const { return m_hidden; }
  int context() const { return m_context; }
  bool quantized() const { return m_quantized; }

 private:
  void setProblem(const QString& problem) {
    m_status->setText(QStringLiteral("✗ ") + problem);
    m_valid = false;
    Q_EMIT completeChanged();
  }
  void importGguf() {
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
  QLineEdit* m_folder;
  QLabel* m_status;
  QPushButton* m_import = nullptr;
  JobRunner* m_importRunner = nullptr;
  bool m_valid = false;
  bool m_quantized = false;
  int m_hidden = 0;
  int m_context = 0;
};

class GoalPage : public QWizardPage {
 public:
  explicit GoalPage(QWidget* parent) : QWizardPage(parent) {
    setTitle(tr("Goal"));
    auto* layout = new QVBoxLayout(this);
    m_group = new QButtonGroup(this);
    const std::pair<const char*, QString> goals[] = {
        {"goalQuantize", tr("Quantize (GPTQ)")},
        {"goalCorrect", tr("Quantize + correct (GPTQ, then LREC adapters distilled from the full model)")},
        {"goalFinetune", tr("Fine-tune (EMEF: LoRA on Alpaca-style instructions)")},
        {"goalPipeline", tr("The full pipeline: quantize → correct → fine-tune (the paper's INT2 + LREC + EMEF)")}};
    int id = 0;
    for (const auto& [name, text] : goals) {
      auto* button = new QRadioButton(text, this);
      button->setObjectName(QString::fromLatin1(name));
      m_group->addButton(button, id++);
      layout->addWidget(button);
    }
    m_group->button(RunWizard::FullPipeline)->setChecked(true);
  }
  int goal() const { return m_group->checkedId(); }
  void setGoal(int goal) { m_group->button(goal)->setChecked(true); }

 private:
  QButtonGroup* m_group;
};

class DataPage : public QWizardPage {
 public:
  explicit DataPage(QWidget* parent) : QWizardPage(parent) {
    setTitle(tr("Data"));
    auto* form = new QFormLayout(this);
    m_calibration = new QLineEdit(this);
    m_calibration->setObjectName(QStringLiteral("wizardCalibration"));
    m_calibration->setPlaceholderText(tr("calibration text (.txt or .jsonl), for GPTQ and LREC"));
    m_alpaca = new QLineEdit(this);
    m_alpaca->setObjectName(QStringLiteral("wizardAlpaca"));
    m_alpaca->setPlaceholderText(tr("instructions in Alpaca JSON/JSONL, for fine-tuning"));
    m_preview = new QPlainTextEdit(this);
    m_preview->setObjectName(QStringLiteral("wizardPreview"));
    m_preview->setReadOnly(true);
    form->addRow(tr("Calibration text"), withBrowseButton(m_calibration, PathKind::File, tr("Choose calibration text"),
                                                          tr("Text (*.txt *.jsonl *.json);;All files (*)")));
    form->addRow(tr("Instructions"), withBrowseButton(m_alpaca, PathKind::File, tr("Choose Alpaca-style instructions"),
                                                      tr("Alpaca data (*.json *.jsonl);;All files (*)")));
    form->addRow(tr("Preview"), m_preview);
    for (QLineEdit* field : {m_calibration, m_alpaca}) {
      const bool instruction = field == m_alpaca;
      QTimer* timer = checkWhileTyping<data::DataPreviewJob>(
          this, field,
          [this, field, instruction]() -> std::shared_ptr<data::DataPreviewJob> {
            (instruction ? m_alpacaOk : m_calibrationOk) = false;
            Q_EMIT completeChanged();
            if (field->text().trimmed().isEmpty()) return nullptr;
            return std::make_shared<data::DataPreviewJob>(field->text().trimmed().toStdString(),
                                                          field_value("model").toStdString(), instruction, 256);
          },
          [this, instruction](data::DataPreviewJob* job, const QString& failure) {
            QString text;
            if (!job) {
              text = QStringLiteral("✗ ") + failure;
            } else {
              const data::DataPreview& p = job->preview();
              text = tr("✓ %1, %2 records; %3\n").arg(QString::fromStdString(p.format)).arg(p.records)
                         .arg(QString::fromStdString(p.statistics));
              if (!p.problems.empty()) {
                text += tr("%1 record(s) will be left out:\n").arg(p.problems.size());
                for (const std::string& problem : p.problems) text += QStringLiteral("  ") + QString::fromStdString(problem) + QLatin1Char('\n');
              }
              text += tr("\nFirst example:\n") + QString::fromStdString(p.first_example);
              (instruction ? m_alpacaOk : m_calibrationOk) = true;
              if (instruction) {
                wizard()->setProperty("alpacaRecords", static_cast<qlonglong>(p.records));
                wizard()->setProperty("alpacaMeanTokens", p.mean_tokens);
              }
            }
            m_preview->setPlainText(text);
            Q_EMIT completeChanged();
          });
      m_checks.push_back({field, timer});
    }
    registerField(QStringLiteral("calibration"), m_calibration);
    registerField(QStringLiteral("alpaca"), m_alpaca);
  }
  void initializePage() override {
    const int goal = field_value("goal").toInt();
    m_needsCalibration = goal != RunWizard::FineTune;
    m_needsAlpaca = goal == RunWizard::FineTune || goal == RunWizard::FullPipeline;
    m_calibration->setEnabled(m_needsCalibration);
    m_alpaca->setEnabled(m_needsAlpaca);
    // Remembered files are checked now that the model (whose tokenizer counts the tokens) is known.
    for (const auto& [field, timer] : m_checks) {
      if (!field->text().trimmed().isEmpty()) timer->start();
    }
  }
  bool isComplete() const override {
    return (!m_needsCalibration || m_calibrationOk) && (!m_needsAlpaca || m_alpacaOk);
  }

 private:
  QString field_value(const char* name) const { return wizard()->property(name).toString(); }
  QLineEdit* m_calibration;
  QLineEdit* m_alpaca;
  QPlainTextEdit* m_preview;
  std::vector<std::pair<QLineEdit*, QTimer*>> m_checks;
  bool m_calibrationOk = false, m_alpacaOk = false, m_needsCalibration = true, m_needsAlpaca = true;
};

// The paper's presets behind each bit width (Table 4 for LREC), shown next to the choice.
QString presetDescription(int bits) {
  switch (bits) {
    case 2: return QObject::tr("INT2, group size 32/128: LREC preset int2 — rank 32 on all projections, λ_CE 120, lr 3e-5");
    case 3: return QObject::tr("INT3: LREC preset int3 — rank 32 on all projections, λ_CE 40, lr 2e-5");
    case 4: return QObject::tr("INT4: LREC preset int4 — rank 32 on all projections, λ_CE 10, lr 1e-5");
    default: return QObject::tr("INT8: nearly lossless; LREC uses the int4 preset");
  }
}

class SettingsPage : public QWizardPage {
 public:
  explicit SettingsPage(RunWizard* wizard) : QWizardPage(wizard), m_wizard(wizard) {
    setTitle(tr("Settings"));
    setSubTitle(tr("The paper's presets are filled in; Advanced shows every setting. The estimate is for the device "
                   "the run will use."));
    auto* layout = new QVBoxLayout(this);
    auto* form = new QFormLayout;
    m_bits = new QComboBox(this);
    m_bits->setObjectName(QStringLiteral("wizardBits"));
    m_bits->addItems({QStringLiteral("2"), QStringLiteral("3"), QStringLiteral("4"), QStringLiteral("8")});
    m_presetInfo = new QLabel(this);
    m_presetInfo->setObjectName(QStringLiteral("wizardPresetInfo"));
    m_presetInfo->setWordWrap(true);
    m_steps = spinBox("wizardSteps", 1, 1000000, 200);
    m_epochs = spinBox("wizardEpochs", 1, 100, 3);
    m_device = new QComboBox(this);
    m_device->setObjectName(QStringLiteral("wizardDevice"));
    m_device->addItems({QStringLiteral("auto"), QStringLiteral("cuda"), QStringLiteral("cpu")});
    m_device->setToolTip(tr("auto: the GPU when one is usable, else the CPU"));
    m_output = new QLineEdit(this);
    m_output->setObjectName(QStringLiteral("wizardOutput"));
    m_output->setPlaceholderText(tr("a new folder for everything the run makes"));
    form->addRow(tr("Bits"), m_bits);
    form->addRow(QString(), m_presetInfo);
    form->addRow(tr("Correction steps"), m_steps);
    form->addRow(tr("Fine-tuning epochs"), m_epochs);
    m_emefTemplate = new QComboBox(this);
    m_emefTemplate->setObjectName(QStringLiteral("wizardEmefTemplate"));
    m_emefTemplate->addItem(tr("Alpaca (alpaca-lora's template, as the paper's EMEF runs)"));
    m_emefTemplate->addItem(tr("The model's own chat template (instruction as the user turn, output as the reply)"));
    form->addRow(tr("Fine-tuning prompt"), m_emefTemplate);
    form->addRow(tr("Device"), m_device);
    form->addRow(tr("Output folder"), withBrowseButton(m_output, PathKind::Folder, tr("Choose where the run writes")));
    layout->addLayout(form);

    m_advanced = new QCheckBox(tr("Advanced settings"), this);
    m_advanced->setObjectName(QStringLiteral("wizardAdvanced"));
    layout->addWidget(m_advanced, 0, Qt::AlignLeft);
    m_advancedBox = new QGroupBox(this);
    m_advancedBox->setObjectName(QStringLiteral("wizardAdvancedBox"));
    auto* grid = new QFormLayout(m_advancedBox);
    const quant::QuantizeParams quantizeDefaults;
    const train::LrecParams lrecDefaults;
    const train::EmefParams emefDefaults;
    m_groupSize = new QComboBox(this);
    m_groupSize->setObjectName(QStringLiteral("wizardGroupSize"));
    m_groupSize->addItems({tr("auto"), QStringLiteral("32"), QStringLiteral("64"), QStringLiteral("128"), QStringLiteral("-1")});
    m_groupSize->setToolTip(tr("auto: 128 when the hidden size allows it, else 32; -1: one group per row"));
    m_actOrder = new QCheckBox(tr("act-order (columns by decreasing Hessian diagonal)"), this);
    m_actOrder->setObjectName(QStringLiteral("wizardActOrder"));
    m_actOrder->setChecked(true);
    m_samples = spinBox("wizardSamples", 1, 100000, static_cast<int>(quantizeDefaults.nsamples));
    m_quantizeSeqlen = spinBox("wizardQuantizeSeqlen", 16, 32768, static_cast<int>(quantizeDefaults.seqlen));
    m_lrecRank = spinBox("wizardLrecRank", 1, 1024, static_cast<int>(lrecDefaults.lora.rank));
    m_lrecSeqlen = spinBox("wizardLrecSeqlen", 16, 32768, static_cast<int>(lrecDefaults.seqlen));
    m_lrecMicroBatch = spinBox("wizardLrecMicroBatch", 1, 1024, static_cast<int>(lrecDefaults.micro_batch));
    m_emefRank = spinBox("wizardEmefRank", 1, 1024, static_cast<int>(emefDefaults.lora.rank));
    m_emefCutoff = spinBox("wizardEmefCutoff", 8, 32768, static_cast<int>(emefDefaults.examples.cutoff));
    m_emefBatch = spinBox("wizardEmefBatch", 1, 4096, static_cast<int>(emefDefaults.batch));
    m_emefMicroBatch = spinBox("wizardEmefMicroBatch", 1, 1024, static_cast<int>(emefDefaults.micro_batch));
    m_emefLr = new QLineEdit(QString::number(emefDefaults.lr), this);
    m_emefLr->setObjectName(QStringLiteral("wizardEmefLr"));
    grid->addRow(tr("GPTQ group size"), m_groupSize);
    grid->addRow(QString(), m_actOrder);
    grid->addRow(tr("GPTQ calibration windows × length"), pair(m_samples, m_quantizeSeqlen));
    grid->addRow(tr("LREC rank"), m_lrecRank);
    grid->addRow(tr("LREC window length, micro-batch"), pair(m_lrecSeqlen, m_lrecMicroBatch));
    grid->addRow(tr("EMEF rank, learning rate"), pair(m_emefRank, m_emefLr));
    grid->addRow(tr("EMEF cutoff (tokens)"), m_emefCutoff);
    grid->addRow(tr("EMEF batch, micro-batch"), pair(m_emefBatch, m_emefMicroBatch));
    m_advancedBox->setVisible(false);
    layout->addWidget(m_advancedBox);

    m_estimate = new QLabel(tr("Estimating…"), this);
    m_estimate->setObjectName(QStringLiteral("wizardEstimate"));
    m_estimate->setWordWrap(true);
    m_estimate->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_commands = new QPlainTextEdit(this);
    m_commands->setObjectName(QStringLiteral("wizardCommands"));
    m_commands->setReadOnly(true);
    m_commands->setMaximumHeight(110);
    layout->addWidget(new QLabel(tr("<b>Memory and time</b>"), this));
    layout->addWidget(m_estimate);
    layout->addWidget(new QLabel(tr("<b>Same in a terminal</b>"), this));
    layout->addWidget(m_commands);

    registerField(QStringLiteral("bits"), m_bits, "currentText");
    registerField(QStringLiteral("steps"), m_steps);
    registerField(QStringLiteral("epochs"), m_epochs);
    registerField(QStringLiteral("device"), m_device, "currentText");
    registerField(QStringLiteral("output*"), m_output);
    registerField(QStringLiteral("advanced"), m_advanced);
    registerField(QStringLiteral("groupSize"), m_groupSize, "currentText");
    registerField(QStringLiteral("actOrder"), m_actOrder);
    registerField(QStringLiteral("samples"), m_samples);
    registerField(QStringLiteral("quantizeSeqlen"), m_quantizeSeqlen);
    registerField(QStringLiteral("lrecRank"), m_lrecRank);
    registerField(QStringLiteral("lrecSeqlen"), m_lrecSeqlen);
    registerField(QStringLiteral("lrecMicroBatch"), m_lrecMicroBatch);
    registerField(QStringLiteral("emefRank"), m_emefRank);
    registerField(QStringLiteral("emefLr"), m_emefLr);
    registerField(QStringLiteral("emefCutoff"), m_emefCutoff);
    registerField(QStringLiteral("emefBatch"), m_emefBatch);
    registerField(QStringLiteral("emefMicroBatch"), m_emefMicroBatch);

    m_estimateTimer = new QTimer(this);
    m_estimateTimer->setSingleShot(true);
    m_estimateTimer->setInterval(400);
    m_estimateRunner = new JobRunner(this);
    connect(m_estimateTimer, &QTimer::timeout, this, &SettingsPage::estimate);
    connect(m_estimateRunner, &JobRunner::jobFailed, this, [this](const QString& message) {
      m_estimate->setText(QStringLiteral("✗ ") + message);
    });
    connect(m_advanced, &QCheckBox::toggled, m_advancedBox, &QWidget::setVisible);
    auto changed = [this] {
      m_presetInfo->setText(presetDescription(m_bits->currentText().toInt()));
      m_commands->setPlainText(m_wizard->commands().join(QLatin1Char('\n')));
      Q_EMIT completeChanged();
      if (isVisible()) m_estimateTimer->start();
    };
    for (QComboBox* box : {m_bits, m_device, m_groupSize, m_emefTemplate}) {
      connect(box, &QComboBox::currentTextChanged, this, changed);
    }
    registerField(QStringLiteral("emefTemplate"), m_emefTemplate);
    for (QSpinBox* box : {m_steps, m_epochs, m_samples, m_quantizeSeqlen, m_lrecRank, m_lrecSeqlen, m_lrecMicroBatch,
                          m_emefRank, m_emefCutoff, m_emefBatch, m_emefMicroBatch}) {
      connect(box, qOverload<int>(&QSpinBox::valueChanged), this, changed);
    }
    for (QCheckBox* box : {m_advanced, m_actOrder}) connect(box, &QCheckBox::toggled, this, changed);
    for (QLineEdit* line : {m_output, m_emefLr}) connect(line, &QLineEdit::textChanged, this, changed);
    m_refresh = changed;
  }
  void initializePage() override {
    if (m_output->text().trimmed().isEmpty()) m_output->setText(m_wizard->suggestedOutputFolder());
    // Windows no longer than the model's context (stories260K: 512; LLaMA-7B: 2048).
    const int context = std::max(16, m_wizard->property("context").toInt());
    for (QSpinBox* seqlen : {m_quantizeSeqlen, m_lrecSeqlen, m_emefCutoff}) seqlen->setMaximum(context);
    const int goal = wizard()->property("goal").toInt();
    const bool quantizes = goal != RunWizard::FineTune, corrects = goal == RunWizard::QuantizeAndCorrect || goal == RunWizard::FullPipeline;
    const bool finetunes = goal == RunWizard::FineTune || goal == RunWizard::FullPipeline;
    m_bits->setEnabled(quantizes);
    m_steps->setEnabled(corrects);
    m_epochs->setEnabled(finetunes);
    const bool hasChatTemplate = m_wizard->property("chatTemplate").toBool();
    if (!hasChatTemplate) m_emefTemplate->setCurrentIndex(0);
    m_emefTemplate->setEnabled(finetunes && hasChatTemplate);
    m_emefTemplate->setToolTip(hasChatTemplate ? tr("Chat with the result in the same template it was tuned in")
                                               : tr("This model has no chat template: it is tuned in Alpaca's"));
    for (QWidget* w : std::initializer_list<QWidget*>{m_groupSize, m_actOrder, m_samples, m_quantizeSeqlen}) w->setEnabled(quantizes);
    for (QWidget* w : std::initializer_list<QWidget*>{m_lrecRank, m_lrecSeqlen, m_lrecMicroBatch}) w->setEnabled(corrects);
    for (QWidget* w : std::initializer_list<QWidget*>{m_emefRank, m_emefLr, m_emefCutoff, m_emefBatch, m_emefMicroBatch}) w->setEnabled(finetunes);
    m_refresh();
    m_estimateTimer->start();
  }
  bool isComplete() const override {
    bool lrOk = false;
    const double lr = m_emefLr->text().toDouble(&lrOk);
    return QWizardPage::isComplete() && lrOk && lr > 0 && m_emefBatch->value() % m_emefMicroBatch->value() == 0;
  }
  QString estimateText() const { return m_estimate->text(); }

 private:
  QSpinBox* spinBox(const char* name, int low, int high, int value) {
    auto* box = new QSpinBox(this);
    box->setObjectName(QString::fromLatin1(name));
    box->setRange(low, high);
    box->setValue(value);
    return box;
  }
  QWidget* pair(QWidget* first, QWidget* second) {
    auto* row = new QWidget(this);
    auto* layout = new QHBoxLayout(row);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(first);
    layout->addWidget(second);
    return row;
  }
  void estimate() {
    if (m_estimateRunner->isRunning()) {
      m_estimateTimer->start();  // the previous estimate is still measuring; estimate the newest settings after it
      return;
    }
    Q_EMIT completeChanged();
    auto job = std::make_shared<train::RunEstimateJob>(planOf(*m_wizard), field(QStringLiteral("device")).toString().toStdString());
    m_estimate->setText(tr("Estimating (measuring this machine's speed)…"));
    m_estimateRunner->start(job, [this, job] {
      QString text = QString::fromStdString(job->estimate().describe()).toHtmlEscaped().replace(QLatin1Char('\n'), QStringLiteral("<br>"));
      for (const train::StepEstimate& step : job->estimate().steps) {
        if (step.fit == model::Fit::Exceeds) {
          text += tr("<br><b>%1 does not fit</b>: lower the micro-batch or the window length (Advanced), or use fewer "
                     "bits.").arg(QString::fromStdString(step.step).toHtmlEscaped());
        }
      }
      m_estimate->setText(text + tr("<br><i>Rough: the work each step does over a speed test of this machine (loading models and "
                                    "reading data not counted); the dashboard's ETA replaces it once the run starts.</i>"));
    });
  }

  RunWizard* m_wizard;
  QComboBox* m_bits;
  QLabel* m_presetInfo;
  QSpinBox* m_steps;
  QSpinBox* m_epochs;
  QComboBox* m_device;
  QLineEdit* m_output;
  QCheckBox* m_advanced;
  QGroupBox* m_advancedBox;
  QComboBox* m_groupSize;
  QCheckBox* m_actOrder;
  QSpinBox *m_samples, *m_quantizeSeqlen, *m_lrecRank, *m_lrecSeqlen, *m_lrecMicroBatch;
  QSpinBox *m_emefRank, *m_emefCutoff, *m_emefBatch, *m_emefMicroBatch;
  QComboBox* m_emefTemplate;
  QLineEdit* m_emefLr;
  QLabel* m_estimate;
  QPlainTextEdit* m_commands;
  QTimer* m_estimateTimer;
  JobRunner* m_estimateRunner;
  std::function<void()> m_refresh;
};

class SummaryPage : public QWizardPage {
 public:
  explicit SummaryPage(RunWizard* wizard) : QWizardPage(wizard), m_wizard(wizard) {
    setTitle(tr("Summary"));
    setSubTitle(tr("Finish starts the run; its curves appear on the Runs page."));
    auto* layout = new QVBoxLayout(this);
    m_text = new QLabel(this);
    m_text->setObjectName(QStringLiteral("wizardSummary"));
    m_text->setWordWrap(true);
    m_text->setTextInteractionFlags(Qt::TextSelectableByMouse);
    layout->addWidget(m_text);
  }
  void initializePage() override {
    m_text->setText(tr("LowBit will run, in order:\n\n%1\n\nEverything is written under %2.")
                        .arg(m_wizard->commands().join(QStringLiteral("\n\n")), field(QStringLiteral("output")).toString()));
  }

 private:
  RunWizard* m_wizard;
  QLabel* m_text;
};

}  // namespace

RunWizard::RunWizard(QWidget* parent) : QWizard(parent) {
  setObjectName(QStringLiteral("runWizard"));
  setWindowTitle(tr("New run — LowBit Studio"));
  setWizardStyle(QWizard::ClassicStyle);
  auto* modelPage = new ModelPage(this);
  m_goalPage = new GoalPage(this);
  auto* goalPage = static_cast<GoalPage*>(m_goalPage);
  setPage(ModelPageId, modelPage);
  setPage(GoalPageId, goalPage);
  setPage(DataPageId, new DataPage(this));
  setPage(SettingsPageId, new SettingsPage(this));
  setPage(SummaryPageId, new SummaryPage(this));
  m_publishChoices = [this, modelPage, goalPage] {
    setProperty("model", field(QStringLiteral("model")).toString().trimmed());
    setProperty("goal", goalPage->goal());
    setProperty("hidden", modelPage->hidden());
    setProperty("context", modelPage->context());
  };
  resize(860, 680);
  restoreChoices();
  connect(this, &QWizard::accepted, this, &RunWizard::saveChoices);
}

namespace {

// What a returning user set last time (the output folder is new for every run: a run never reuses a folder).
const char* const kRememberedFields[] = {"model", "calibration", "alpaca", "bits", "steps", "epochs", "device"};

}  // namespace

void RunWizard::restoreChoices() {
  QSettings stored;
  for (const char* name : kRememberedFields) {
    const QVariant value = stored.value(QStringLiteral("wizard/") + QLatin1String(name));
    if (value.isValid()) setField(QString::fromLatin1(name), value);
  }
}

void RunWizard::saveChoices() {
  QSettings stored;
  for (const char* name : kRememberedFields) {
    stored.setValue(QStringLiteral("wizard/") + QLatin1String(name), field(QString::fromLatin1(name)));
  }
}

QString RunWizard::suggestedOutputFolder() const {
  const QString model = QFileInfo(property("model").toString()).fileName();
  return QStandardPaths::writableLocation(QStandardPaths::AppDataLocation) + QStringLiteral("/runs/") + model +
         QLatin1Char('-') + QDateTime::currentDateTime().toString(QStringLiteral("yyyyMMdd-HHmmss"));
}

void RunWizard::setGoal(Goal goal) { static_cast<GoalPage*>(m_goalPage)->setGoal(goal); }

void RunWizard::initializePage(int id) {
  m_publishChoices();  // before the page reads them
  QWizard::initializePage(id);
}

RunWizard::Goal RunWizard::goal() const { return static_cast<Goal>(property("goal").toInt()); }

QString RunWizard::outputFolder() const { return field(QStringLiteral("output")).toString().trimmed(); }

QStringList RunWizard::runFolders() const {
  QStringList folders;
  const Goal g = goal();
  if (g == QuantizeAndCorrect || g == FullPipeline) folders << outputFolder() + QStringLiteral("/lrec");
  if (g == FineTune || g == FullPipeline) folders << outputFolder() + QStringLiteral("/emef");
  return folders;
}

namespace {

int groupSizeFor(int hidden) { return hidden % 128 == 0 ? 128 : 32; }
QString presetFor(int bits) { return QStringLiteral("int%1").arg(std::clamp(bits, 2, 4)); }

// The paper's ratios of LoRA α to rank: LREC r 32 α 128 (Table 4), EMEF r 8 α 16 (alpaca-lora).
constexpr double kLrecAlphaPerRank = 4.0;
constexpr double kEmefAlphaPerRank = 2.0;

}  // namespace

train::RunPlan planOf(const QWizard& wizard) {
  auto f = [&wizard](const char* name) { return wizard.field(QString::fromLatin1(name)); };
  const auto goal = static_cast<RunWizard::Goal>(wizard.property("goal").toInt());
  const std::filesystem::path model = wizard.property("model").toString().toStdString();
  const std::filesystem::path out = f("output").toString().trimmed().toStdString();
  const std::filesystem::path calibration = f("calibration").toString().trimmed().toStdString();
  const int bits = f("bits").toString().toInt();
  const bool advanced = f("advanced").toBool();
  const std::filesystem::path quantized = out / ("int" + std::to_string(bits));
  const int64_t context = std::max(16, wizard.property("context").toInt());
  train::RunPlan plan;
  plan.model_dir = model;
  if (goal != RunWizard::FineTune) {
    quant::QuantizeParams q;
    q.model_dir = model;
    q.out_dir = quantized;
    q.calibration = calibration;
    q.config.bits = bits;
    const QString groupSize = f("groupSize").toString();
    q.config.group_size = advanced && groupSize != QObject::tr("auto") ? groupSize.toInt() : groupSizeFor(wizard.property("hidden").toInt());
    q.config.desc_act = advanced ? f("actOrder").toBool() : true;
    if (advanced) {
      q.nsamples = f("samples").toInt();
      q.seqlen = f("quantizeSeqlen").toInt();
    } else {
      q.seqlen = std::min<int64_t>(q.seqlen, context);  // calibration windows no longer than the model's context
    }
    plan.quantize = q;
    plan.trained_quantization = q.config;
  }
  if (goal == RunWizard::QuantizeAndCorrect || goal == RunWizard::FullPipeline) {
    train::LrecParams p;
    p.student_dir = quantized;
    p.teacher_dir = model;
    p.calibration = calibration;
    p.run_dir = out / "lrec";
    train::apply_preset(p, presetFor(bits).toStdString());
    p.schedule.total_steps = f("steps").toInt();
    if (advanced) {
      p.lora.rank = f("lrecRank").toInt();
      p.lora.alpha = kLrecAlphaPerRank * static_cast<double>(p.lora.rank);
      p.seqlen = f("lrecSeqlen").toInt();
      p.micro_batch = f("lrecMicroBatch").toInt();
    } else {
      p.seqlen = std::min<int64_t>(p.seqlen, context);
    }
    plan.correct = p;
  }
  if (goal == RunWizard::FineTune || goal == RunWizard::FullPipeline) {
    train::EmefParams p;
    p.model_dir = goal == RunWizard::FineTune ? model : quantized;
    if (goal == RunWizard::FullPipeline) p.base_adapters = {out / "lrec" / "adapter"};
    p.data = f("alpaca").toString().trimmed().toStdString();
    p.epochs = f("epochs").toInt();
    p.run_dir = out / "emef";
    if (f("emefTemplate").toInt() == 1) p.prompt_template = data::PromptTemplate::Model;
    if (advanced) {
      p.lora.rank = f("emefRank").toInt();
      p.lora.alpha = kEmefAlphaPerRank * static_cast<double>(p.lora.rank);
      p.lr = f("emefLr").toString().toDouble();
      p.examples.cutoff = f("emefCutoff").toInt();
      p.batch = f("emefBatch").toInt();
      p.micro_batch = f("emefMicroBatch").toInt();
    }
    plan.finetune = p;
    plan.finetune_examples = wizard.property("alpacaRecords").toLongLong();
    plan.finetune_mean_tokens = wizard.property("alpacaMeanTokens").toDouble();
  }
  return plan;
}

QStringList RunWizard::commands() const {
  const train::RunPlan plan = planOf(*this);
  const bool advanced = field(QStringLiteral("advanced")).toBool();
  const QString device = field(QStringLiteral("device")).toString();
  const QString deviceFlag = device.isEmpty() || device == QLatin1String("auto") ? QString() : QStringLiteral(" --device ") + device;
  auto path = [](const std::filesystem::path& p) { return shellArgument(QString::fromStdString(p.string())); };
  QStringList lines;
  if (plan.quantize) {
    const quant::QuantizeParams& q = *plan.quantize;
    QString line = QStringLiteral("lowbit quantize %1 --bits %2 --group-size %3%4 --calib %5")
                       .arg(path(q.model_dir)).arg(q.config.bits).arg(q.config.group_size)
                       .arg(q.config.desc_act ? QStringLiteral(" --act-order") : QString(), path(*q.calibration));
    if (advanced) line += QStringLiteral(" --nsamples %1").arg(q.nsamples);
    line += QStringLiteral(" --seqlen %1").arg(q.seqlen);  // the CLI's default (2048) may exceed the model's context
    lines << line + deviceFlag + QStringLiteral(" --out ") + path(q.out_dir);
  }
  if (plan.correct) {
    const train::LrecParams& p = *plan.correct;
    QString line = QStringLiteral("lowbit correct %1 --teacher %2 --calib %3 --preset %4 --steps %5")
                       .arg(path(p.student_dir), path(p.teacher_dir), path(p.calibration),
                            presetFor(field(QStringLiteral("bits")).toString().toInt()))
                       .arg(p.schedule.total_steps);
    if (advanced) line += QStringLiteral(" --rank %1 --alpha %2").arg(p.lora.rank).arg(p.lora.alpha);
    line += QStringLiteral(" --seqlen %1").arg(p.seqlen);
    if (advanced) line += QStringLiteral(" --micro-batch %1").arg(p.micro_batch);
    lines << line + deviceFlag + QStringLiteral(" --out ") + path(p.run_dir);
  }
  if (plan.finetune) {
    const train::EmefParams& p = *plan.finetune;
    QString adapters;
    for (const auto& adapter : p.base_adapters) adapters += QStringLiteral(" --adapters ") + path(adapter);
    QString line = QStringLiteral("lowbit finetune %1%2 --data %3 --epochs %4")
                       .arg(path(p.model_dir), adapters, path(p.data)).arg(p.epochs);
    if (p.prompt_template == data::PromptTemplate::Model) line += QStringLiteral(" --template model");
    if (advanced) {
      line += QStringLiteral(" --rank %1 --alpha %2 --lr %3 --cutoff %4 --batch %5 --micro-batch %6")
                  .arg(p.lora.rank).arg(p.lora.alpha).arg(p.lr).arg(p.examples.cutoff).arg(p.batch).arg(p.micro_batch);
    }
    lines << line + deviceFlag + QStringLiteral(" --out ") + path(p.run_dir);
  }
  return lines;
}

std::shared_ptr<jobs::Job> RunWizard::makeJob() const {
  train::RunPlan plan = planOf(*this);
  return std::make_shared<train::RunPlanJob>(std::move(plan), field(QStringLiteral("device")).toString().toStdString());
}

}  // namespace lowbit::ui
