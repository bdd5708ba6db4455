// lowbit bench kernels: the table of core/quant/kernel_bench with the targets judged at the end.
#include <cstdio>

#include "commands.h"
#include "core/jobs/error_report.h"
#include "core/model/llama_model.h"
#include "core/quant/kernel_bench.h"
#include "core/system/device.h"
#include "core/util/arg_parser.h"
#include "core/util/errors.h"
#include "kernels/device_query.h"

namespace lowbit::cli {
namespace {

const quant::KernelBenchRow* find_row(const std::vector<quant::KernelBenchRow>& rows, int64_t k, int64_t n,
                                      int64_t row_count, int bits) {
  for (const quant::KernelBenchRow& row : rows) {
    if (row.k_in == k && row.n_out == n && row.rows == row_count && row.bits == bits) return &row;
  }
  return nullptr;
}

void print_target(bool judged, const std::string& what, double value, const char* unit, const std::string& goal, bool met) {
  std::printf("target: %s: %.2f%s (goal %s) %s\n", what.c_str(), value, unit, goal.c_str(),
              judged ? (met ? "met" : "missed") : "(the goals are for the GPU; shown for information)");
}

}  // namespace

int run_bench_kernels(const std::vector<std::string>& arguments) {
  const ArgParser args("bench kernels", arguments,
                       {{"--device", true}, {"--dtype", true}, {"--shapes", true}, {"--rows", true}, {"--bits", true},
                        {"--repeats", true}, {"--group-size", true}});
  args.finish(0);
  const at::Device device = system::resolve_device(args.value("--device").value_or("auto"));
  quant::KernelBenchSettings settings = quant::default_kernel_bench_settings(device);
  if (const auto dtype = args.value("--dtype")) settings.dtype = model::parse_dtype(*dtype);
  if (device.is_cpu() && settings.dtype != at::kFloat) {
    throw UsageError("bench kernels: the CPU kernels compute in float32; leave out --dtype or use --device cuda");
  }
  if (const auto shapes = args.list("--shapes")) {
    settings.shapes.clear();
    for (const std::string& shape : *shapes) {
      const size_t x = shape.find('x');
      if (x == std::string::npos) throw UsageError("bench kernels: --shapes takes KxN items such as 4096x11008, not '" + shape + "'");
      settings.shapes.emplace_back(args.integer_in("--shapes", shape.substr(0, x), 32, 1 << 17),
                                   args.integer_in("--shapes", shape.substr(x + 1), 32, 1 << 17));
    }
  }
  if (const auto rows = args.integer_list("--rows", 1, 1 << 16)) settings.rows = *rows;
  if (const auto bits = args.integer_list("--bits", 2, 8)) {
    settings.bits.clear();
    for (const int64_t value : *bits) {
      if (value != 2 && value != 3 && value != 4 && value != 8) throw UsageError("bench kernels: --bits takes 2, 3, 4 or 8");
      settings.bits.push_back(static_cast<int>(value));
    }
  }
  settings.repeats = args.integer("--repeats", settings.repeats, 1, 10000);
  settings.group_size = args.integer("--group-size", settings.group_size, 32, 1 << 17);
  for (const auto& [k, n] : settings.shapes) {
    for (const int bits : settings.bits) {
      if ((k * bits) % 32 != 0 || (n * bits) % 32 != 0) {
        throw UsageError("bench kernels: a " + std::to_string(k) + "x" + std::to_string(n) + " layer cannot be stored at " +
                         std::to_string(bits) + " bits (K·bits and N·bits must be multiples of 32)");
      }
    }
  }

  const double bandwidth = device.is_cuda() ? kernels::peak_memory_bandwidth(device.index() < 0 ? 0 : device.index()) : 0.0;
  std::printf("kernel benchmark: %s, %s activations, group %lld, %lld calls each after one warm-up; ", device.str().c_str(),
              model::dtype_name(settings.dtype).c_str(), static_cast<long long>(settings.group_size),
              static_cast<long long>(settings.repeats));
  if (bandwidth > 0) std::printf("peak memory bandwidth %.0f GB/s\n", bandwidth / 1e9);
  else std::printf("no bandwidth limit known for this device\n");
  std::printf("results checked against an fp32 product of the dequantized weight before timing (max relative error %.0e)\n",
              quant::kernel_bench_tolerance(settings.dtype));
  std::printf("times in microseconds per call; 'dense' is the weight in %s, 'fp32-deq' dequantizes to fp32, casts and multiplies\n",
              model::dtype_name(settings.dtype).c_str());
  std::printf("%-11s %5s %4s %6s | %9s %9s | %9s %9s | %9s %9s | %8s %6s %8s | %7s %7s %7s\n", "KxN", "rows", "bits",
              "path", "ours fwd", "ours dx", "dense fwd", "dense dx", "fp32 fwd", "fp32 dx", "GB/s", "%peak",
              "TFLOP/s", "x dense", "fwd+dx", "vs fp32");
  const auto print_row = [&](const quant::KernelBenchRow& r, int64_t done, int64_t total) {
    const double gbps = r.forward_bytes / r.forward_s / 1e9;
    const double tflops = 2.0 * static_cast<double>(r.rows * r.k_in * r.n_out) / r.forward_s / 1e12;
    char peak[16] = "-";
    if (bandwidth > 0) std::snprintf(peak, sizeof peak, "%.0f", 100.0 * r.forward_bytes / bandwidth / r.forward_s);
    const std::string shape = std::to_string(r.k_in) + "x" + std::to_string(r.n_out);
    std::printf("%-11s %5lld %4d %6s | %9.1f %9.1f | %9.1f %9.1f | %9.1f %9.1f | %8.1f %6s %8.3f | %6.2fx %6.2fx %6.2fx  [%lld/%lld]\n",
                shape.c_str(), static_cast<long long>(r.rows), r.bits, r.decode_kernel ? "fused" : "deq", r.forward_s * 1e6,
                r.input_grad_s * 1e6, r.dense_forward_s * 1e6, r.dense_input_grad_s * 1e6, r.fp32_forward_s * 1e6,
                r.fp32_input_grad_s * 1e6, gbps, peak, tflops, r.dense_forward_s / r.forward_s,
                (r.forward_s + r.input_grad_s) / (r.dense_forward_s + r.dense_input_grad_s),
                (r.forward_s + r.input_grad_s) / (r.fp32_forward_s + r.fp32_input_grad_s), static_cast<long long>(done),
                static_cast<long long>(total));
    std::fflush(stdout);
  };
  const std::vector<quant::KernelBenchRow> rows = quant::run_kernel_bench(settings, print_row, interrupt_token());
  std::printf("columns: 'x dense' = dense fwd / ours fwd (above 1: ours faster); 'fwd+dx' = (ours fwd+dx) / (dense fwd+dx) "
              "and 'vs fp32' = (ours fwd+dx) / (fp32-deq fwd+dx) (below 1: ours faster)\n");

  const bool judged = device.is_cuda();
  for (const int bits : {4, 2}) {
    if (const quant::KernelBenchRow* r = find_row(rows, 4096, 11008, 1, bits)) {
      const std::string name = "INT" + std::to_string(bits) + " decode, 1 row, 4096x11008";
      const double goal = bits == 4 ? 3.0 : 4.0;
      print_target(judged, name + ", speed-up over dense " + model::dtype_name(settings.dtype), r->dense_forward_s / r->forward_s,
                   "x", ">= " + std::to_string(static_cast<int>(goal)) + "x", r->dense_forward_s / r->forward_s >= goal);
      if (bandwidth > 0) {
        const double share = r->forward_bytes / bandwidth / r->forward_s;
        print_target(judged, name + ", share of the bandwidth limit", 100.0 * share, "%", ">= 70%", share >= 0.70);
      }
    }
  }
  if (const quant::KernelBenchRow* r = find_row(rows, 4096, 11008, 2048, 4)) {
    const double ours = r->forward_s + r->input_grad_s;
    print_target(judged, "INT4 2048 rows 4096x11008, forward + input gradient over dense",
                 ours / (r->dense_forward_s + r->dense_input_grad_s), "x", "<= 1.1x",
                 ours <= 1.1 * (r->dense_forward_s + r->dense_input_grad_s));
    print_target(judged, "INT4 2048 rows 4096x11008, forward + input gradient over dequantize-to-fp32-then-GEMM",
                 ours / (r->fp32_forward_s + r->fp32_input_grad_s), "x", "< 1x",
                 ours < r->fp32_forward_s + r->fp32_input_grad_s);
  }
  return jobs::kExitOk;
}

}  // namespace lowbit::cli
