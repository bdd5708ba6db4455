// The BPE model of a tokenizer.json (hf_tokenizer.h). Internal to core/tokenizer.
//
// tokenize() turns one pre-token into ids exactly as the `tokenizers` crate's BPE::tokenize: per character a
// vocabulary id, else its <0xXX> byte tokens (byte_fallback), else the unk token (fused when fuse_unk); then merges
// applied lowest rank first (leftmost on ties) with a priority queue. With ignore_merges a pre-token that is
// itself in the vocabulary is one token. Results for pre-tokens up to kMaxCachedBytes are cached, as the crate does.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace lowbit::tokenizer::hf_detail {

class BpeModel {
 public:
  // `model` is tokenizer.json's "model" object; errors name `path` and the offending entry.
  static std::shared_ptr<const BpeModel> from_json(const nlohmann::json& model, const std::string& path);

  // Appends the ids of one pre-token (valid UTF-8, may be empty).
  void tokenize(std::string_view word, std::vector<int64_t>& out) const;

  std::optional<int64_t> token_to_id(std::string_view token) const;
  const std::string* id_to_token(int64_t id) const;  // null when the vocabulary has no such id
  int64_t max_id() const { return static_cast<int64_t>(tokens_.size()) - 1; }
  bool byte_fallback() const { return byte_fallback_; }

  BpeModel(const BpeModel&) = delete;
  BpeModel& operator=(const BpeModel&) = delete;
  BpeModel() = default;

 private:
  static constexpr std::size_t kMaxCachedBytes = 256;   // as the crate's MAX_LENGTH
  static constexpr std::size_t kCacheShards = 16;
  static constexpr std::size_t kCacheEntriesPerShard = 8192;

  struct MergeEntry {
    uint64_t key = 0;  // (left id + 1) << 32 | (right id + 1); 0 marks an empty slot
    uint32_t rank = 0;
    int32_t new_id = 0;
  };
  struct CacheShard {
    std::mutex mutex;
    std::unordered_map<std::string, std::vector<int32_t>> words;
  };

  int32_t find_token(std::string_view token) const;  // -1 when absent
  const MergeEntry* find_merge(int32_t left, int32_t right) const;
  void merge_word(std::string_view word, std::vector<int32_t>& ids) const;

  std::vector<std::string> tokens_;       // by id; empty string for an unused id
  std::vector<uint8_t> present_;          // by id
  std::vector<int32_t> token_slots_;      // open addressing over tokens_, -1 empty
  std::vector<MergeEntry> merge_slots_;   // open addressing
  int32_t byte_ids_[256] = {};            // id of "<0xXX>" or -1
  int32_t unk_id_ = -1;
  bool fuse_unk_ = false;
  bool byte_fallback_ = false;
  bool ignore_merges_ = false;
  std::unique_ptr<CacheShard[]> cache_;
};

}  // namespace lowbit::tokenizer::hf_detail
