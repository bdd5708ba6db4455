// config.json and generation_config.json of a model folder, and an adapter's adapter_config.json: the same bytes
// go to all three readers.
#include <nlohmann/json.hpp>

#include "core/lora/adapter_config.h"
#include "core/model/llama_config.h"
#include "core/util/json_limits.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lowbit;
  fuzz::expect_success_or_input_error([&] {
    const nlohmann::json config = util::parse_json(fuzz::as_text(data, size), "config.json", util::kConfigJsonLimits);
    fuzz::expect_success_or_input_error([&] {
      const model::LlamaConfig parsed = model::parse_llama_config(config, "config.json");
      (void)model::parameter_count(parsed);
    });
    fuzz::expect_success_or_input_error([&] { lora::parse_adapter_config(config, "adapter_config.json"); });
  });
  return 0;
}
