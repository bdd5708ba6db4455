// The `lowbit` subcommands. Each parses its arguments (lowbit::ArgParser), runs core jobs with CliEvents and
// returns the process exit code; errors propagate to main(), which translates them once.
#pragma once

#include <string>
#include <vector>

#include "core/jobs/job.h"

namespace lowbit::cli {

// Ctrl-C requests cancellation of the running job through this token.
jobs::CancelToken& interrupt_token();

int run_info(const std::vector<std::string>& args);
int run_generate(const std::vector<std::string>& args);
int run_chat(const std::vector<std::string>& args);
int run_eval(const std::vector<std::string>& args);
int run_bench(const std::vector<std::string>& args);
int run_bench_kernels(const std::vector<std::string>& args);
int run_quantize(const std::vector<std::string>& args);
int run_correct(const std::vector<std::string>& args);
int run_finetune(const std::vector<std::string>& args);
int run_resume(const std::vector<std::string>& args);
int run_import(const std::vector<std::string>& args);
int run_download(const std::vector<std::string>& args);
int run_export(const std::vector<std::string>& args);

}  // namespace lowbit::cli
