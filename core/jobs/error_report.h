// The single translation of exceptions into what a person sees, used by both front ends: the CLI prints
// `user_message` and exits with `exit_code`; the GUI shows it in a dialog. `log_detail` (with backtraces from
// LibTorch) goes to the run's log file only.
//
//   try { job.run(events, cancel); } catch (...) { ErrorReport r = describe_current_exception(); ... }
#pragma once

#include <string>

namespace lowbit::jobs {

enum class ErrorKind { Usage, Input, Resource, Network, Cancelled, Internal, Unknown };

struct ErrorReport {
  ErrorKind kind = ErrorKind::Unknown;
  std::string user_message;
  std::string log_detail;
  int exit_code = 1;
};

// Exit codes of `lowbit`, one per ErrorKind (documented in `lowbit --help`).
inline constexpr int kExitOk = 0;
inline constexpr int kExitInternal = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitInput = 3;
inline constexpr int kExitResource = 4;
inline constexpr int kExitNotImplemented = 5;
inline constexpr int kExitNetwork = 6;
inline constexpr int kExitCancelled = 130;

// Call only inside a catch block.
ErrorReport describe_current_exception();

}  // namespace lowbit::jobs
