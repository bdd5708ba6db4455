#include "ui/wizard/RunWizard.h"

#include <QDateTime>
#include <QFileInfo>
#include <QSettings>
#include <QStandardPaths>

#include <algorithm>

#include "core/quant/quantize_settings.h"
#include "ui/util/CommandLine.h"
#include "ui/wizard/DataPage.h"
#include "ui/wizard/GoalPage.h"
#include "ui/wizard/ModelPage.h"
#include "ui/wizard/SettingsPage.h"
#include "ui/wizard/SummaryPage.h"

namespace lowbit::ui {

RunWizard::RunWizard(QWidget* parent) : QWizard(parent) {
  setObjectName(QStringLiteral("runWizard"));
  setWindowTitle(tr("New run — LowBit Studio"));
  setWizardStyle(QWizard::ClassicStyle);
  m_modelPage = new ModelPage(this);
  m_goalPage = new GoalPage(this);
  m_settingsPage = new SettingsPage(this);
  setPage(ModelPageId, m_modelPage);
  setPage(GoalPageId, m_goalPage);
  setPage(DataPageId, new DataPage(this));
  setPage(SettingsPageId, m_settingsPage);
  setPage(SummaryPageId, new SummaryPage(this));
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

void RunWizard::setGoal(Goal goal) { m_goalPage->setGoal(goal); }

void RunWizard::setModelFolder(const QString& folder) { setField(QStringLiteral("model"), folder); }

void RunWizard::initializePage(int id) {
  // The choices of earlier pages, published before the next page reads them.
  setProperty("model", field(QStringLiteral("model")).toString().trimmed());
  setProperty("goal", m_goalPage->goal());
  setProperty("hidden", m_modelPage->hidden());
  setProperty("context", m_modelPage->context());
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

train::RunPlan RunWizard::plan() const {
  auto f = [this](const char* name) { return field(QString::fromLatin1(name)); };
  const Goal g = goal();
  const std::filesystem::path model = property("model").toString().toStdString();
  const std::filesystem::path out = f("output").toString().trimmed().toStdString();
  const std::filesystem::path calibration = f("calibration").toString().trimmed().toStdString();
  const int bits = f("bits").toString().toInt();
  const bool advanced = f("advanced").toBool();
  const std::filesystem::path quantized = out / ("int" + std::to_string(bits));
  const int64_t context = std::max(16, property("context").toInt());
  train::RunPlan plan;
  plan.model_dir = model;
  plan.device = f("device").toString().toStdString();
  if (plan.device.empty()) plan.device = "auto";
  plan.output_dir = out;
  if (g != FineTune) {
    quant::QuantizeSettings q;
    q.model_dir = model;
    q.out_dir = quantized;
    q.calibration = calibration;
    q.device = plan.device;
    q.config.bits = bits;
    const QString groupSize = f("groupSize").toString();
    q.config.group_size = advanced && groupSize != QObject::tr("auto") ? groupSize.toInt()
                                                                      : quant::default_group_size(property("hidden").toInt());
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
  if (g == QuantizeAndCorrect || g == FullPipeline) {
    train::LrecSettings p;
    p.student_dir = quantized;
    p.teacher_dir = model;
    p.calibration = calibration;
    p.run_dir = out / "lrec";
    p.device = plan.device;
    m_settingsPage->applyCorrection(p);
    plan.correct = p;
  }
  if (g == FineTune || g == FullPipeline) {
    train::EmefSettings p;
    p.model_dir = g == FineTune ? model : quantized;
    if (g == FullPipeline) p.base_adapters = {out / "lrec" / "adapter"};
    const QString baseAdapter = f("baseAdapter").toString().trimmed();
    if (g == FineTune && !baseAdapter.isEmpty()) p.base_adapters = {baseAdapter.toStdString()};
    p.data = f("alpaca").toString().trimmed().toStdString();
    p.epochs = f("epochs").toInt();
    p.run_dir = out / "emef";
    p.device = plan.device;
    if (f("emefTemplate").toInt() == 1) p.prompt_template = data::PromptTemplate::Model;
    if (advanced) {
      train::set_emef_rank(p, f("emefRank").toInt());
      p.lr = f("emefLr").toString().toDouble();
      p.examples.cutoff = f("emefCutoff").toInt();
      p.batch = f("emefBatch").toInt();
      p.micro_batch = f("emefMicroBatch").toInt();
    }
    plan.finetune = p;
    plan.finetune_examples = property("alpacaRecords").toLongLong();
    plan.finetune_mean_tokens = property("alpacaMeanTokens").toDouble();
  }
  return plan;
}

QStringList RunWizard::commands() const {
  QStringList lines;
  for (const std::vector<std::string>& line : train::run_plan_commands(plan())) lines << shellCommand(line);
  return lines;
}

std::shared_ptr<jobs::Job> RunWizard::makeJob() const { return std::make_shared<train::RunPlanJob>(plan()); }

}  // namespace lowbit::ui
