// A chat template (chat_template.jinja, or tokenizer_config.json's "chat_template"), parsed and rendered with a
// short conversation as transformers would render it.
#include "core/tokenizer/chat_template.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lowbit;
  fuzz::expect_success_or_input_error([&] {
    const auto chat = tokenizer::ChatTemplate::parse(std::string(fuzz::as_text(data, size)), "fuzz.jinja");
    const std::vector<tokenizer::ChatMessage> messages = {
        {"system", "You are brief."}, {"user", "Hi"}, {"assistant", "Hello!"}, {"user", "2+2?"}};
    nlohmann::ordered_json variables = {{"bos_token", "<s>"}, {"eos_token", "</s>"}};
    chat.render(messages, /*add_generation_prompt=*/true, variables);
  });
  return 0;
}
