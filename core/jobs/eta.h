// Time left for a job, computed once in core so that the CLI and the GUI show the same ETA.
//
//   EtaClock clock;                       // starts now
//   events.progress({"windows", done, total, clock.seconds_left(done, total)});
#pragma once

#include <chrono>
#include <cstdint>

namespace lowbit::jobs {

class EtaClock {
 public:
  EtaClock() : start_(std::chrono::steady_clock::now()) {}

  double elapsed_s() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

  // Leaves time the job spent waiting (paused) out of the rate.
  void exclude(double seconds) {
    start_ += std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(seconds));
  }

  // Remaining seconds at the average rate so far; -1 before the first unit is done or when the total is unknown.
  double seconds_left(int64_t done, int64_t total) const {
    if (done <= 0 || total <= 0) return -1;
    if (done >= total) return 0;
    return elapsed_s() / static_cast<double>(done) * static_cast<double>(total - done);
  }

 private:
  std::chrono::steady_clock::time_point start_;
};

}  // namespace lowbit::jobs
