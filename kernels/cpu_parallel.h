// Work split over the CPU's cores by a pool of threads started once: the decode path calls it for every
// projection of every token (hundreds of times per token), where starting threads per call would cost more than
// the work.
//
//   parallel_for(count, min_per_task, [&](int64_t begin, int64_t end) { … });
#pragma once

#include <cstdint>
#include <functional>

namespace lowbit::kernels {

// Runs body over [0, count) cut into at most one range per core, each of at least min_per_task items, and
// returns when all are done. A call from inside a body, or while another thread's call runs, runs inline.
void parallel_for(int64_t count, int64_t min_per_task, const std::function<void(int64_t, int64_t)>& body);

// The number of threads parallel_for uses (hardware threads, at most 16).
int parallel_threads();

}  // namespace lowbit::kernels
