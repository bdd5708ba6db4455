// Time left for a job, computed once in core so that the CLI and the GUI show the same ETA.
//
//   EtaClock clock;                       // starts now
//   events.progress({"windows", done, total, clock.seconds_left(done, total)});
//
// The rate is that of the last units (a window), smoothed, so that the estimate neither stays inflated by a slow
// first unit (warm-up, caches filling) nor jumps each time a slower unit (an evaluation, a checkpoint) comes by.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <utility>

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

  // Remaining seconds; -1 before the first unit is done or when the total is unknown.
  double seconds_left(int64_t done, int64_t total) { return seconds_left_at(elapsed_s(), done, total); }

  // The same when `elapsed_s` seconds have passed since the start (paused time left out): for tests.
  double seconds_left_at(double elapsed_s, int64_t done, int64_t total) {
    if (done <= 0 || total <= 0) return -1;
    if (done >= total) return 0;
    if (samples_.empty() || done > samples_.back().second) {
      samples_.emplace_back(elapsed_s, done);
      if (samples_.size() > kWindowUnits + 1) samples_.pop_front();
      if (samples_.size() == 1) {
        rate_ = elapsed_s / static_cast<double>(done);  // one unit so far: all there is to go by
      } else {
        // From the first unit's end on: the first unit's own time (warm-up) does not count.
        const double window_rate = (samples_.back().first - samples_.front().first) /
                                   static_cast<double>(samples_.back().second - samples_.front().second);
        rate_ = samples_.size() == 2 ? window_rate : (1 - kSmoothing) * rate_ + kSmoothing * window_rate;
      }
    }
    return rate_ * static_cast<double>(total - done);
  }

 private:
  static constexpr size_t kWindowUnits = 20;
  static constexpr double kSmoothing = 0.2;  // rate = 0.8 · previous + 0.2 · the window's

  std::chrono::steady_clock::time_point start_;
  std::deque<std::pair<double, int64_t>> samples_;  // (elapsed seconds, units done), the last kWindowUnits + 1
  double rate_ = 0;                                 // seconds per unit
};

}  // namespace lowbit::jobs
