// Gradient checkpointing per decoder layer: the forward pass keeps only each layer's input, and the backward
// pass runs the layer again (with the same dropout masks) to get the activations it needs. Training memory for
// activations then grows with one hidden state per layer instead of every intermediate of every layer, which is
// what lets LREC/EMEF train a 7B model at seqlen 2048 on a consumer card.
#pragma once

#include <ATen/ATen.h>

#include "core/model/llama_model.h"

namespace lowbit::model {

// The trainable tensors (requires_grad) of a layer's projections, e.g. the A/B of trainable LoRA adapters.
std::vector<at::Tensor> trainable_parameters(const LlamaLayer& layer);

// decoder_layer_forward(config, layer, h, rope) for training, with the layer's intermediates recomputed in the
// backward pass instead of stored. Gradients reach h and trainable_parameters(layer) as without checkpointing.
at::Tensor checkpointed_decoder_layer_forward(const LlamaConfig& config, const LlamaLayer& layer, const at::Tensor& h,
                                              const RopeTables& rope);

}  // namespace lowbit::model
