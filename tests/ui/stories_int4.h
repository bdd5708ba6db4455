// The small quantized model the UI tests chat with and list: stories260K, RTN INT4 g32, quantized through the jobs
// API on a worker thread as the app does.
#pragma once

#include "core/quant/quantize_job.h"  // LibTorch before Qt: Qt's keyword macros clash with its headers

#include <QSignalSpy>
#include <QtTest>

#include <filesystem>
#include <memory>

#include "ui/jobs/JobRunner.h"

namespace lowbit::testing {

// True when the quantized model is in `out`; on failure the job's message is in the test log.
inline bool quantizeStoriesInt4(const std::filesystem::path& stories, const std::filesystem::path& out) {
  quant::QuantizeSettings settings;
  settings.device = "cpu";
  settings.model_dir = stories;
  settings.out_dir = out;
  settings.config.bits = 4;
  settings.config.group_size = 32;
  settings.config.method = quant::QuantMethod::Rtn;
  ui::JobRunner runner;
  QSignalSpy finished(&runner, &ui::JobRunner::jobFinished);
  QSignalSpy failed(&runner, &ui::JobRunner::jobFailed);
  if (!runner.start(std::make_shared<quant::QuantizeJob>(settings))) return false;
  QTest::qWaitFor([&] { return finished.count() + failed.count() > 0; }, 60000);
  if (!failed.isEmpty()) qWarning("quantizing stories260K failed: %s", qPrintable(failed.at(0).at(0).toString()));
  return finished.count() == 1;
}

}  // namespace lowbit::testing
