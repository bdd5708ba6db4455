#include "core/data/calibration.h"

#include <random>

#include "core/util/errors.h"

namespace lowbit::data {

at::Tensor calibration_windows(const TextCorpus& corpus, const tokenizer::Tokenizer& tokenizer, int64_t count,
                               int64_t seqlen, uint64_t seed) {
  if (count < 1 || seqlen < 2) throw InputError("", "calibration needs at least 1 window of 2 tokens", "");
  const std::vector<int64_t> tokens = tokenizer.encode(join_documents(corpus, "\n\n"), /*add_bos=*/true);
  const auto available = static_cast<int64_t>(tokens.size());
  if (available <= seqlen) {
    throw InputError(corpus.path.string(),
                     "has " + std::to_string(available) + " tokens, too few for calibration windows of " +
                         std::to_string(seqlen),
                     "use a longer calibration text or a smaller --seqlen");
  }
  std::mt19937_64 generator(seed);
  std::uniform_int_distribution<int64_t> start(0, available - seqlen - 1);
  at::Tensor windows = at::empty({count, seqlen}, at::kLong);
  int64_t* out = windows.data_ptr<int64_t>();
  for (int64_t i = 0; i < count; ++i) {
    const int64_t begin = start(generator);
    std::copy(tokens.begin() + begin, tokens.begin() + begin + seqlen, out + i * seqlen);
  }
  return windows;
}

}  // namespace lowbit::data
