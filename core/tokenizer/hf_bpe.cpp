#include "core/tokenizer/hf_bpe.h"

#include <algorithm>
#include <functional>

#include "core/tokenizer/hf_unicode.h"
#include "core/util/errors.h"

namespace lowbit::tokenizer::hf_detail {
namespace {

using nlohmann::json;

// Ids index a dense table; no real vocabulary comes near this, and a larger id is far more likely a typo.
constexpr int64_t kMaxTokenId = (int64_t{1} << 24) - 1;

const char* const kResave = "the file does not follow the tokenizers library's format; re-save it with "
                            "tokenizers or transformers' save_pretrained";

uint64_t mix64(uint64_t x) {  // splitmix64 finalizer: merge keys are small, structured integers
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

std::size_t table_size_for(std::size_t n) {
  std::size_t size = 16;
  while (size < n * 2) size <<= 1;
  return size;
}

std::string json_quoted(const std::string& text) { return json(text).dump(); }

struct QueuedMerge {
  uint32_t rank;
  uint32_t pos;
  int32_t new_id;
};

// std heap helpers build a max-heap; "greater" here means later: higher rank, then further right.
bool later(const QueuedMerge& a, const QueuedMerge& b) { return a.rank != b.rank ? a.rank > b.rank : a.pos > b.pos; }

struct Symbol {
  int32_t id;
  int32_t prev;
  int32_t next;
  bool alive;
};

}  // namespace

std::shared_ptr<const BpeModel> BpeModel::from_json(const json& model, const std::string& path) {
  auto bpe = std::make_shared<BpeModel>();
  const auto optional_field = [&](const char* field) -> const json* {
    const auto it = model.find(field);
    return it == model.end() || it->is_null() ? nullptr : &*it;
  };

  if (const json* dropout = optional_field("dropout")) {
    if (!dropout->is_number() || dropout->get<double>() != 0.0)
      throw InputError(path, "model.dropout " + dropout->dump() + " is not supported (BPE dropout is random)",
                       "LowBit supports deterministic BPE only; set \"dropout\" to null");
  }
  for (const char* field : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    if (const json* value = optional_field(field))
      throw InputError(path, std::string("model.") + field + " " + value->dump() + " is not supported yet",
                       "LowBit supports BPE vocabularies without subword prefixes or word suffixes "
                       "(byte-level and sentencepiece-style ones)");
  }
  const auto flag = [&](const char* field) {
    const json* value = optional_field(field);
    if (value == nullptr) return false;
    if (!value->is_boolean()) throw InputError(path, std::string("model.") + field + " is not true or false", kResave);
    return value->get<bool>();
  };
  bpe->fuse_unk_ = flag("fuse_unk");
  bpe->byte_fallback_ = flag("byte_fallback");
  bpe->ignore_merges_ = flag("ignore_merges");

  // Vocabulary: token -> id, ids unique.
  const auto vocab_it = model.find("vocab");
  if (vocab_it == model.end() || !vocab_it->is_object())
    throw InputError(path, "model.vocab is missing or is not an object of token -> id", kResave);
  int64_t max_id = -1;
  for (const auto& [token, id] : vocab_it->items()) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > kMaxTokenId)
      throw InputError(path, "model.vocab entry " + json_quoted(token) + " has id " + id.dump() +
                                 ", expected an integer from 0 to " + std::to_string(kMaxTokenId), kResave);
    max_id = std::max(max_id, id.get<int64_t>());
  }
  bpe->tokens_.assign(static_cast<std::size_t>(max_id + 1), std::string());
  bpe->present_.assign(static_cast<std::size_t>(max_id + 1), 0);
  for (const auto& [token, id_json] : vocab_it->items()) {
    const auto id = static_cast<std::size_t>(id_json.get<int64_t>());
    if (bpe->present_[id])
      throw InputError(path, "model.vocab gives id " + std::to_string(id) + " to both " + json_quoted(bpe->tokens_[id]) +
                                 " and " + json_quoted(token), kResave);
    if (find_invalid_utf8(token) != token.size())
      throw InputError(path, "model.vocab entry with id " + std::to_string(id) + " is not valid UTF-8", kResave);
    bpe->tokens_[id] = token;
    bpe->present_[id] = 1;
  }
  bpe->token_slots_.assign(table_size_for(bpe->tokens_.size()), -1);
  const std::size_t token_mask = bpe->token_slots_.size() - 1;
  for (std::size_t id = 0; id < bpe->tokens_.size(); ++id) {
    if (!bpe->present_[id]) continue;
    std::size_t slot = std::hash<std::string_view>{}(bpe->tokens_[id]) & token_mask;
    while (bpe->token_slots_[slot] >= 0) slot = (slot + 1) & token_mask;
    bpe->token_slots_[slot] = static_cast<int32_t>(id);
  }

  static const char* const kHex = "0123456789ABCDEF";
  for (int b = 0; b < 256; ++b) {
    const std::string name = std::string("<0x") + kHex[b >> 4] + kHex[b & 15] + ">";
    bpe->byte_ids_[b] = bpe->find_token(name);
  }

  if (const json* unk = optional_field("unk_token")) {
    if (!unk->is_string()) throw InputError(path, "model.unk_token is not a string", kResave);
    bpe->unk_id_ = bpe->find_token(unk->get<std::string>());
    if (bpe->unk_id_ < 0)
      throw InputError(path, "model.unk_token " + unk->dump() + " is not in model.vocab",
                       "add the token to the vocabulary or set \"unk_token\" to null");
  }

  // Merges: "a b" strings (legacy) or ["a", "b"] pairs; rank = position. A repeated pair keeps its last rank, as
  // the crate's HashMap collect does.
  const auto merges_it = model.find("merges");
  if (merges_it == model.end() || !merges_it->is_array())
    throw InputError(path, "model.merges is missing or is not a list", kResave);
  bpe->merge_slots_.assign(table_size_for(merges_it->size()), MergeEntry{});
  const std::size_t merge_mask = bpe->merge_slots_.size() - 1;
  uint32_t rank = 0;
  for (std::size_t index = 0; index < merges_it->size(); ++index) {
    const json& entry = (*merges_it)[index];
    std::string left, right;
    const std::string where = "model.merges[" + std::to_string(index) + "] " + entry.dump();
    if (entry.is_string()) {
      const std::string line = entry.get<std::string>();
      if (line.rfind("#version", 0) == 0) continue;
      const auto space = line.find(' ');
      if (space == std::string::npos || line.find(' ', space + 1) != std::string::npos)
        throw InputError(path, where + " is not two tokens separated by one space", kResave);
      left = line.substr(0, space);
      right = line.substr(space + 1);
    } else if (entry.is_array() && entry.size() == 2 && entry[0].is_string() && entry[1].is_string()) {
      left = entry[0].get<std::string>();
      right = entry[1].get<std::string>();
    } else {
      throw InputError(path, where + " is neither \"a b\" nor [\"a\", \"b\"]", kResave);
    }
    const int32_t left_id = bpe->find_token(left), right_id = bpe->find_token(right);
    const int32_t new_id = bpe->find_token(left + right);
    const std::string missing = left_id < 0 ? left : right_id < 0 ? right : new_id < 0 ? left + right : std::string();
    if (left_id < 0 || right_id < 0 || new_id < 0)
      throw InputError(path, where + " refers to token " + json_quoted(missing) + ", which is not in model.vocab",
                       "the vocabulary and merges do not belong together; re-download the tokenizer");
    const uint64_t key = (static_cast<uint64_t>(left_id + 1) << 32) | static_cast<uint64_t>(right_id + 1);
    std::size_t slot = mix64(key) & merge_mask;
    while (bpe->merge_slots_[slot].key != 0 && bpe->merge_slots_[slot].key != key) slot = (slot + 1) & merge_mask;
    bpe->merge_slots_[slot] = MergeEntry{key, rank, new_id};
    ++rank;
  }

  bpe->cache_ = std::make_unique<CacheShard[]>(kCacheShards);
  return bpe;
}

int32_t BpeModel::find_token(std::string_view token) const {
  const std::size_t mask = token_slots_.size() - 1;
  std::size_t slot = std::hash<std::string_view>{}(token) & mask;
  while (true) {
    const int32_t id = token_slots_[slot];
    if (id < 0) return -1;
    if (tokens_[static_cast<std::size_t>(id)] == token) return id;
    slot = (slot + 1) & mask;
  }
}

const BpeModel::MergeEntry* BpeModel::find_merge(int32_t left, int32_t right) const {
  const uint64_t key = (static_cast<uint64_t>(left + 1) << 32) | static_cast<uint64_t>(right + 1);
  const std::size_t mask = merge_slots_.size() - 1;
  std::size_t slot = mix64(key) & mask;
  while (true) {
    const MergeEntry& entry = merge_slots_[slot];
    if (entry.key == key) return &entry;
    if (entry.key == 0) return nullptr;
    slot = (slot + 1) & mask;
  }
}

std::optional<int64_t> BpeModel::token_to_id(std::string_view token) const {
  const int32_t id = find_token(token);
  if (id < 0) return std::nullopt;
  return id;
}

const std::string* BpeModel::id_to_token(int64_t id) const {
  if (id < 0 || id >= static_cast<int64_t>(tokens_.size()) || !present_[static_cast<std::size_t>(id)]) return nullptr;
  return &tokens_[static_cast<std::size_t>(id)];
}

void BpeModel::merge_word(std::string_view word, std::vector<int32_t>& ids) const {
  std::vector<Symbol> symbols;
  symbols.reserve(word.size());
  const auto add = [&](int32_t id) {
    const auto n = static_cast<int32_t>(symbols.size());
    if (!symbols.empty()) symbols.back().next = n;
    symbols.push_back(Symbol{id, n - 1, -1, true});
  };

  // A run of unknown characters is pending until a known character arrives (byte fallback tokens do not flush it,
  // which reorders them before the unk token: the crate does the same).
  bool unk_pending = false;
  std::size_t pos = 0;
  while (pos < word.size()) {
    const std::size_t begin = pos;
    pos += utf8_length(static_cast<unsigned char>(word[pos]));
    const std::string_view ch = word.substr(begin, pos - begin);
    const int32_t id = find_token(ch);
    if (id >= 0) {
      if (unk_pending) add(unk_id_);
      unk_pending = false;
      add(id);
      continue;
    }
    if (byte_fallback_) {
      bool all_bytes = true;
      for (const char c : ch) all_bytes = all_bytes && byte_ids_[static_cast<unsigned char>(c)] >= 0;
      if (all_bytes) {
        for (const char c : ch) add(byte_ids_[static_cast<unsigned char>(c)]);
        continue;
      }
    }
    if (unk_id_ >= 0) {
      if (unk_pending && !fuse_unk_) add(unk_id_);
      unk_pending = true;
    }
    // Without an unk token the character is dropped, as in the crate.
  }
  if (unk_pending) add(unk_id_);

  std::vector<QueuedMerge> queue;
  queue.reserve(symbols.size());
  for (std::size_t i = 0; i + 1 < symbols.size(); ++i) {
    if (const MergeEntry* m = find_merge(symbols[i].id, symbols[i + 1].id))
      queue.push_back({m->rank, static_cast<uint32_t>(i), m->new_id});
  }
  std::make_heap(queue.begin(), queue.end(), later);
  while (!queue.empty()) {
    std::pop_heap(queue.begin(), queue.end(), later);
    const QueuedMerge top = queue.back();
    queue.pop_back();
    Symbol& current = symbols[top.pos];
    if (!current.alive || current.next < 0) continue;
    const auto next_pos = static_cast<std::size_t>(current.next);
    const Symbol right = symbols[next_pos];
    // Entries go stale when a neighbour merged first; the pair must still merge into the queued token.
    const MergeEntry* still = find_merge(current.id, right.id);
    if (still == nullptr || still->new_id != top.new_id) continue;

    current.id = top.new_id;
    current.next = right.next;
    symbols[next_pos].alive = false;
    if (right.next >= 0) symbols[static_cast<std::size_t>(right.next)].prev = static_cast<int32_t>(top.pos);

    if (current.prev >= 0) {
      const Symbol& prev = symbols[static_cast<std::size_t>(current.prev)];
      if (const MergeEntry* m = find_merge(prev.id, current.id)) {
        queue.push_back({m->rank, static_cast<uint32_t>(current.prev), m->new_id});
        std::push_heap(queue.begin(), queue.end(), later);
      }
    }
    if (current.next >= 0) {
      const Symbol& next = symbols[static_cast<std::size_t>(current.next)];
      if (const MergeEntry* m = find_merge(current.id, next.id)) {
        queue.push_back({m->rank, top.pos, m->new_id});
        std::push_heap(queue.begin(), queue.end(), later);
      }
    }
  }
  for (const auto& s : symbols) {
    if (s.alive) ids.push_back(s.id);
  }
}

void BpeModel::tokenize(std::string_view word, std::vector<int64_t>& out) const {
  if (word.empty()) return;
  if (ignore_merges_) {
    const int32_t id = find_token(word);
    if (id >= 0) {
      out.push_back(id);
      return;
    }
  }
  const bool cacheable = word.size() < kMaxCachedBytes;
  CacheShard* shard = nullptr;
  std::string key;
  if (cacheable) {
    shard = &cache_[std::hash<std::string_view>{}(word) % kCacheShards];
    key.assign(word.data(), word.size());
    std::lock_guard<std::mutex> lock(shard->mutex);
    const auto it = shard->words.find(key);
    if (it != shard->words.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  std::vector<int32_t> ids;
  merge_word(word, ids);
  out.insert(out.end(), ids.begin(), ids.end());
  if (cacheable) {
    // Like the crate's cache, a full shard stops taking new words rather than evicting.
    std::lock_guard<std::mutex> lock(shard->mutex);
    if (shard->words.size() < kCacheEntriesPerShard) shard->words.emplace(std::move(key), std::move(ids));
  }
}

}  // namespace lowbit::tokenizer::hf_detail
