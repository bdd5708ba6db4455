// The wizard's pages check what is typed as it is typed: a core job on a worker ~300 ms after the last edit.
#pragma once

#include <QLineEdit>
#include <QTimer>
#include <QWizardPage>

#include <memory>

#include "ui/jobs/JobRunner.h"

namespace lowbit::ui {

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

}  // namespace lowbit::ui
