#include "cli_events.h"

#include <cstdio>
#include <iostream>

#include "core/train/metric_names.h"
#include "core/util/format.h"

#ifdef _WIN32
#include <io.h>
#define LOWBIT_ISATTY _isatty
#define LOWBIT_FILENO _fileno
#else
#include <unistd.h>
#define LOWBIT_ISATTY isatty
#define LOWBIT_FILENO fileno
#endif

namespace lowbit::cli {

CliEvents::CliEvents(bool verbose) : verbose_(verbose), terminal_(LOWBIT_ISATTY(LOWBIT_FILENO(stderr)) != 0) {}

CliEvents::~CliEvents() { finish_line(); }

void CliEvents::finish_line() {
  if (bar_open_) {
    std::fputc('\n', stderr);
    bar_open_ = false;
  }
}

void CliEvents::progress(const jobs::Progress& p) {
  if (p.total <= 0) return;
  const double fraction = std::min(1.0, static_cast<double>(p.done) / static_cast<double>(p.total));
  const std::string described = train::metrics::describe_latest(latest_metrics_);
  const std::string metrics = described.empty() ? "" : "  " + described;
  const std::string eta = p.done >= p.total ? "done" : "ETA " + format_duration(p.eta_s);
  if (terminal_) {
    const auto now = std::chrono::steady_clock::now();
    if (p.done < p.total && now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    constexpr int kWidth = 30;
    const int filled = static_cast<int>(fraction * kWidth);
    std::fprintf(stderr, "\r[%s%s] %lld/%lld %s %3.0f%%  %s%s\033[K", std::string(filled, '#').c_str(),
                 std::string(kWidth - filled, '-').c_str(), static_cast<long long>(p.done),
                 static_cast<long long>(p.total), p.phase.c_str(), fraction * 100, eta.c_str(), metrics.c_str());
    bar_open_ = true;
    if (p.done >= p.total) finish_line();
  } else {
    const int decile = static_cast<int>(fraction * 10);
    if (decile == last_decile_) return;
    last_decile_ = decile;
    std::fprintf(stderr, "%lld/%lld %s (%.0f%%)  %s%s\n", static_cast<long long>(p.done),
                 static_cast<long long>(p.total), p.phase.c_str(), fraction * 100, eta.c_str(), metrics.c_str());
  }
  std::fflush(stderr);
}

void CliEvents::metric(const jobs::Metric& metric) { latest_metrics_[metric.name] = metric.value; }

void CliEvents::log(const jobs::LogLine& line) {
  if (line.level == jobs::LogLevel::Debug && !verbose_) return;
  finish_line();
  const char* prefix = line.level == jobs::LogLevel::Warning ? "warning: "
                       : line.level == jobs::LogLevel::Error ? "error: "
                                                             : "";
  std::fprintf(stderr, "%s%s\n", prefix, line.text.c_str());
}

void CliEvents::artifact(const jobs::Artifact& artifact) {
  finish_line();
  if (artifact.kind == "run_dir") {
    std::fprintf(stderr, "run folder: %s\n", artifact.path.c_str());
    return;
  }
  std::fprintf(stderr, "wrote %s: %s\n", artifact.kind.c_str(), artifact.path.c_str());
}

void CliEvents::token(const jobs::Token& token) {
  std::fwrite(token.text.data(), 1, token.text.size(), stdout);
  std::fflush(stdout);
}

}  // namespace lowbit::cli
