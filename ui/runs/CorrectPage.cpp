#include "ui/runs/CorrectPage.h"

#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSettings>
#include <QVBoxLayout>

#include "core/train/resume_run.h"
#include "core/train/run_plan.h"

#include "ui/jobs/JobRunner.h"
#include "ui/util/ErrorDialog.h"
#include "ui/util/PathField.h"
#include "ui/util/CommandLine.h"
#include "ui/runs/RunDashboard.h"
#include "ui/runs/RunsPage.h"
#include "ui/settings/LrecSettingsForm.h"
#include "ui/settings/RunEstimateLabel.h"

namespace lowbit::ui {
namespace {

QLineEdit* pathField(QWidget* parent, const QString& objectName, const QString& placeholder) {
  auto* field = new QLineEdit(QSettings().value(QStringLiteral("correct/") + objectName).toString(), parent);
  field->setObjectName(objectName);
  field->setPlaceholderText(placeholder);
  return field;
}

}  // namespace

void CorrectPage::setQuantizedModel(const QString& folder) { m_student->setText(folder); }

CorrectPage::CorrectPage(QWidget* parent) : QWidget(parent), m_runner(new JobRunner(this)) {
  auto* layout = new QVBoxLayout(this);
  auto* form = new QFormLayout;
  m_student = pathField(this, QStringLiteral("correctStudent"), tr("the quantized model folder (GPTQ)"));
  m_teacher = pathField(this, QStringLiteral("correctTeacher"), tr("the full-precision model it was made from"));
  m_calibration = pathField(this, QStringLiteral("correctCalibration"), tr("calibration text (.txt or .jsonl)"));
  m_runDir = pathField(this, QStringLiteral("correctRunDir"), tr("a new folder for the run"));
  m_settings = new LrecSettingsForm(QStringLiteral("correct"), this);
  form->addRow(tr("Quantized model"), withBrowseButton(m_student, PathKind::Folder, tr("Choose the quantized model")));
  form->addRow(tr("Teacher"), withBrowseButton(m_teacher, PathKind::Folder, tr("Choose the full-precision model")));
  form->addRow(tr("Calibration text"), withBrowseButton(m_calibration, PathKind::File, tr("Choose calibration text")));
  form->addRow(tr("Run folder"), withBrowseButton(m_runDir, PathKind::Folder, tr("Choose a new folder for the run")));
  form->addRow(tr("Settings"), m_settings);
  m_start = new QPushButton(tr("Start"), this);
  m_start->setObjectName(QStringLiteral("correctStart"));
  m_start->setShortcut(QKeySequence(QStringLiteral("Ctrl+Return")));
  m_start->setToolTip(tr("Start the run (Ctrl+Enter)"));
  // What the run will take on this machine, before Start: the same estimate as the wizard's.
  m_estimate = new RunEstimateLabel([this] { return plan(); },
                                    [this]() -> QString {
                                      for (QLineEdit* field : {m_student, m_teacher}) {
                                        if (field->text().trimmed().isEmpty()) return tr("Fill in both models to see the memory and time this run takes.");
                                      }
                                      return QString();
                                    },
                                    this);
  m_estimate->setObjectName(QStringLiteral("correctEstimate"));
  form->addRow(tr("Memory and time"), m_estimate);
  form->addRow(QString(), m_start);
  m_command = new QLabel(this);
  m_command->setObjectName(QStringLiteral("correctCommand"));
  m_command->setTextInteractionFlags(Qt::TextSelectableByMouse);
  m_command->setWordWrap(true);
  form->addRow(tr("Same in a terminal"), m_command);
  layout->addLayout(form);
  m_dashboard = new RunDashboard(this);
  layout->addWidget(m_dashboard, 1);

  auto refreshCommand = [this] {
    m_command->setText(command());
    m_estimate->refresh();
  };
  for (QLineEdit* field : {m_student, m_teacher, m_calibration, m_runDir}) {
    connect(field, &QLineEdit::textChanged, this, refreshCommand);
  }
  connect(m_settings, &LrecSettingsForm::changed, this, refreshCommand);
  connect(m_start, &QPushButton::clicked, this, [this] { start(false); });
  connect(m_dashboard, &RunDashboard::resumeRequested, this, [this] { start(true); });
  connect(m_runner, &JobRunner::jobFailed, this, [this](const QString& message) {
    showError(this, message);
  });
  connect(m_dashboard, &RunDashboard::stateChanged, this,
          [this](RunDashboard::State state) { m_start->setEnabled(state != RunDashboard::State::Running); });
  refreshCommand();
}

train::LrecSettings CorrectPage::settings() const {
  train::LrecSettings settings;
  settings.student_dir = m_student->text().trimmed().toStdString();
  settings.teacher_dir = m_teacher->text().trimmed().toStdString();
  settings.calibration = m_calibration->text().trimmed().toStdString();
  settings.run_dir = m_runDir->text().trimmed().toStdString();
  m_settings->apply(settings);
  return settings;
}

QString CorrectPage::command() const {
  const auto& schema = train::lrec_settings_schema();
  std::vector<std::string> line{schema.command()};
  for (std::string& argument : schema.arguments(settings())) line.push_back(std::move(argument));
  return shellCommand(line);
}

void CorrectPage::start(bool resume) {
  QSettings stored;
  for (QLineEdit* field : {m_student, m_teacher, m_calibration, m_runDir}) {
    stored.setValue(QStringLiteral("correct/") + field->objectName(), field->text());
    if (field->text().trimmed().isEmpty()) {
      showError(this, tr("Fill in every folder and file first."));
      return;
    }
  }
  if (m_runner->isRunning()) return;
  const QString runDir = m_runDir->text().trimmed();
  RunsPage::remember(runDir);
  m_dashboard->attach(m_runner, runDir);
  if (resume) {
    m_runner->start(std::make_shared<train::ResumeRunJob>(runDir.toStdString(), "auto"));
    return;
  }
  m_runner->start(std::make_shared<train::RunPlanJob>(plan()));
}

train::RunPlan CorrectPage::plan() const {
  const train::LrecSettings p = settings();
  train::RunPlan plan;
  plan.model_dir = p.teacher_dir;
  plan.device = p.device;
  plan.correct = p;
  return plan;
}

}  // namespace lowbit::ui
