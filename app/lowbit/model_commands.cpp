// lowbit info / generate / chat / eval / bench generate.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <memory>
#include <sstream>

#ifndef _WIN32
#include <unistd.h>
#else
#include <io.h>
#define isatty _isatty
#define fileno _fileno
#endif

#include "cli_events.h"
#include "commands.h"
#include "core/eval/perplexity.h"
#include "core/generate/bench.h"
#include "core/generate/chat.h"
#include "core/generate/generate.h"
#include "core/jobs/error_report.h"
#include "core/lora/peft_adapter.h"
#include "core/model/model_summary.h"
#include "core/system/device.h"
#include "core/tokenizer/hf_tokenizer.h"
#include "core/util/arg_parser.h"
#include "core/util/errors.h"
#include "core/util/format.h"

#ifdef _WIN32
#define popen _popen
#define pclose _pclose
#endif

namespace lowbit::cli {
namespace {

const std::vector<OptionSpec> kLoadOptions = {{"--device", true}, {"--dtype", true}, {"--adapters", true, true}};

std::vector<OptionSpec> with_load_options(std::vector<OptionSpec> specs) {
  specs.insert(specs.end(), kLoadOptions.begin(), kLoadOptions.end());
  return specs;
}

struct LoadedModel {
  std::shared_ptr<const model::LlamaModel> model;
  std::shared_ptr<const tokenizer::Tokenizer> tokenizer;
};

LoadedModel load_model(const std::string& folder, const ArgParser& args) {
  model::LoadOptions options;
  options.device = system::resolve_device(args.value("--device").value_or("auto"));
  if (const auto dtype = args.value("--dtype")) options.dtype = model::parse_dtype(*dtype);
  LoadedModel loaded;
  auto model = model::LlamaModel::load(folder, options);
  // Stacked in the order given: the first adapter sits directly on the base weights.
  for (const std::string& adapter : args.values("--adapters")) lora::load_adapter(*model, adapter, /*trainable=*/false);
  loaded.tokenizer = std::make_shared<const tokenizer::Tokenizer>(tokenizer::Tokenizer::load(folder, model->config()));
  loaded.model = std::move(model);
  return loaded;
}

std::string device_label(const model::LlamaModel& model) {
  return model.device().str() + ", " + model::dtype_name(model.dtype());
}

}  // namespace

int run_info(const std::vector<std::string>& arguments) {
  const ArgParser args("info", arguments, {});
  const std::string folder = args.positional(0, "MODEL (a model folder)");
  args.finish(1);
  const model::ModelSummary s = model::summarize_model(folder);
  const model::LlamaConfig& c = s.config;
  std::ostringstream dtypes;
  for (const auto& [dtype, count] : s.stored_dtypes) dtypes << (dtypes.tellp() > 0 ? ", " : "") << dtype << " ×" << count;
  std::printf("Model:          %s\n", folder.c_str());
  std::printf("Architecture:   %s, %lld layers, hidden %lld, intermediate %lld\n", c.architecture.c_str(),
              static_cast<long long>(c.n_layer), static_cast<long long>(c.hidden_size),
              static_cast<long long>(c.intermediate_size));
  std::printf("Attention:      %lld heads, %lld key/value heads%s, head_dim %lld, rope theta %g%s\n",
              static_cast<long long>(c.n_head), static_cast<long long>(c.n_head_kv),
              c.n_head_kv < c.n_head ? " (GQA)" : "", static_cast<long long>(c.head_dim), c.rope_theta,
              c.rope_scaling.type == model::RopeScalingType::Llama3   ? ", llama3 rope scaling"
              : c.rope_scaling.type == model::RopeScalingType::Linear ? ", linear rope scaling"
                                                                      : "");
  std::printf("Vocabulary:     %lld tokens, embeddings %s, context %lld\n", static_cast<long long>(c.vocab_size),
              c.tie_word_embeddings ? "tied" : "untied", static_cast<long long>(c.max_position_embeddings));
  std::printf("Parameters:     %lld (%.2f M)\n", static_cast<long long>(s.parameters), s.parameters / 1e6);
  std::printf("Stored dtype:   %s (config: %s), %lld tensors\n", dtypes.str().c_str(), c.torch_dtype.c_str(),
              static_cast<long long>(s.tensor_count));
  std::printf("Size on disk:   %s of safetensors\n", format_bytes(s.weight_file_bytes).c_str());
  std::printf("Quantization:   %s\n", s.quantization.c_str());
  std::printf("Tokenizer:      %s\n", s.tokenizer.empty() ? "missing (neither tokenizer.json nor tokenizer.model)"
                                                           : s.tokenizer.c_str());
  std::printf("Chat template:  %s\n", s.chat_template.c_str());
  const int64_t context = c.max_position_embeddings;
  std::printf("Memory needed:  %s for fp16 weights + %s KV cache at %lld tokens (GPU); %s for fp32 weights (CPU)\n",
              format_bytes(s.weights_fp16_bytes).c_str(),
              format_bytes(s.kv_cache_fp16_bytes_per_token * context).c_str(), static_cast<long long>(context),
              format_bytes(s.parameters * 4).c_str());
  return jobs::kExitOk;
}

int run_generate(const std::vector<std::string>& arguments) {
  const ArgParser args("generate", arguments,
                       with_load_options({{"--prompt", true}, {"--max-new-tokens", true}, {"--temperature", true},
                                          {"--top-k", true}, {"--top-p", true}, {"--repetition-penalty", true},
                                          {"--seed", true}, {"--greedy", false}, {"--no-bos", false},
                                          {"--template", true}}));
  const std::string folder = args.positional(0, "MODEL (a model folder)");
  args.finish(1);
  generate::GenerateParams params;
  // --template model renders the prompt as one user turn in the model's chat template (and stops at its
  // end-of-turn token); alpaca wraps it in Alpaca's; none (the default) continues the text as it is.
  const data::PromptTemplate prompt_template =
      data::parse_prompt_template(args.choice("--template", "none", {"none", "alpaca", "model"}));
  const data::PromptFormat format = data::PromptFormat::for_model(folder, prompt_template, nullptr);
  params.prompt = format.conversation_prompt({}, args.required("--prompt"));
  params.stop_strings = format.stop_strings();
  params.max_new_tokens = args.integer("--max-new-tokens", 256, 0, 1 << 20);
  params.add_bos = format.add_special_tokens() && !args.flag("--no-bos");
  params.sampling.greedy = args.flag("--greedy");
  params.sampling.temperature = args.number("--temperature", params.sampling.temperature, 1e-4, 100);
  params.sampling.top_k = args.integer("--top-k", params.sampling.top_k, 0, 1 << 24);
  params.sampling.top_p = args.number("--top-p", params.sampling.top_p, 1e-6, 1);
  params.sampling.repetition_penalty = args.number("--repetition-penalty", 1.0, 1e-3, 100);
  if (const auto seed = args.optional_integer("--seed", 0, INT64_MAX)) params.seed = static_cast<uint64_t>(*seed);
  LoadedModel loaded = load_model(folder, args);
  auto tokenizer = std::make_shared<tokenizer::Tokenizer>(*loaded.tokenizer);
  format.add_stop_tokens(*tokenizer);
  loaded.tokenizer = tokenizer;

  CliEvents events;
  generate::GenerateJob job(loaded.model, loaded.tokenizer, params);
  std::fputs(params.prompt.c_str(), stdout);
  std::fflush(stdout);
  class TokensOnly : public jobs::IgnoreEvents {
   public:
    explicit TokensOnly(CliEvents& inner) : inner_(inner) {}
    void token(const jobs::Token& token) override { inner_.token(token); }
    void log(const jobs::LogLine& line) override { inner_.log(line); }

   private:
    CliEvents& inner_;
  } token_events(events);
  job.run(token_events, interrupt_token());
  std::fputc('\n', stdout);
  std::fflush(stdout);
  const generate::GenerateResult& r = job.result();
  const double decode_tps = r.generated_ids.size() > 1 ? (r.generated_ids.size() - 1) / r.decode_s : 0;
  std::fprintf(stderr, "[%zu prompt + %zu new tokens%s; prefill %.1f tokens/s, decode %.1f tokens/s; %s; seed %llu]\n",
               r.prompt_ids.size(), r.generated_ids.size(), r.stopped_at_eos ? ", stopped at end of text" : "",
               r.prompt_ids.size() / r.prefill_s, decode_tps, device_label(*loaded.model).c_str(),
               static_cast<unsigned long long>(r.seed));
  return jobs::kExitOk;
}

int run_chat(const std::vector<std::string>& arguments) {
  const ArgParser args("chat", arguments,
                       with_load_options({{"--max-new-tokens", true}, {"--temperature", true}, {"--top-k", true},
                                          {"--top-p", true}, {"--repetition-penalty", true}, {"--seed", true},
                                          {"--greedy", false}, {"--template", true}, {"--no-history", false},
                                          {"--system", true}}));
  const std::string folder = args.positional(0, "MODEL (a model folder)");
  args.finish(1);
  generate::ChatSettings settings;
  if (const auto name = args.value("--template")) {
    settings.prompt_template = data::parse_prompt_template(args.choice("--template", "model", {"model", "alpaca", "none"}));
  }
  settings.system_prompt = args.value("--system").value_or("");
  settings.max_new_tokens = args.integer("--max-new-tokens", 256, 1, 1 << 20);
  settings.sampling.greedy = args.flag("--greedy");
  settings.sampling.temperature = args.number("--temperature", settings.sampling.temperature, 1e-4, 100);
  settings.sampling.top_k = args.integer("--top-k", settings.sampling.top_k, 0, 1 << 24);
  settings.sampling.top_p = args.number("--top-p", settings.sampling.top_p, 1e-6, 1);
  settings.sampling.repetition_penalty = args.number("--repetition-penalty", 1.0, 1e-3, 100);
  settings.keep_history = !args.flag("--no-history");
  if (const auto seed = args.optional_integer("--seed", 0, INT64_MAX)) settings.seed = static_cast<uint64_t>(*seed);
  const LoadedModel loaded = load_model(folder, args);
  generate::ChatSession chat(loaded.model, loaded.tokenizer, settings);

  const bool interactive = isatty(fileno(stdin)) != 0;
  if (!chat.format_notice().empty()) std::fprintf(stderr, "Note: %s\n", chat.format_notice().c_str());
  std::fprintf(stderr, "Chatting with %s (%s; template: %s). Type a message and press Enter; /reset forgets the "
                       "conversation, /quit or Ctrl-D leaves, Ctrl-C stops an answer.\n",
               folder.c_str(), device_label(*loaded.model).c_str(), chat.format().describe().c_str());
  CliEvents events;
  class TokensOnly : public jobs::IgnoreEvents {
   public:
    void token(const jobs::Token& token) override {
      std::fputs(token.text.c_str(), stdout);
      std::fflush(stdout);
    }
  } token_events;
  for (std::string line;;) {
    if (interactive) std::fputs("\n> ", stdout);
    std::fflush(stdout);
    if (!std::getline(std::cin, line)) break;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line == "/quit" || line == "/exit") break;
    if (line == "/reset") {
      chat.reset();
      std::fputs("(conversation forgotten)\n", stdout);
      continue;
    }
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    interrupt_token().reset();  // a Ctrl-C meant for the previous answer must not stop this one
    if (!interactive) std::printf("> %s\n", line.c_str());
    const generate::ChatReply reply = chat.send(line, token_events, interrupt_token());
    std::fputc('\n', stdout);
    std::fflush(stdout);
    if (reply.cancelled) {
      std::fputs("(stopped)\n", stdout);
      interrupt_token().reset();
    } else if (reply.dropped_turns > 0) {
      std::fprintf(stderr, "[the %lld oldest turn(s) no longer fit the context and were left out]\n",
                   static_cast<long long>(reply.dropped_turns));
    }
  }
  return jobs::kExitOk;
}

int run_eval(const std::vector<std::string>& arguments) {
  const ArgParser args("eval", arguments,
                       with_load_options({{"--text", true}, {"--protocol", true}, {"--seqlen", true},
                                          {"--stride", true}, {"--batch-size", true}, {"--max-windows", true},
                                          {"--max-tokens", true}}));
  const std::string folder = args.positional(0, "MODEL (a model folder)");
  args.finish(1);
  eval::PerplexityParams params;
  params.protocol = eval::parse_protocol(args.choice("--protocol", "gptq", {"gptq", "int21"}));
  params.seqlen = args.integer("--seqlen", 2048, 2, 1 << 20);
  params.stride = args.integer("--stride", 512, 1, 1 << 20);
  params.batch_size = args.integer("--batch-size", 1, 1, 4096);
  params.max_windows = args.integer("--max-windows", 0, 0, INT64_MAX);
  params.max_tokens = args.integer("--max-tokens", 0, 0, INT64_MAX);
  const std::string text = args.required("--text");
  const LoadedModel loaded = load_model(folder, args);

  CliEvents events;
  eval::PerplexityJob job(loaded.model, loaded.tokenizer, text, params);
  job.run(events, interrupt_token());
  events.finish_line();
  const eval::PerplexityResult& r = job.result();
  std::printf("protocol %s, seqlen %lld%s, %lld windows, %lld tokens, %lld scored, mean NLL %.6f, %s\n",
              eval::to_string(params.protocol).c_str(), static_cast<long long>(params.seqlen),
              params.protocol == eval::PerplexityProtocol::Int21
                  ? (", stride " + std::to_string(params.stride)).c_str()
                  : "",
              static_cast<long long>(r.n_windows), static_cast<long long>(r.n_tokens),
              static_cast<long long>(r.n_scored), r.mean_nll, device_label(*loaded.model).c_str());
  std::printf("PPL %.6f\n", r.ppl);
  return jobs::kExitOk;
}

// Runs `command` and returns the last JSON object line it prints (the reference scripts print one).
nlohmann::json run_reference(const std::string& command, const std::string& what) {
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) throw ResourceError("could not start " + command);
  std::string output;
  char buffer[512];
  while (std::fgets(buffer, sizeof(buffer), pipe) != nullptr) output += buffer;
  const int status = pclose(pipe);
  std::string last_object;
  std::istringstream lines(output);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty() && line.front() == '{') last_object = line;
  }
  const nlohmann::json result = nlohmann::json::parse(last_object, nullptr, false);
  if (status != 0 || !result.is_object()) throw ResourceError(what + " failed (" + command + "): " + output);
  return result;
}

// Encoding speed of LowBit's tokenizer beside the Python `tokenizers` library on the same lines of a text file.
int run_bench_tokenizer(const std::vector<std::string>& arguments) {
  const ArgParser args("bench tokenizer", arguments,
                       {{"--text", true}, {"--reference-python", true}, {"--reference-script", true}});
  const std::filesystem::path source = args.positional(0, "MODEL_OR_TOKENIZER (a model folder or tokenizer.json)");
  args.finish(1);
  const std::filesystem::path text_path = args.required("--text");
  const std::optional<tokenizer::TokenizerFile> found =
      std::filesystem::is_directory(source) ? tokenizer::find_tokenizer_file(source)
                                            : std::optional<tokenizer::TokenizerFile>({tokenizer::TokenizerKind::HuggingFaceJson, source});
  if (!found) throw InputError(source.string(), "has no tokenizer.json or tokenizer.model", "give a model folder");
  const tokenizer::Tokenizer tokenizer = tokenizer::Tokenizer::load_file(found->path);
  // The same lines as the reference script: every non-empty line, CR stripped, one encode call each.
  const std::vector<std::string> lines = tokenizer::read_bench_lines(text_path);
  int64_t tokens = 0;
  const auto started = std::chrono::steady_clock::now();
  for (const std::string& line : lines) tokens += static_cast<int64_t>(tokenizer.encode(line, false).size());
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("tokenizer benchmark: %s on %s (%zu lines), one thread\n", found->path.string().c_str(),
              text_path.string().c_str(), lines.size());
  std::printf("%-28s %12s %10s %14s\n", "implementation", "tokens", "seconds", "tokens/s");
  std::printf("%-28s %12lld %10.3f %14.0f\n", "lowbit", static_cast<long long>(tokens), seconds, tokens / seconds);
  const auto python = args.value("--reference-python");
  if (!python) {
    std::printf("(add --reference-python .venv/bin/python to measure the Python tokenizers library beside it)\n");
    return jobs::kExitOk;
  }
  const std::string script = args.value("--reference-script").value_or(LOWBIT_SOURCE_DIR "/scripts/bench_tokenizer_hf.py");
  const nlohmann::json reference = run_reference("'" + *python + "' '" + script + "' --tokenizer '" +
                                                     found->path.string() + "' --text '" + text_path.string() + "'",
                                                 "the tokenizers reference");
  const double reference_rate = reference.value("tokens_per_s", 0.0);
  std::printf("%-28s %12lld %10.3f %14.0f\n", "tokenizers (Python library)", reference.value("tokens", 0LL),
              reference.value("seconds", 0.0), reference_rate);
  std::printf("%-28s %12s %10s %13.2fx\n", "lowbit / tokenizers", "", "", tokens / seconds / reference_rate);
  if (reference.value("tokens", 0LL) != tokens) {
    std::printf("note: the token counts differ (%lld vs %lld)\n", static_cast<long long>(tokens), reference.value("tokens", 0LL));
  }
  return jobs::kExitOk;
}

int run_bench(const std::vector<std::string>& arguments) {
  if (arguments.empty() || (arguments[0] != "generate" && arguments[0] != "kernels" && arguments[0] != "tokenizer")) {
    throw UsageError("lowbit bench: say what to measure: 'lowbit bench generate MODEL', 'lowbit bench tokenizer "
                     "MODEL --text FILE' or 'lowbit bench kernels'");
  }
  if (arguments[0] == "tokenizer") return run_bench_tokenizer({arguments.begin() + 1, arguments.end()});
  if (arguments[0] == "kernels") return run_bench_kernels({arguments.begin() + 1, arguments.end()});
  const std::vector<std::string> rest(arguments.begin() + 1, arguments.end());
  const ArgParser args("bench generate", rest,
                       with_load_options({{"--prompt-tokens", true}, {"--new-tokens", true}, {"--repeats", true},
                                          {"--reference-python", true}, {"--reference-script", true}}));
  const std::string folder = args.positional(0, "MODEL (a model folder)");
  args.finish(1);
  const int64_t prompt_tokens = args.integer("--prompt-tokens", 128, 1, 1 << 20);
  const int64_t new_tokens = args.integer("--new-tokens", 128, 1, 1 << 20);
  const int64_t repeats = args.integer("--repeats", 3, 1, 1000);
  const LoadedModel loaded = load_model(folder, args);
  const generate::GenerationBenchResult ours =
      generate::bench_generation(*loaded.model, prompt_tokens, new_tokens, repeats, interrupt_token());

  std::printf("generation benchmark: %s, %lld prompt tokens, %lld new tokens, median of %lld runs, %s\n",
              folder.c_str(), static_cast<long long>(prompt_tokens), static_cast<long long>(new_tokens),
              static_cast<long long>(repeats), device_label(*loaded.model).c_str());
  std::printf("%-28s %16s %16s\n", "implementation", "prefill tok/s", "decode tok/s");
  std::printf("%-28s %16.1f %16.1f\n", "lowbit", ours.prefill_tokens_per_s(), ours.decode_tokens_per_s());

  const auto python = args.value("--reference-python");
  if (!python) {
    std::printf("(add --reference-python .venv/bin/python to measure transformers beside it)\n");
    return jobs::kExitOk;
  }
  const std::string script = args.value("--reference-script").value_or(LOWBIT_SOURCE_DIR "/scripts/bench_generate_hf.py");
  const std::string dtype = model::dtype_name(loaded.model->dtype());
  const std::string command = "'" + *python + "' '" + script + "' --model '" + folder + "' --prompt-tokens " +
                              std::to_string(prompt_tokens) + " --new-tokens " + std::to_string(new_tokens) +
                              " --repeats " + std::to_string(repeats) + " --device " +
                              (loaded.model->device().is_cpu() ? "cpu" : "cuda") + " --dtype " + dtype;
  const nlohmann::json reference = run_reference(command, "the transformers reference");
  const double reference_prefill = reference.value("prefill_tokens_per_s", 0.0);
  const double reference_decode = reference.value("decode_tokens_per_s", 0.0);
  std::printf("%-28s %16.1f %16.1f\n", "transformers (same loop)", reference_prefill, reference_decode);
  std::printf("%-28s %15.2fx %15.2fx\n", "lowbit / transformers", ours.prefill_tokens_per_s() / reference_prefill,
              ours.decode_tokens_per_s() / reference_decode);
  return jobs::kExitOk;
}

}  // namespace lowbit::cli
