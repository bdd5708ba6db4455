// The first bytes of a model.safetensors: the 8-byte length, the JSON header, then (some of) the data.
#include "core/model/safetensors_header.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  lowbit::fuzz::expect_success_or_input_error(
      [&] { lowbit::model::parse_safetensors_header(data, size, "fuzz.safetensors"); });
  return 0;
}
