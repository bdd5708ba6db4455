// Gradient checkpointing per decoder layer gives the gradients of the plain backward pass — through GPTQ-packed
// projections, stacked frozen adapters and LoRA dropout (the recomputation must draw the same masks).
#include <gtest/gtest.h>

#include <ATen/CPUGeneratorImpl.h>
#include <unistd.h>

#include "core/lora/peft_adapter.h"
#include "core/model/gradient_checkpoint.h"
#include "core/quant/gptq.h"
#include "core/quant/gptq_pack.h"
#include "core/quant/quant_linear.h"
#include "tests/support/random_model.h"

namespace lowbit::model {
namespace {

namespace fs = std::filesystem;

class GradientCheckpoint : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fs::temp_directory_path() / ("lowbit-ckpt-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    nlohmann::json config = testing::tiny_llama_config_json();
    config["num_key_value_heads"] = 4;  // k/v outputs of 32: the packed layout's multiple
    testing::write_random_llama(dir, 11, config);
  }

  // The random model with every projection replaced by its 3-bit RTN GPTQ-packed form.
  std::unique_ptr<LlamaModel> load_quantized() {
    auto model = LlamaModel::load(dir, {at::kCPU, at::kFloat});
    quant::QuantConfig config;
    config.bits = 3;
    config.group_size = 32;
    for (LlamaLayer& layer : model->layers()) {
      for (const LlamaProjection& projection : llama_projections()) {
        auto& slot = layer.*projection.member;
        const auto& dense = dynamic_cast<const DenseLinear&>(*slot);
        slot = std::make_unique<quant::QuantLinear>(quant::pack_gptq(quant::rtn_quantize(dense.weight(), config), 1),
                                                    config.bits, 1, at::Tensor(), at::kCPU);
      }
    }
    return model;
  }
  void TearDown() override { fs::remove_all(dir); }

  // Loss and the gradients of every trainable tensor for one forward/backward pass.
  std::pair<double, std::vector<at::Tensor>> loss_and_gradients(bool checkpointing, uint64_t dropout_seed = 123) {
    auto model = load_quantized();
    at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(9);
    lora::AdapterConfig frozen{{4, 8.0, 0.0}, {"q_proj", "down_proj"}, ""};
    for (const auto& entry : lora::attach_new_adapter(*model, frozen, false, 5)) {
      entry.layer->lora_b().normal_(0.0, 0.1, generator);
    }
    lora::AdapterConfig trained{{8, 16.0, 0.2}, {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}, ""};
    const auto adapter = lora::attach_new_adapter(*model, trained, true, 6);
    std::vector<at::Tensor> parameters;
    for (const auto& entry : adapter) {
      entry.layer->set_training(true);
      entry.layer->lora_b().detach().normal_(0.0, 0.05, generator);  // non-zero B: gradients reach A too
      parameters.push_back(entry.layer->lora_a());
      parameters.push_back(entry.layer->lora_b());
    }
    model->set_gradient_checkpointing(checkpointing);
    at::Generator id_generator = at::make_generator<at::CPUGeneratorImpl>(4);
    const at::Tensor ids = at::randint(3, 320, {2, 17}, id_generator, at::kLong);
    at::manual_seed(dropout_seed);
    const at::Tensor logits = model->forward(ids);
    const at::Tensor loss = at::cross_entropy_loss(logits.narrow(1, 0, 16).reshape({-1, 320}),
                                                   ids.narrow(1, 1, 16).reshape({-1}));
    loss.backward();
    std::vector<at::Tensor> gradients;
    for (const at::Tensor& p : parameters) gradients.push_back(p.grad().clone());
    return {loss.item<double>(), gradients};
  }

  fs::path dir;
};

TEST_F(GradientCheckpoint, GivesTheGradientsOfThePlainBackwardPass) {
  const auto [plain_loss, plain] = loss_and_gradients(false);
  const auto [checkpointed_loss, checkpointed] = loss_and_gradients(true);
  EXPECT_EQ(plain_loss, checkpointed_loss);
  ASSERT_EQ(plain.size(), checkpointed.size());
  ASSERT_EQ(plain.size(), 2u * 7 * 2);
  double largest = 0;
  for (size_t i = 0; i < plain.size(); ++i) {
    const double scale = plain[i].abs().max().item<double>();
    EXPECT_GT(scale, 0.0) << "tensor " << i << " got no gradient";
    largest = std::max(largest, scale);
    EXPECT_LE((plain[i] - checkpointed[i]).abs().max().item<double>(), 1e-6 * scale + 1e-12) << "tensor " << i;
  }
  EXPECT_GT(largest, 1e-4);
}

TEST_F(GradientCheckpoint, DropoutIsActiveSoEqualGradientsMeanEqualMasks) {
  // Guards the test above: other dropout masks (another seed) change the gradients, so the equality there
  // holds only because the recomputation replays the forward pass's masks.
  const auto [loss_a, a] = loss_and_gradients(true, 123);
  const auto [loss_b, b] = loss_and_gradients(true, 124);
  EXPECT_NE(loss_a, loss_b);
  EXPECT_GT((a[0] - b[0]).abs().max().item<double>(), 1e-6 * a[0].abs().max().item<double>());
}

}  // namespace
}  // namespace lowbit::model
