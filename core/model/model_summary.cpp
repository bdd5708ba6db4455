#include "core/model/model_summary.h"

#include <cstdio>

#include "core/model/safetensors.h"
#include "core/quant/quant_config.h"
#include "core/tokenizer/chat_template.h"
#include "core/tokenizer/tokenizer.h"
#include "core/util/errors.h"
#include "core/util/format.h"

namespace lowbit::model {

ModelSummary summarize_model(const std::filesystem::path& model_dir) {
  ModelSummary summary;
  summary.folder = model_dir;
  summary.config = load_llama_config(model_dir);
  summary.parameters = parameter_count(summary.config);
  const SafetensorsCheckpoint checkpoint = SafetensorsCheckpoint::open_folder(model_dir);
  for (const std::string& name : checkpoint.names()) {
    ++summary.stored_dtypes[checkpoint.info(name).dtype];
    ++summary.tensor_count;
  }
  for (const std::filesystem::path& file : checkpoint.files()) {
    summary.weight_file_bytes += static_cast<int64_t>(std::filesystem::file_size(file));
  }
  if (const auto quant = quant::read_quant_config(model_dir.string())) summary.quantization = quant::describe(*quant);
  const auto tokenizer_file = tokenizer::find_tokenizer_file(model_dir);
  summary.has_tokenizer = tokenizer_file.has_value();
  summary.tokenizer = tokenizer_file ? tokenizer_file->describe() : "";
  try {
    const auto chat_template = tokenizer::load_model_chat_template(model_dir);
    summary.has_chat_template = chat_template.has_value();
    summary.chat_template = chat_template ? "from " + std::filesystem::path(chat_template->source_name).filename().string()
                                          : "none (chats use Alpaca)";
  } catch (const InputError& e) {
    summary.chat_template = std::string("cannot be used (chats use Alpaca): ") + e.problem();
  }
  summary.weights_fp16_bytes = summary.parameters * 2;
  const LlamaConfig& c = summary.config;
  summary.kv_cache_fp16_bytes_per_token = 2 * c.n_layer * c.n_head_kv * c.head_dim * 2;
  return summary;
}

}  // namespace lowbit::model
