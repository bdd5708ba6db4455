// lowbit: the command-line front end. Parses arguments, runs core jobs, prints progress, and maps errors to
// exit codes through the one translation in core/jobs/error_report.h.
#include <csignal>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <utility>
#include <string>
#include <vector>

#include "commands.h"
#include "core/jobs/error_report.h"
#include "core/quant/quantize_settings.h"
#include "core/system/system_info.h"
#include "core/train/emef_settings.h"
#include "core/train/lrec_settings.h"
#include "core/version.h"

namespace lowbit::cli {

jobs::CancelToken& interrupt_token() {
  static jobs::CancelToken token;
  return token;
}

}  // namespace lowbit::cli

namespace {

using lowbit::jobs::kExitOk;
using lowbit::jobs::kExitUsage;

struct Command {
  std::string name;
  std::string usage;
  std::string summary;
  std::string options;  // one line per option, for the commands whose options come from a settings schema
  int (*run)(const std::vector<std::string>& args);
};

template <typename Schema>
Command schema_command(const Schema& schema, std::string summary, int (*run)(const std::vector<std::string>&),
                       std::vector<std::pair<std::string, std::string>> extra_options = {}) {
  return {schema.command(), schema.usage(), std::move(summary), schema.options_help(extra_options), run};
}

const std::vector<Command>& commands() {
  static const std::vector<Command> table = {
      {"info", "lowbit info MODEL", "show a model's architecture, size, dtype, quantization and memory needs", "",
       lowbit::cli::run_info},
      {"generate", "lowbit generate MODEL --prompt TEXT [--max-new-tokens N --temperature T --top-k K --top-p P "
                   "--repetition-penalty R --seed S --greedy --no-bos --template none|alpaca|model --device cpu|cuda|auto "
                   "--dtype float32|float16|bfloat16 --adapters DIR (repeatable, stacked in order)]",
       "continue a prompt with a model", "", lowbit::cli::run_generate},
      {"eval", "lowbit eval MODEL --text FILE [--protocol gptq|int21] [--seqlen N] [--stride N (int21)] "
               "[--batch-size N] [--max-windows N] [--max-tokens N] [--device cpu|cuda|auto] "
               "[--dtype float32|float16|bfloat16] [--adapters DIR ...]",
       "measure perplexity on a text or JSONL file", "", lowbit::cli::run_eval},
      schema_command(lowbit::quant::quantize_settings_schema(),
                     "quantize a model to 2/3/4/8 bits with GPTQ or RTN, in the GPTQ checkpoint format",
                     lowbit::cli::run_quantize),
      schema_command(lowbit::train::lrec_settings_schema(),
                     "repair quantization error with low-rank adapters distilled from the full model (LREC)",
                     lowbit::cli::run_correct, {{"--estimate", "print the memory the run needs and its settings (as config.json will hold them), and stop"}}),
      schema_command(lowbit::train::emef_settings_schema(),
                     "instruction-tune a quantized model with LoRA on Alpaca-style data (EMEF)", lowbit::cli::run_finetune,
                     {{"--estimate", "print the memory the run needs and its settings (as config.json will hold them), and stop"}}),
      {"resume", "lowbit resume RUN_DIR [--device cpu|cuda|auto]",
       "continue a stopped or crashed run (correct, finetune, or a New run pipeline) from its last checkpoint", "", lowbit::cli::run_resume},
      {"chat", "lowbit chat MODEL [--adapters DIR ... --template model|alpaca|none --system TEXT --max-new-tokens N "
               "--temperature T --top-k K --top-p P --repetition-penalty R --greedy --seed S --no-history --device D "
               "--dtype T]",
       "chat with a model in the terminal (in its own chat template when it has one, else Alpaca)", "",
       lowbit::cli::run_chat},
      {"import", "lowbit import FILE.gguf --out DIR [--dtype f16|f32 (for quantized GGUF tensors; default f16)]",
       "turn a GGUF file (Ollama, LM Studio, llama.cpp) into a Hugging Face model folder", "",
       lowbit::cli::run_import},
      {"download", "lowbit download REPO_ID [--revision R] [--include PATTERN ...] [--out DIR] [--list]",
       "fetch a model from the Hugging Face Hub (resumable, every file checked; token from HF_TOKEN)",
       "  --revision R        branch, tag or commit (default main)\n"
       "  --include PATTERN   download the files matching it (* and ?), e.g. \"*Q4_K_M.gguf\"; repeatable; default: "
       "the files LowBit uses (config, safetensors, tokenizer), never pickles\n"
       "  --out DIR           the model folder to make (default: the repository's name); an interrupted download "
       "resumes when run again with the same DIR\n"
       "  --list              print the files, which would be downloaded, and whether the model fits this GPU\n"
       "A gated or private model needs a token: HF_TOKEN, or the one `huggingface-cli login` saved; it goes to the\n"
       "Hub's own host only. HF_ENDPOINT selects a mirror; https_proxy a proxy.\n",
       lowbit::cli::run_download},
      {"export", "lowbit export MODEL [--adapters DIR ...] --to hf|gguf --out DIR [--dtype float16|float32] "
                 "[--type f16|q8_0|q4_0]",
       "merge a model and its adapters into a Hugging Face folder, or a GGUF file with an Ollama Modelfile",
       "  --adapters DIR   an adapter to merge in; repeatable, stacked in order (the correction, then the fine-tune)\n"
       "  --to hf          a merged Hugging Face folder: model.safetensors, config.json, tokenizer and chat template\n"
       "  --to gguf        a merged GGUF file (llama.cpp, Ollama, LM Studio) with the tokenizer and chat template, and an\n"
       "                   Ollama Modelfile, in DIR\n"
       "  --type T         the GGUF's weights: f16, q8_0 (default) or q4_0; q8_0 and q4_0 round the weights again\n"
       "  --out DIR        the new folder (it must not exist)\n"
       "  --dtype T        hf: float16 (default; half the size) or float32 (exactly the weights LowBit computes with)\n",
       lowbit::cli::run_export},
      {"bench", "lowbit bench generate MODEL [--prompt-tokens N --new-tokens N --repeats N --device D --dtype T "
                "--reference-python PYTHON] | lowbit bench tokenizer MODEL_OR_TOKENIZER_FILE --text FILE "
                "[--reference-python PYTHON] | lowbit bench kernels [--device cpu|cuda --dtype T --shapes KxN,... "
                "--rows 1,4,... --bits 2,3,4,8 --repeats N --group-size G]",
       "measure speed beside reference implementations (generate, tokenizer, quantized kernels)", "", lowbit::cli::run_bench},
  };
  return table;
}

void print_help(std::ostream& out) {
  out << "LowBit Studio command line " << lowbit::kLowBitVersion << "\n\n"
      << "Usage: lowbit [--version | --help] COMMAND [ARGS]\n\n"
      << "Commands:\n";
  for (const Command& command : commands()) {
    char line[160];
    std::snprintf(line, sizeof(line), "  %-10s %s\n", command.name.c_str(), command.summary.c_str());
    out << line;
  }
  out << "\nRun 'lowbit COMMAND --help' for a command's options.\n"
      << "\nExit codes: 0 success, 1 internal error, 2 usage error, 3 bad input file or setting,\n"
      << "4 not enough memory or disk, 6 network error, 130 cancelled.\n";
}

int print_version() {
  std::cout << "lowbit " << lowbit::kLowBitVersion << "\n"
            << lowbit::system::format_system_report(lowbit::system::collect_system_info(/*check_kernels=*/true));
  return kExitOk;
}

const Command* find_command(const std::string& name) {
  for (const Command& command : commands()) {
    if (name == command.name) return &command;
  }
  return nullptr;
}

bool wants_help(const std::vector<std::string>& args) {
  for (const std::string& arg : args) {
    if (arg == "--help" || arg == "-h") return true;
  }
  return false;
}

int run(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    print_help(std::cerr);
    return kExitUsage;
  }
  const std::string first = args.front();
  if (first == "--help" || first == "-h" || first == "help") {
    print_help(std::cout);
    return kExitOk;
  }
  if (first == "--version" || first == "-V") return print_version();
  const Command* command = find_command(first);
  if (command == nullptr) {
    std::cerr << "lowbit: unknown command '" << first << "'; run 'lowbit --help' to list the commands\n";
    return kExitUsage;
  }
  args.erase(args.begin());
  if (wants_help(args)) {
    std::cout << "Usage: " << command->usage << "\n\n" << command->summary << ".\n";
    if (!command->options.empty()) std::cout << "\nOptions:\n" << command->options;
    return kExitOk;
  }
  return command->run(args);
}

}  // namespace

extern "C" void request_cancel_on_interrupt(int) {
  // A second Ctrl-C ends the process at once, for when a step does not return.
  if (lowbit::cli::interrupt_token().is_requested()) std::_Exit(lowbit::jobs::kExitCancelled);
  lowbit::cli::interrupt_token().request();
}

int main(int argc, char** argv) {
  std::signal(SIGINT, request_cancel_on_interrupt);
  try {
    return run(argc, argv);
  } catch (...) {
    const lowbit::jobs::ErrorReport report = lowbit::jobs::describe_current_exception();
    std::cerr << "lowbit: " << report.user_message << "\n";
    return report.exit_code;
  }
}
