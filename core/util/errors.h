// The exceptions core/ throws. Each carries enough context for a person to act on it; layers add context as
// the exception rises ("loading tokenizer <path>: ..."). Front ends translate them once (core/jobs/error_report.h).
//
//   throw InputError(path, "tensor 'lm_head.weight' has shape [64, 512], expected [512, 64]",
//                    "re-export the checkpoint with transformers' save_pretrained");
#pragma once

#include <stdexcept>
#include <string>

namespace lowbit {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Bad files, arguments or configuration supplied by the user: what, where, and what to do about it.
class InputError : public Error {
 public:
  InputError(std::string path, std::string problem, std::string remedy)
      : Error(compose(path, problem, remedy)),
        path_(std::move(path)),
        problem_(std::move(problem)),
        remedy_(std::move(remedy)) {}

  const std::string& path() const { return path_; }
  const std::string& problem() const { return problem_; }
  const std::string& remedy() const { return remedy_; }

 private:
  static std::string compose(const std::string& path, const std::string& problem, const std::string& remedy) {
    std::string text = path.empty() ? problem : path + ": " + problem;
    if (!remedy.empty()) text += " (" + remedy + ")";
    return text;
  }
  std::string path_, problem_, remedy_;
};

// A command line that cannot be understood: unknown option, missing argument, value out of range.
class UsageError : public Error {
 public:
  using Error::Error;
};

// Not enough memory (host or GPU) or disk, or a device that cannot do what was asked.
class ResourceError : public Error {
 public:
  using Error::Error;
};

// A server that refuses (401, 403, 404, 429, 5xx) or a network that fails: what happened and what to do.
class NetworkError : public Error {
 public:
  using Error::Error;
};

// The user asked to stop. Not a failure: the job ends early and keeps its last complete checkpoint.
class Cancelled : public Error {
 public:
  Cancelled() : Error("cancelled") {}
};

// A broken invariant inside LowBit itself: a bug to report, never the user's fault.
class InternalError : public Error {
 public:
  using Error::Error;
};

}  // namespace lowbit
