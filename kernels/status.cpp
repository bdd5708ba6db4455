#include <string>

#include "kernels/status.h"

namespace lowbit::kernels {
namespace {
thread_local std::string last_cuda_error;
}  // namespace

void set_last_cuda_error_text(const std::string& text) { last_cuda_error = text; }

const char* last_cuda_error_text() { return last_cuda_error.c_str(); }

}  // namespace lowbit::kernels
