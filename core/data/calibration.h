// Calibration windows for quantization: `count` windows of `seqlen` tokens at seeded random positions of the
// tokenized text (documents joined with "\n\n", BOS once), as GPTQ samples WikiText-2/C4.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>

#include "core/data/text_corpus.h"
#include "core/tokenizer/tokenizer.h"

namespace lowbit::data {

// [count, seqlen] int64. InputError when the text has fewer than seqlen + 1 tokens.
at::Tensor calibration_windows(const TextCorpus& corpus, const tokenizer::Tokenizer& tokenizer, int64_t count,
                               int64_t seqlen, uint64_t seed);

}  // namespace lowbit::data
