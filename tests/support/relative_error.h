// How far a tensor is from a reference: the largest absolute difference over the reference's largest magnitude,
// computed in float64 (the measure every logits and kernel comparison in these tests uses).
#pragma once

#include <ATen/ATen.h>
#include <gtest/gtest.h>

namespace lowbit::testing {

inline double relative_max_error(const at::Tensor& actual, const at::Tensor& expected) {
  const double scale = expected.abs().max().item<double>();
  EXPECT_GT(scale, 0) << "all-zero reference";
  return (actual.to(at::kDouble) - expected.to(at::kDouble)).abs().max().item<double>() / scale;
}

}  // namespace lowbit::testing
