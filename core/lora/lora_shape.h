// The shape of a LoRA adapter (rank, α, dropout), apart from its tensors: what a job's settings hold.
#pragma once

#include <cstdint>
#include <tuple>

namespace lowbit::lora {

struct LoraShape {
  int64_t rank = 8;
  double alpha = 16;
  double dropout = 0.0;
};

inline bool operator==(const LoraShape& a, const LoraShape& b) {
  return std::tie(a.rank, a.alpha, a.dropout) == std::tie(b.rank, b.alpha, b.dropout);
}

}  // namespace lowbit::lora
