// One line of a run's metrics.jsonl, as the app and `lowbit runs` read it.
#include "core/train/metrics_log.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  lowbit::train::MetricRecord record;
  lowbit::fuzz::expect_success_or_input_error(
      [&] { lowbit::train::parse_metrics_line(std::string(lowbit::fuzz::as_text(data, size)), record); });
  return 0;
}
