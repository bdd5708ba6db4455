#include "core/model/model_summary.h"
#include "core/train/lrec_job.h"
#include "core/train/resume_run.h"
#include "core/train/run_plan.h"
#include "ui/runs/CorrectPage.h"

#include <QComboBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSettings>
#include <QSpinBox>
#include <QVBoxLayout>

#include "ui/jobs/JobRunner.h"
#include "ui/util/ErrorDialog.h"
#include "ui/util/PathField.h"
#include "ui/util/CommandLine.h"
#include "ui/runs/RunDashboard.h"
#include "ui/runs/RunsPage.h"

namespace lowbit::ui {
namespace {

constexpr double kAlphaPerRank = 4.0;  // the paper's LREC ratio: r 32, α 128 (Table 4)

QLineEdit* pathField(QWidget* parent, const QString& objectName, const QString& placeholder) {
  auto* field = new QLineEdit(QSettings().value(QStringLiteral("correct/") + objectName).toString(), parent);
  field->setObjectName(objectName);
  field->setPlaceholderText(placeholder);
  return field;
}

}  // namespace

CorrectPage::CorrectPage(QWidget* parent) : QWidget(parent), m_runner(new JobRunner(this)) {
  auto* layout = new QVBoxLayout(this);
  auto* form = new QFormLayout;
  m_student = pathField(this, QStringLiteral("correctStudent"), tr("the quantized model folder (GPTQ)"));
  m_teacher = pathField(this, QStringLiteral("correctTeacher"), tr("the full-precision model it was made from"));
  m_calibration = pathField(this, QStringLiteral("correctCalibration"), tr("calibration text (.txt or .jsonl)"));
  m_runDir = pathField(this, QStringLiteral("correctRunDir"), tr("a new folder for the run"));
  m_preset = new QComboBox(this);
  m_preset->setObjectName(QStringLiteral("correctPreset"));
  m_preset->addItems({QStringLiteral("int2"), QStringLiteral("int3"), QStringLiteral("int4")});
  m_steps = new QSpinBox(this);
  m_steps->setObjectName(QStringLiteral("correctSteps"));
  m_steps->setRange(1, 1000000);
  m_steps->setValue(200);
  m_rank = new QSpinBox(this);
  m_rank->setObjectName(QStringLiteral("correctRank"));
  m_rank->setRange(1, 1024);
  m_rank->setValue(32);
  form->addRow(tr("Quantized model"), withBrowseButton(m_student, PathKind::Folder, tr("Choose the quantized model")));
  form->addRow(tr("Teacher"), withBrowseButton(m_teacher, PathKind::Folder, tr("Choose the full-precision model")));
  form->addRow(tr("Calibration text"), withBrowseButton(m_calibration, PathKind::File, tr("Choose calibration text")));
  form->addRow(tr("Run folder"), withBrowseButton(m_runDir, PathKind::Folder, tr("Choose a new folder for the run")));
  auto* settingsRow = new QHBoxLayout;
  settingsRow->addWidget(new QLabel(tr("Preset (paper's Table 4)"), this));
  settingsRow->addWidget(m_preset);
  settingsRow->addWidget(new QLabel(tr("Steps"), this));
  settingsRow->addWidget(m_steps);
  settingsRow->addWidget(new QLabel(tr("LoRA rank"), this));
  settingsRow->addWidget(m_rank);
  settingsRow->addStretch(1);
  m_start = new QPushButton(tr("Start"), this);
  m_start->setObjectName(QStringLiteral("correctStart"));
  m_start->setShortcut(QKeySequence(QStringLiteral("Ctrl+Return")));
  m_start->setToolTip(tr("Start the run (Ctrl+Enter)"));
  settingsRow->addWidget(m_start);
  form->addRow(tr("Settings"), settingsRow);
  m_command = new QLabel(this);
  m_command->setObjectName(QStringLiteral("correctCommand"));
  m_command->setTextInteractionFlags(Qt::TextSelectableByMouse);
  m_command->setWordWrap(true);
  form->addRow(tr("Same in a terminal"), m_command);
  layout->addLayout(form);
  m_dashboard = new RunDashboard(this);
  layout->addWidget(m_dashboard, 1);

  auto refreshCommand = [this] { m_command->setText(command()); };
  for (QLineEdit* field : {m_student, m_teacher, m_calibration, m_runDir}) {
    connect(field, &QLineEdit::textChanged, this, refreshCommand);
  }
  connect(m_preset, &QComboBox::currentTextChanged, this, refreshCommand);
  connect(m_steps, qOverload<int>(&QSpinBox::valueChanged), this, refreshCommand);
  connect(m_rank, qOverload<int>(&QSpinBox::valueChanged), this, refreshCommand);
  connect(m_start, &QPushButton::clicked, this, [this] { start(false); });
  connect(m_dashboard, &RunDashboard::resumeRequested, this, [this] { start(true); });
  connect(m_runner, &JobRunner::jobFailed, this, [this](const QString& message) {
    showError(this, message);
  });
  connect(m_dashboard, &RunDashboard::stateChanged, this,
          [this](RunDashboard::State state) { m_start->setEnabled(state != RunDashboard::State::Running); });
  refreshCommand();
}

QString CorrectPage::command() const {
  return QStringLiteral("lowbit correct %1 --teacher %2 --calib %3 --out %4 --preset %5 --steps %6 --rank %7 --alpha %8")
      .arg(shellArgument(m_student->text()), shellArgument(m_teacher->text()), shellArgument(m_calibration->text()),
           shellArgument(m_runDir->text()), m_preset->currentText())
      .arg(m_steps->value())
      .arg(m_rank->value())
      .arg(kAlphaPerRank * m_rank->value());
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
  train::LrecParams p;
  p.student_dir = m_student->text().trimmed().toStdString();
  p.teacher_dir = m_teacher->text().trimmed().toStdString();
  p.calibration = m_calibration->text().trimmed().toStdString();
  p.run_dir = m_runDir->text().trimmed().toStdString();
  p.resume = resume;
  train::apply_preset(p, m_preset->currentText().toStdString());
  p.lora.rank = m_rank->value();
  p.lora.alpha = kAlphaPerRank * m_rank->value();
  p.schedule.total_steps = m_steps->value();
  p.eval_every = std::max(1, m_steps->value() / 10);
  p.checkpoint_every = p.eval_every;
  if (m_runner->isRunning()) return;
  const QString runDir = m_runDir->text().trimmed();
  RunsPage::remember(runDir);
  m_dashboard->attach(m_runner, runDir);
  if (resume) {
    m_runner->start(std::make_shared<train::ResumeRunJob>(p.run_dir, "auto"));
    return;
  }
  train::RunPlan plan;
  plan.model_dir = p.teacher_dir;
  plan.correct = p;
  m_runner->start(std::make_shared<train::RunPlanJob>(std::move(plan), "auto"));
}

}  // namespace lowbit::ui
