#include "core/model/gradient_checkpoint.h"

#include <ATen/Context.h>
#include <torch/autograd.h>

#include <mutex>

namespace lowbit::model {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// The default generator of `device`, whose state decides dropout masks drawn on that device.
at::Generator device_generator(const at::Device& device) {
  return at::globalContext().defaultGenerator(device.type() == at::kCPU ? at::Device(at::kCPU) : device);
}

struct LayerCall {
  const LlamaConfig* config;
  const LlamaLayer* layer;
};

class CheckpointedLayer : public torch::autograd::Function<CheckpointedLayer> {
 public:
  // The parameters are inputs only so that autograd hands their gradients back through backward().
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& h, const at::Tensor& rope_cos,
                            const at::Tensor& rope_sin, at::TensorList parameters, LayerCall call) {
    at::Generator generator = device_generator(h.device());
    {
      std::lock_guard<std::mutex> lock(generator.mutex());
      ctx->saved_data["rng_state"] = generator.get_state();
    }
    ctx->saved_data["config"] = reinterpret_cast<int64_t>(call.config);
    ctx->saved_data["layer"] = reinterpret_cast<int64_t>(call.layer);
    ctx->saved_data["parameter_count"] = static_cast<int64_t>(parameters.size());
    ctx->save_for_backward({h, rope_cos, rope_sin});
    return decoder_layer_forward(*call.config, *call.layer, h, {rope_cos, rope_sin});
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const variable_list saved = ctx->get_saved_variables();
    const auto* config = reinterpret_cast<const LlamaConfig*>(ctx->saved_data["config"].toInt());
    const auto* layer = reinterpret_cast<const LlamaLayer*>(ctx->saved_data["layer"].toInt());
    const std::vector<at::Tensor> parameters = trainable_parameters(*layer);
    const bool h_needs_grad = ctx->needs_input_grad(0);
    const at::Tensor h = saved[0].detach().requires_grad_(h_needs_grad);

    at::Tensor output;
    {
      // Replay the forward pass's random stream so dropout draws the same masks, then put the stream back.
      // (The generator's mutex is held only around get/set: dropout takes it while drawing.)
      at::Generator generator = device_generator(h.device());
      at::Tensor current_state;
      {
        std::lock_guard<std::mutex> lock(generator.mutex());
        current_state = generator.get_state();
        generator.set_state(ctx->saved_data["rng_state"].toTensor());
      }
      at::AutoGradMode enable_grad(true);
      output = decoder_layer_forward(*config, *layer, h, {saved[1], saved[2]});
      std::lock_guard<std::mutex> lock(generator.mutex());
      generator.set_state(current_state);
    }
    variable_list wrt;
    if (h_needs_grad) wrt.push_back(h);
    wrt.insert(wrt.end(), parameters.begin(), parameters.end());
    const variable_list grads = torch::autograd::grad({output}, wrt, {grad_outputs[0]}, /*retain_graph=*/false,
                                                      /*create_graph=*/false, /*allow_unused=*/true);
    variable_list result;
    result.push_back(h_needs_grad ? grads[0] : at::Tensor());
    result.emplace_back();  // rope cos
    result.emplace_back();  // rope sin
    result.insert(result.end(), grads.begin() + (h_needs_grad ? 1 : 0), grads.end());
    result.emplace_back();  // the LayerCall
    return result;
  }
};

}  // namespace

std::vector<at::Tensor> trainable_parameters(const LlamaLayer& layer) {
  std::vector<at::Tensor> parameters;
  for (const LlamaProjection& projection : llama_projections()) {
    (layer.*projection.member)->append_trainable_parameters(parameters);
  }
  return parameters;
}

at::Tensor checkpointed_decoder_layer_forward(const LlamaConfig& config, const LlamaLayer& layer, const at::Tensor& h,
                                              const RopeTables& rope) {
  const std::vector<at::Tensor> parameters = trainable_parameters(layer);
  return CheckpointedLayer::apply(h, rope.cos, rope.sin, at::TensorList(parameters), LayerCall{&config, &layer});
}

}  // namespace lowbit::model
