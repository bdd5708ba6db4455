#include <gtest/gtest.h>

#include <cmath>

#include "core/generate/sampler.h"
#include "core/util/errors.h"

namespace lowbit::generate {
namespace {

at::Tensor logits_of(std::vector<float> values) { return at::tensor(values); }

TEST(Sampler, GreedyTakesTheArgmax) {
  Sampler sampler({true}, 1);
  EXPECT_EQ(sampler.next(logits_of({0.1f, 2.0f, 1.9f}), {}), 1);
}

TEST(Sampler, RepetitionPenaltyDividesPositiveAndMultipliesNegativeLogits) {
  SamplingSettings settings;
  settings.greedy = true;
  settings.repetition_penalty = 2.0;
  Sampler sampler(settings, 1);
  // Token 1 (2.0 → 1.0) falls below token 2 (1.9); the repeated negative token 0 gets more negative.
  EXPECT_EQ(sampler.next(logits_of({-0.5f, 2.0f, 1.9f}), {1, 1, 0}), 2);
}

TEST(Sampler, TopKOfOneAndTinyTopPAreGreedy) {
  SamplingSettings top_k_one;
  top_k_one.temperature = 5.0;
  top_k_one.top_k = 1;
  top_k_one.top_p = 1.0;
  SamplingSettings tiny_top_p;
  tiny_top_p.temperature = 5.0;
  tiny_top_p.top_k = 0;
  tiny_top_p.top_p = 0.01;
  Sampler a(top_k_one, 3), b(tiny_top_p, 3);
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(a.next(logits_of({1.0f, 1.5f, 1.4f, 0.0f}), {}), 1);
    EXPECT_EQ(b.next(logits_of({1.0f, 1.5f, 1.4f, 0.0f}), {}), 1);
  }
}

TEST(Sampler, TopPKeepsTheSmallestSetReachingP) {
  // Probabilities 0.5, 0.3, 0.2: top_p 0.7 keeps tokens 0 and 1 only.
  SamplingSettings settings;
  settings.temperature = 1.0;
  settings.top_k = 0;
  settings.top_p = 0.7;
  Sampler sampler(settings, 11);
  const at::Tensor logits = at::tensor({0.5, 0.3, 0.2}).log().to(at::kFloat);
  int counts[3] = {0, 0, 0};
  for (int i = 0; i < 4000; ++i) ++counts[sampler.next(logits, {})];
  EXPECT_EQ(counts[2], 0);
  EXPECT_NEAR(counts[0] / 4000.0, 0.5 / 0.8, 0.03);
}

TEST(Sampler, SamplesFollowTheSoftmaxAtTemperatureOne) {
  SamplingSettings settings;
  settings.temperature = 1.0;
  settings.top_k = 0;
  settings.top_p = 1.0;
  Sampler sampler(settings, 5);
  const at::Tensor logits = at::tensor({0.6, 0.3, 0.1}).log().to(at::kFloat);
  int counts[3] = {0, 0, 0};
  constexpr int kDraws = 6000;
  for (int i = 0; i < kDraws; ++i) ++counts[sampler.next(logits, {})];
  // 3 standard deviations of a binomial with p ≤ 0.6 over 6000 draws is ≤ 0.019.
  EXPECT_NEAR(counts[0] / double(kDraws), 0.6, 0.02);
  EXPECT_NEAR(counts[1] / double(kDraws), 0.3, 0.02);
  EXPECT_NEAR(counts[2] / double(kDraws), 0.1, 0.02);
}

TEST(Sampler, TheSameSeedGivesTheSameDraws) {
  SamplingSettings settings;
  settings.temperature = 1.5;
  Sampler a(settings, 42), b(settings, 42);
  const at::Tensor logits = at::randn({100});
  for (int i = 0; i < 20; ++i) EXPECT_EQ(a.next(logits, {}), b.next(logits, {}));
}

TEST(Sampler, RejectsSettingsOutOfRange) {
  SamplingSettings settings;
  settings.temperature = 0;
  EXPECT_THROW(Sampler(settings, 1), InputError);
  settings.temperature = 1;
  settings.top_p = 1.5;
  EXPECT_THROW(Sampler(settings, 1), InputError);
}

}  // namespace
}  // namespace lowbit::generate
