// A GGUF file: header, metadata (strings, nested arrays) and tensor table.
#include "core/model/gguf_file.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lowbit;
  const auto path = fuzz::write_scratch("model.gguf", fuzz::as_text(data, size));
  fuzz::expect_success_or_input_error([&] { model::GgufFile::open(path); });
  return 0;
}
