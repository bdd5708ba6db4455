// tokenizer.json: loaded, then used to encode and decode a few strings, special tokens included.
#include "core/tokenizer/hf_tokenizer.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lowbit;
  const auto path = fuzz::write_scratch("tokenizer.json", fuzz::as_text(data, size));
  fuzz::expect_success_or_input_error([&] {
    const auto hf = tokenizer::HfTokenizer::load(path, fuzz::scratch_dir() / "no_tokenizer_config.json");
    for (const char* text : {"Hello world", " <s> it's 2024!\n\tçà ☃ 😀", ""}) {
      const std::vector<int64_t> ids = hf.encode(text, /*add_special_tokens=*/true);
      hf.decode(ids, /*skip_special_tokens=*/false);
      hf.decode(ids, /*skip_special_tokens=*/true);
    }
    hf.decode({0, 1, 2, -1, hf.vocab_size(), 1 << 30}, false);
  });
  return 0;
}
