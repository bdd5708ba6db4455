// LibTorch before Qt: Qt's `slots`/`signals` macros would rewrite names in LibTorch's headers.
#include "core/data/data_preview.h"
#include "core/jobs/pipeline_job.h"
#include "core/model/model_library.h"
#include "core/quant/quantize_job.h"
#include "core/train/emef_job.h"
#include "core/train/lrec_job.h"
#include "ui/wizard/RunWizard.h"

#include <QButtonGroup>
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
#include "ui/util/CommandLine.h"

namespace lowbit::ui {
namespace {

// Runs `make()`'s job on a worker ~300 ms after the last edit of `field`, then `done(job, "")` on the GUI thread,
// or `done(nullptr, message)` when it fails.
template <typename JobType, typename Make, typename Done>
void checkWhileTyping(QWizardPage* page, QLineEdit* field, Make make, Done done) {
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
}

class ModelPage : public QWizardPage {
 public:
  explicit ModelPage(QWidget* parent) : QWizardPage(parent) {
    setTitle(tr("Model"));
    setSubTitle(tr("A Hugging Face LLaMA-family folder (config.json, *.safetensors, tokenizer.model), full precision "
                   "or GPTQ-quantized."));
    auto* layout = new QVBoxLayout(this);
    m_folder = new QLineEdit(this);
    m_folder->setObjectName(QStringLiteral("wizardModel"));
    m_status = new QLabel(tr("Type or paste the model folder."), this);
    m_status->setObjectName(QStringLiteral("wizardModelStatus"));
    m_status->setWordWrap(true);
    layout->addWidget(m_folder);
    layout->addWidget(m_status);
    registerField(QStringLiteral("model*"), m_folder);
    checkWhileTyping<model::ModelLibraryJob>(
        this, m_folder,
        [this]() -> std::shared_ptr<model::ModelLibraryJob> {
          m_valid = false;
          emit completeChanged();
          const QString folder = m_folder->text().trimmed();
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
          if (!card.summary.has_tokenizer) return setProblem(tr("%1 has no tokenizer.model; copy the model's tokenizer into it").arg(folder));
          m_hidden = static_cast<int>(card.summary.config.hidden_size);
          m_quantized = card.summary.quantization != "none";
          m_status->setText(tr("✓ %1, %2 layers, %3 M parameters, %4")
                                .arg(QString::fromStdString(card.summary.config.architecture))
                                .arg(card.summary.config.n_layer)
                                .arg(static_cast<double>(card.summary.parameters) / 1e6, 0, 'f', 2)
                                .arg(m_quantized ? QString::fromStdString(card.summary.quantization) : tr("full precision")));
          m_valid = true;
          emit completeChanged();
        });
  }
  bool isComplete() const override { return m_valid; }
  int hidden() const { return m_hidden; }
  bool quantized() const { return m_quantized; }

 private:
  void setProblem(const QString& problem) {
    m_status->setText(QStringLiteral("✗ ") + problem);
    m_valid = false;
    emit completeChanged();
  }
  QLineEdit* m_folder;
  QLabel* m_status;
  bool m_valid = false;
  bool m_quantized = false;
  int m_hidden = 0;
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
    form->addRow(tr("Calibration text"), m_calibration);
    form->addRow(tr("Instructions"), m_alpaca);
    form->addRow(tr("Preview"), m_preview);
    for (QLineEdit* field : {m_calibration, m_alpaca}) {
      const bool instruction = field == m_alpaca;
      checkWhileTyping<data::DataPreviewJob>(
          this, field,
          [this, field, instruction]() -> std::shared_ptr<data::DataPreviewJob> {
            (instruction ? m_alpacaOk : m_calibrationOk) = false;
            emit completeChanged();
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
            }
            m_preview->setPlainText(text);
            emit completeChanged();
          });
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
  }
  bool isComplete() const override {
    return (!m_needsCalibration || m_calibrationOk) && (!m_needsAlpaca || m_alpacaOk);
  }

 private:
  QString field_value(const char* name) const { return wizard()->property(name).toString(); }
  QLineEdit* m_calibration;
  QLineEdit* m_alpaca;
  QPlainTextEdit* m_preview;
  bool m_calibrationOk = false, m_alpacaOk = false, m_needsCalibration = true, m_needsAlpaca = true;
};

class SettingsPage : public QWizardPage {
 public:
  explicit SettingsPage(RunWizard* wizard) : QWizardPage(wizard), m_wizard(wizard) {
    setTitle(tr("Settings"));
    auto* form = new QFormLayout(this);
    m_bits = new QComboBox(this);
    m_bits->setObjectName(QStringLiteral("wizardBits"));
    m_bits->addItems({QStringLiteral("2"), QStringLiteral("3"), QStringLiteral("4"), QStringLiteral("8")});
    m_steps = new QSpinBox(this);
    m_steps->setObjectName(QStringLiteral("wizardSteps"));
    m_steps->setRange(1, 1000000);
    m_steps->setValue(200);
    m_epochs = new QSpinBox(this);
    m_epochs->setObjectName(QStringLiteral("wizardEpochs"));
    m_epochs->setRange(1, 100);
    m_epochs->setValue(3);
    m_output = new QLineEdit(this);
    m_output->setObjectName(QStringLiteral("wizardOutput"));
    m_output->setPlaceholderText(tr("a new folder for everything the run makes"));
    m_commands = new QPlainTextEdit(this);
    m_commands->setObjectName(QStringLiteral("wizardCommands"));
    m_commands->setReadOnly(true);
    form->addRow(tr("Bits (LREC preset int2/int3/int4 from the paper's Table 4)"), m_bits);
    form->addRow(tr("Correction steps"), m_steps);
    form->addRow(tr("Fine-tuning epochs"), m_epochs);
    form->addRow(tr("Output folder"), m_output);
    form->addRow(tr("Same in a terminal"), m_commands);
    registerField(QStringLiteral("bits"), m_bits, "currentText");
    registerField(QStringLiteral("steps"), m_steps);
    registerField(QStringLiteral("epochs"), m_epochs);
    registerField(QStringLiteral("output*"), m_output);
    auto refresh = [this] { m_commands->setPlainText(m_wizard->commands().join(QLatin1Char('\n'))); };
    connect(m_bits, &QComboBox::currentTextChanged, this, refresh);
    connect(m_steps, qOverload<int>(&QSpinBox::valueChanged), this, refresh);
    connect(m_epochs, qOverload<int>(&QSpinBox::valueChanged), this, refresh);
    connect(m_output, &QLineEdit::textChanged, this, refresh);
  }
  void initializePage() override {
    const int goal = wizard()->property("goal").toInt();
    m_bits->setEnabled(goal != RunWizard::FineTune);
    m_steps->setEnabled(goal == RunWizard::QuantizeAndCorrect || goal == RunWizard::FullPipeline);
    m_epochs->setEnabled(goal == RunWizard::FineTune || goal == RunWizard::FullPipeline);
    m_commands->setPlainText(m_wizard->commands().join(QLatin1Char('\n')));
  }

 private:
  RunWizard* m_wizard;
  QComboBox* m_bits;
  QSpinBox* m_steps;
  QSpinBox* m_epochs;
  QLineEdit* m_output;
  QPlainTextEdit* m_commands;
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
  auto* goalPage = new GoalPage(this);
  setPage(ModelPageId, modelPage);
  setPage(GoalPageId, goalPage);
  setPage(DataPageId, new DataPage(this));
  setPage(SettingsPageId, new SettingsPage(this));
  setPage(SummaryPageId, new SummaryPage(this));
  m_publishChoices = [this, modelPage, goalPage] {
    setProperty("model", field(QStringLiteral("model")).toString().trimmed());
    setProperty("goal", goalPage->goal());
    setProperty("hidden", modelPage->hidden());
  };
  resize(820, 560);
}

void RunWizard::initializePage(int id) {
  m_publishChoices();  // before the page reads them
  QWizard::initializePage(id);
}

RunWizard::Goal RunWizard::goal() const { return static_cast<Goal>(property("goal").toInt()); }

QString RunWizard::outputFolder() const { return field(QStringLiteral("output")).toString().trimmed(); }

namespace {

int groupSizeFor(int hidden) { return hidden % 128 == 0 ? 128 : 32; }
QString presetFor(int bits) { return QStringLiteral("int%1").arg(std::clamp(bits, 2, 4)); }

}  // namespace

QStringList RunWizard::commands() const {
  const QString model = shellArgument(property("model").toString());
  const QString out = outputFolder();
  const int bits = field(QStringLiteral("bits")).toString().toInt();
  const QString calibration = shellArgument(field(QStringLiteral("calibration")).toString().trimmed());
  const QString alpaca = shellArgument(field(QStringLiteral("alpaca")).toString().trimmed());
  const QString quantized = shellArgument(out + QStringLiteral("/int%1").arg(bits));
  QStringList lines;
  const Goal g = goal();
  if (g != FineTune) {
    lines << QStringLiteral("lowbit quantize %1 --bits %2 --group-size %3 --act-order --calib %4 --out %5")
                 .arg(model).arg(bits).arg(groupSizeFor(property("hidden").toInt())).arg(calibration, quantized);
  }
  if (g == QuantizeAndCorrect || g == FullPipeline) {
    lines << QStringLiteral("lowbit correct %1 --teacher %2 --calib %3 --preset %4 --steps %5 --out %6")
                 .arg(quantized, model, calibration, presetFor(bits))
                 .arg(field(QStringLiteral("steps")).toInt())
                 .arg(shellArgument(out + QStringLiteral("/lrec")));
  }
  if (g == FineTune || g == FullPipeline) {
    const QString base = g == FineTune ? model : quantized;
    const QString adapters = g == FullPipeline ? QStringLiteral(" --adapters ") + shellArgument(out + QStringLiteral("/lrec/adapter")) : QString();
    lines << QStringLiteral("lowbit finetune %1%2 --data %3 --epochs %4 --out %5")
                 .arg(base, adapters, alpaca)
                 .arg(field(QStringLiteral("epochs")).toInt())
                 .arg(shellArgument(out + QStringLiteral("/emef")));
  }
  return lines;
}

std::shared_ptr<jobs::Job> RunWizard::makeJob() const {
  const std::filesystem::path model = property("model").toString().toStdString();
  const std::filesystem::path out = outputFolder().toStdString();
  const int bits = field(QStringLiteral("bits")).toString().toInt();
  const std::filesystem::path calibration = field(QStringLiteral("calibration")).toString().trimmed().toStdString();
  const std::filesystem::path quantized = out / ("int" + std::to_string(bits));
  at::Device device = at::kCPU;
  try {
    device = model::resolve_device("auto");
  } catch (const std::exception&) {
  }
  std::vector<std::shared_ptr<jobs::Job>> steps;
  const Goal g = goal();
  if (g != FineTune) {
    quant::QuantizeParams q;
    q.model_dir = model;
    q.out_dir = quantized;
    q.calibration = calibration;
    q.config.bits = bits;
    q.config.group_size = groupSizeFor(property("hidden").toInt());
    q.config.desc_act = true;
    q.device = device;
    steps.push_back(std::make_shared<quant::QuantizeJob>(q));
  }
  if (g == QuantizeAndCorrect || g == FullPipeline) {
    train::LrecParams p;
    p.student_dir = quantized;
    p.teacher_dir = model;
    p.calibration = calibration;
    p.run_dir = out / "lrec";
    train::apply_preset(p, presetFor(bits).toStdString());
    p.schedule.total_steps = field(QStringLiteral("steps")).toInt();
    p.device = device;
    steps.push_back(std::make_shared<train::LrecJob>(p));
  }
  if (g == FineTune || g == FullPipeline) {
    train::EmefParams p;
    p.model_dir = g == FineTune ? model : quantized;
    if (g == FullPipeline) p.base_adapters = {out / "lrec" / "adapter"};
    p.data = field(QStringLiteral("alpaca")).toString().trimmed().toStdString();
    p.epochs = field(QStringLiteral("epochs")).toInt();
    p.run_dir = out / "emef";
    p.device = device;
    steps.push_back(std::make_shared<train::EmefJob>(p));
  }
  return std::make_shared<jobs::PipelineJob>(steps);
}

}  // namespace lowbit::ui
