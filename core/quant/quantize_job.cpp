#include "core/quant/quantize_job.h"
#include "core/util/json_limits.h"

#include <c10/core/GradMode.h>

#include <chrono>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "core/data/calibration.h"
#include "core/jobs/eta.h"
#include "core/model/llama_model.h"
#include "core/model/architecture.h"
#include "core/model/safetensors.h"
#include "core/quant/gptq.h"
#include "core/quant/gptq_pack.h"
#include "core/system/device.h"
#include "core/system/memory_usage.h"
#include "core/tokenizer/tokenizer.h"
#include "core/util/atomic_file.h"
#include "core/util/errors.h"

namespace lowbit::quant {
namespace {

namespace fs = std::filesystem;
using model::LlamaTensor;

// Sums xᵀx over every row a projection sees (float32), shared by the projections that read the same input.
struct HessianSum {
  at::Tensor sum;
  int64_t samples = 0;
};

class CapturingLinear : public model::Linear {
 public:
  CapturingLinear(std::unique_ptr<model::Linear> inner, std::shared_ptr<HessianSum> hessian)
      : inner_(std::move(inner)), hessian_(std::move(hessian)) {}
  at::Tensor forward(const at::Tensor& x) const override {
    if (hessian_) {
      const at::Tensor rows = x.reshape({-1, x.size(-1)}).to(at::kFloat);
      if (!hessian_->sum.defined()) hessian_->sum = at::zeros({rows.size(1), rows.size(1)}, rows.options());
      hessian_->sum.addmm_(rows.t(), rows);
      hessian_->samples += x.dim() == 3 ? x.size(0) : 1;
    }
    return inner_->forward(x);
  }
  int64_t in_features() const override { return inner_->in_features(); }
  int64_t out_features() const override { return inner_->out_features(); }
  int64_t weight_bytes() const override { return inner_->weight_bytes(); }
  std::string describe() const override { return "capturing " + inner_->describe(); }

 private:
  std::unique_ptr<model::Linear> inner_;
  std::shared_ptr<HessianSum> hessian_;
};

struct ProjectionSlot {
  LlamaTensor tensor;
  std::unique_ptr<model::Linear> model::LlamaLayer::*member;
  std::string input;  // projections that read the same input share one Hessian
};

// q, k, v → o → gate, up → down: each step sees the outputs of the steps before it quantized.
const std::vector<std::vector<ProjectionSlot>>& true_sequential_groups() {
  static const std::vector<std::vector<ProjectionSlot>> groups = [] {
    const std::map<LlamaTensor, std::pair<int, std::string>> step_and_input = {
        {LlamaTensor::AttnQ, {0, "attn"}},  {LlamaTensor::AttnK, {0, "attn"}},     {LlamaTensor::AttnV, {0, "attn"}},
        {LlamaTensor::AttnOutput, {1, "o"}}, {LlamaTensor::FfnGate, {2, "mlp"}}, {LlamaTensor::FfnUp, {2, "mlp"}},
        {LlamaTensor::FfnDown, {3, "down"}}};
    std::vector<std::vector<ProjectionSlot>> steps(4);
    for (const model::LlamaProjection& p : model::llama_projections()) {
      const auto& [step, input] = step_and_input.at(p.tensor);
      steps[static_cast<size_t>(step)].push_back({p.tensor, p.member, input});
    }
    return steps;
  }();
  return groups;
}

const model::LlamaTensorSpec& spec_of(const model::LlamaConfig& config, LlamaTensor tensor) {
  for (const auto& spec : model::llama_tensor_names(config.architecture)) {
    if (spec.tensor == tensor) return spec;
  }
  throw InternalError("tensor missing from the architecture table");
}

std::string projection_prefix(const model::LlamaConfig& config, LlamaTensor tensor, int64_t layer) {
  const std::string name = model::hf_tensor_name(spec_of(config, tensor), layer);
  return name.substr(0, name.size() - std::string(".weight").size());
}

// The projection's bias where the architecture has one (Qwen2's q/k/v), else an undefined tensor.
at::Tensor projection_bias_tensor(const model::SafetensorsCheckpoint& checkpoint, const model::LlamaConfig& config,
                                  LlamaTensor tensor, int64_t layer) {
  const auto bias = model::projection_bias(config, tensor);
  if (!bias) return {};
  return checkpoint.tensor(model::hf_tensor_name(*model::find_tensor_spec(config, *bias), layer));
}

// Runs the layer over all calibration samples, a few at a time, and returns the outputs.
at::Tensor run_layer(const model::LlamaConfig& config, const model::LlamaLayer& layer, const at::Tensor& h,
                     const model::RopeTables& rope, const jobs::CancelToken& cancel) {
  constexpr int64_t kSamplesPerPass = 4;
  std::vector<at::Tensor> outputs;
  for (int64_t i = 0; i < h.size(0); i += kSamplesPerPass) {
    cancel.throw_if_cancelled();
    outputs.push_back(model::decoder_layer_forward(config, layer, h.narrow(0, i, std::min(kSamplesPerPass, h.size(0) - i)), rope));
  }
  return at::cat(outputs, 0);
}

// The GPTQ format needs every projection's input and output size to pack into whole 32-bit words. An MLP
// whose intermediate size does not (stories260K: 172) is padded with zero units: zero rows in gate/up and zero
// columns in down add silu(0)·0 = 0, so the padded model computes exactly the same function and loads anywhere
// as a model with the larger intermediate_size.
int64_t padded_intermediate_size(int64_t intermediate) { return (intermediate + 31) / 32 * 32; }

at::Tensor pad_projection(const at::Tensor& weight, LlamaTensor tensor, int64_t padded) {
  if (tensor == LlamaTensor::FfnGate || tensor == LlamaTensor::FfnUp) {
    return at::constant_pad_nd(weight, {0, 0, 0, padded - weight.size(0)});
  }
  if (tensor == LlamaTensor::FfnDown) return at::constant_pad_nd(weight, {0, padded - weight.size(1)});
  return weight;
}

// Copies keep the user's ownership of the output: writable even when the source files were read-only.
void copy_if_present(const fs::path& from, const fs::path& to) {
  if (!fs::exists(from)) return;
  fs::copy_file(from, to, fs::copy_options::overwrite_existing);
  fs::permissions(to, fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::add);
}

}  // namespace

void QuantizeJob::run(jobs::JobEvents& events, const jobs::CancelToken& cancel) {
  const auto started = std::chrono::steady_clock::now();
  c10::NoGradGuard no_grad;
  QuantConfig config = params_.config;
  if (!config.sym && config.checkpoint_format == "gptq") {
    config.checkpoint_format = "gptq_v2";
    events.log({jobs::LogLevel::Info, "asymmetric quantization is written as gptq_v2 (v1 cannot store a zero of 0)"});
  }
  if (config.method == QuantMethod::Rtn && config.desc_act) {
    config.desc_act = false;
    events.log({jobs::LogLevel::Warning, "act-order needs calibration statistics; ignored for RTN"});
  }
  validate(config, "quantization settings");
  if (config.method == QuantMethod::Gptq && !params_.calibration) {
    throw InputError("", "GPTQ needs calibration text", "pass --calib FILE (plain text or JSONL), or use --method rtn");
  }
  const fs::path& out = params_.out_dir;
  if (fs::exists(out)) {
    throw InputError(out.string(), "already exists", "choose another --out folder, or delete this one first");
  }
  check_output_folder_writable(out);
  // Held to the end: a second quantization into the same --out is refused now, with this process's pid.
  const ClaimedPartialFolder claimed(out);
  const model::LlamaConfig mc = model::load_llama_config(params_.model_dir);
  if (read_quant_config(params_.model_dir.string())) {
    throw InputError(params_.model_dir.string(), "is already quantized", "quantize the full-precision model");
  }
  const model::SafetensorsCheckpoint checkpoint = model::SafetensorsCheckpoint::open_folder(params_.model_dir);
  const at::Device device = system::resolve_device(params_.device);
  result_.device = device.str();
  const at::ScalarType dtype = model::default_compute_dtype(mc, device);
  if (device.is_cuda()) system::reset_peak_vram(device.index() < 0 ? 0 : device.index());

  at::Tensor h;  // calibration activations entering the current layer: [nsamples, seqlen, hidden]
  model::RopeTables rope;
  const std::string source = params_.model_dir.string();
  model::LoadOptions load_options{device, dtype};
  const auto& table = model::llama_tensor_names(mc.architecture);
  auto global_tensor = [&](LlamaTensor tensor) {
    for (const auto& spec : table) {
      if (spec.tensor == tensor) return checkpoint.tensor(model::hf_tensor_name(spec, 0));
    }
    throw InternalError("tensor table lacks a global tensor");
  };
  if (params_.calibration) {
    if (params_.seqlen > mc.max_position_embeddings) {
      throw InputError("", "--seqlen " + std::to_string(params_.seqlen) + " exceeds the model's context of " +
                               std::to_string(mc.max_position_embeddings),
                       "use --seqlen " + std::to_string(mc.max_position_embeddings) + " or less");
    }
    const tokenizer::Tokenizer tokenizer = tokenizer::Tokenizer::load(params_.model_dir, mc);
    const data::TextCorpus corpus = data::load_text_corpus(*params_.calibration);
    const at::Tensor windows = data::calibration_windows(corpus, tokenizer, params_.nsamples, params_.seqlen, params_.seed);
    events.log({jobs::LogLevel::Info, "calibration: " + std::to_string(params_.nsamples) + " windows of " +
                                          std::to_string(params_.seqlen) + " tokens from " +
                                          params_.calibration->filename().string() + ", seed " +
                                          std::to_string(params_.seed)});
    h = at::embedding(global_tensor(LlamaTensor::TokenEmbedding).to(device, dtype), windows.to(device));
    rope = model::rope_tables(model::rope_inverse_frequencies(mc).to(device), 0, params_.seqlen, dtype);
  }
  events.log({jobs::LogLevel::Info, "quantizing " + std::to_string(mc.n_layer) + " layers: " + describe(config)});
  if (mc.hidden_size % 32 != 0 || (mc.n_head * mc.head_dim) % 32 != 0 || (mc.n_head_kv * mc.head_dim) % 32 != 0) {
    throw InputError(source, "hidden size " + std::to_string(mc.hidden_size) + " or attention width is not a multiple of 32",
                     "the GPTQ checkpoint format cannot store this model's attention projections");
  }
  const int64_t intermediate = padded_intermediate_size(mc.intermediate_size);
  if (intermediate != mc.intermediate_size) {
    events.log({jobs::LogLevel::Info, "intermediate_size " + std::to_string(mc.intermediate_size) + " is padded to " +
                                          std::to_string(intermediate) +
                                          " with zero units (the same outputs) so that the GPTQ format can store the MLP"});
  }

  std::vector<std::pair<std::string, at::Tensor>> output;  // tensors of the quantized checkpoint (CPU)
  int64_t quantized_weights = 0, quantized_bytes = 0;
  jobs::EtaClock clock;
  events.progress({"layers", 0, mc.n_layer, -1});
  for (int64_t layer_index = 0; layer_index < mc.n_layer; ++layer_index) {
    cancel.throw_if_cancelled();
    model::LlamaLayer layer = model::load_llama_layer(checkpoint, mc, std::nullopt, layer_index, load_options, dtype, source);
    if (intermediate != mc.intermediate_size) {
      for (const auto& group : true_sequential_groups()) {
        for (const ProjectionSlot& slot : group) {
          const std::string name = projection_prefix(mc, slot.tensor, layer_index) + ".weight";
          const at::Tensor bias = projection_bias_tensor(checkpoint, mc, slot.tensor, layer_index);
          layer.*slot.member = std::make_unique<model::DenseLinear>(
              pad_projection(checkpoint.tensor(name), slot.tensor, intermediate).to(device, dtype),
              bias.defined() ? bias.to(device, dtype) : bias);
        }
      }
    }
    std::string layer_log = "layer " + std::to_string(layer_index + 1) + "/" + std::to_string(mc.n_layer) + ":";
    const auto& groups = true_sequential_groups();
    // Without true-sequential, every projection sees the inputs of the unquantized layer.
    std::vector<std::vector<ProjectionSlot>> steps;
    if (config.true_sequential) {
      for (const auto& group : groups) {
        std::vector<ProjectionSlot> step;
        for (const auto& slot : group) step.push_back(slot);
        steps.push_back(step);
      }
    } else {
      steps.emplace_back();
      for (const auto& group : groups) {
        for (const auto& slot : group) steps.back().push_back(slot);
      }
    }
    for (const std::vector<ProjectionSlot>& step : steps) {
      std::map<std::string, std::shared_ptr<HessianSum>> hessians;
      if (h.defined()) {
        for (const ProjectionSlot& slot : step) {
          auto& shared = hessians[slot.input];
          const bool first = shared == nullptr;
          if (first) shared = std::make_shared<HessianSum>();
          layer.*slot.member = std::make_unique<CapturingLinear>(std::move(layer.*slot.member), first ? shared : nullptr);
        }
        run_layer(mc, layer, h, rope, cancel);
      }
      for (const ProjectionSlot& slot : step) {
        cancel.throw_if_cancelled();
        const std::string prefix = projection_prefix(mc, slot.tensor, layer_index);
        const at::Tensor weight =
            pad_projection(checkpoint.tensor(prefix + ".weight"), slot.tensor, intermediate).to(device, at::kFloat);
        at::Tensor hessian;
        if (h.defined()) {
          const HessianSum& sum = *hessians.at(slot.input);
          hessian = sum.sum * (2.0 / static_cast<double>(sum.samples));
        }
        const QuantizedWeight quantized = config.method == QuantMethod::Gptq ? gptq_quantize(weight, hessian, config)
                                                                             : rtn_quantize(weight, config);
        const at::Tensor dequantized = dequantize(quantized).to(device);
        const double error = hessian.defined()
                                 ? relative_output_error(weight, dequantized, hessian)
                                 : (weight - dequantized).pow(2).sum().item<double>() / weight.pow(2).sum().item<double>();
        result_.projections.push_back({prefix, error});
        char text[64];
        std::snprintf(text, sizeof(text), " %s %.2e", prefix.substr(prefix.rfind('.') + 1).c_str(), error);
        layer_log += text;
        events.metric({"quant/relative_error", static_cast<int64_t>(result_.projections.size()), error});
        const GptqTensors packed = pack_gptq(quantized, config.zero_offset());
        for (const auto& [suffix, tensor] : std::vector<std::pair<const char*, at::Tensor>>{
                 {".qweight", packed.qweight}, {".qzeros", packed.qzeros}, {".scales", packed.scales},
                 {".g_idx", packed.g_idx}}) {
          output.emplace_back(prefix + suffix, tensor);
          quantized_bytes += static_cast<int64_t>(tensor.nbytes());
        }
        quantized_weights += weight.numel();
        const at::Tensor bias = projection_bias_tensor(checkpoint, mc, slot.tensor, layer_index);
        if (bias.defined()) output.emplace_back(prefix + ".bias", bias.to(at::kHalf).contiguous());
        // Later steps of this layer, and the next layer, see the quantized projection.
        layer.*slot.member = std::make_unique<model::DenseLinear>(dequantized.to(dtype),
                                                                  bias.defined() ? bias.to(device, dtype) : bias);
      }
    }
    if (h.defined()) h = run_layer(mc, layer, h, rope, cancel);
    for (const auto& spec : table) {
      if (spec.per_layer && (spec.tensor == LlamaTensor::AttnNorm || spec.tensor == LlamaTensor::FfnNorm)) {
        const std::string name = model::hf_tensor_name(spec, layer_index);
        output.emplace_back(name, checkpoint.tensor(name).to(at::kHalf).contiguous());
      }
    }
    events.log({jobs::LogLevel::Info, layer_log});
    events.progress({"layers", layer_index + 1, mc.n_layer, clock.seconds_left(layer_index + 1, mc.n_layer)});
  }
  for (const auto& spec : table) {
    // Per-layer tensors (biases included) were written with their layer.
    if (spec.per_layer || (spec.tensor == LlamaTensor::Output && mc.tie_word_embeddings)) continue;
    const std::string name = model::hf_tensor_name(spec, 0);
    output.emplace_back(name, checkpoint.tensor(name).to(at::kHalf).contiguous());
  }
  cancel.throw_if_cancelled();

  // Everything goes to OUT.partial first; the rename at the end is what makes the model appear.
  write_directory_atomically(out, [&](const fs::path& partial) {
    model::save_safetensors(partial / "model.safetensors", output,
                            {{"format", "pt"}, {"quantizer", "lowbit"}, {"gptq_bits", std::to_string(config.bits)},
                             {"gptq_group_size", std::to_string(config.group_size)},
                             {"gptq_checkpoint_format", config.checkpoint_format}});
    nlohmann::json model_config = util::read_json_file(params_.model_dir / "config.json", util::kConfigJsonLimits);
    model_config["quantization_config"] = to_json(config);
    model_config["torch_dtype"] = "float16";
    model_config["intermediate_size"] = intermediate;
    model_config.erase("dtype");
    write_text_file_atomically(partial / "config.json", model_config.dump(2) + "\n");
    write_text_file_atomically(partial / "quantize_config.json", to_json(config).dump(2) + "\n");
    for (const char* file : {"tokenizer.model", "tokenizer_config.json", "tokenizer.json", "special_tokens_map.json",
                             "generation_config.json"}) {
      copy_if_present(params_.model_dir / file, partial / file);
    }
  }, ExistingFolder::Refuse, claimed.lock());
  result_.config = config;
  result_.output_bytes = static_cast<int64_t>(fs::file_size(out / "model.safetensors"));
  result_.bits_per_weight = quantized_weights > 0 ? 8.0 * quantized_bytes / quantized_weights : 0;
  result_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  result_.peak_ram_bytes = system::peak_ram_bytes();
  result_.peak_vram_bytes = device.is_cuda() ? system::peak_vram_bytes(device.index() < 0 ? 0 : device.index()) : 0;
  events.artifact({"model", out.string()});
}

}  // namespace lowbit::quant
