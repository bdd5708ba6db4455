// Named tolerances for comparisons with reference implementations, each with its reason.
#pragma once

namespace lowbit::testing {

// fp32 forward vs transformers' fp32 forward: both sum the same products in different orders (SDPA vs eager
// attention, different GEMM blocking); relative to the largest logit the difference stays ~1e-6, the issue's
// bound is 1e-4.
inline constexpr double kLogitsRelativeTolerance = 1e-4;

// Perplexity vs transformers: the bound, 0.1 %.
inline constexpr double kPerplexityRelativeTolerance = 1e-3;

}  // namespace lowbit::testing
