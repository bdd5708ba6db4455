// tokenizer_config.json beside a chat template: its chat_template entry (a string or a list of named templates)
// and its special tokens.
#include "core/tokenizer/chat_template.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lowbit;
  fuzz::write_scratch("tokenizer_config.json", fuzz::as_text(data, size));
  fuzz::expect_success_or_input_error([&] {
    if (const auto loaded = tokenizer::load_model_chat_template(fuzz::scratch_dir())) {
      loaded->chat_template.render({{"user", "Hi"}}, /*add_generation_prompt=*/true, loaded->special_tokens);
    }
  });
  return 0;
}
