// Every JSON file LowBit opens may come from a stranger, so each is read under limits checked before any value is
// built: total size, nesting depth, string length and value count. A file past a limit is an InputError naming the
// file and the limit, never a stack overflow or a multi-gigabyte allocation.
//
//   const nlohmann::json config = util::read_json_file(dir / "config.json", util::kConfigJsonLimits);
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace lowbit::util {

struct JsonLimits {
  uint64_t max_bytes;
  int max_depth;
  uint64_t max_string_bytes;
  uint64_t max_values;
};

constexpr uint64_t kMiB = uint64_t{1} << 20;

// config.json, generation_config.json, tokenizer_config.json (chat templates of a few hundred KB),
// adapter_config.json, quantize_config.json, a run's own config.json and run_state.json.
inline constexpr JsonLimits kConfigJsonLimits{64 * kMiB, 64, 16 * kMiB, 4'000'000};
// The safetensors format itself caps the header at 100 MB; a header is objects of arrays, three levels deep.
inline constexpr JsonLimits kSafetensorsHeaderLimits{100'000'000, 8, 1 * kMiB, 20'000'000};
// tokenizer.json: today's largest (Gemma, 256k tokens) are ~35 MB.
inline constexpr JsonLimits kTokenizerJsonLimits{1024 * kMiB, 64, 16 * kMiB, 100'000'000};
// An instruction or text dataset as one JSON document, and each line of a JSONL one.
inline constexpr JsonLimits kDatasetJsonLimits{4096 * kMiB, 32, 256 * kMiB, 400'000'000};
inline constexpr JsonLimits kDatasetLineLimits{256 * kMiB, 32, 256 * kMiB, 10'000'000};
// One line of a run's metrics.jsonl.
inline constexpr JsonLimits kMetricsLineLimits{1 * kMiB, 8, 64 * 1024, 10'000};
// A server's answer (the Hub's file list of a repository).
inline constexpr JsonLimits kServerJsonLimits{256 * kMiB, 32, 16 * kMiB, 20'000'000};

// Why `text` is past `limits` ("nests 200000 levels deep, more than the limit of 64"), or nullopt when within.
std::optional<std::string> json_limit_problem(std::string_view text, const JsonLimits& limits);

// Parses `text`; throws InputError(source, problem, remedy) when it is past a limit or not valid JSON.
nlohmann::json parse_json(std::string_view text, const std::string& source, const JsonLimits& limits);
nlohmann::ordered_json parse_ordered_json(std::string_view text, const std::string& source, const JsonLimits& limits);

// The parse of `text`, or nullopt when it is past a limit or not valid JSON: for files LowBit wrote itself, whose
// callers say in their own words what a damaged one means.
std::optional<nlohmann::json> parse_json_or_none(std::string_view text, const JsonLimits& limits);

// Reads and parses a file, refusing one larger than limits.max_bytes before reading it.
nlohmann::json read_json_file(const std::filesystem::path& path, const JsonLimits& limits);
nlohmann::ordered_json read_ordered_json_file(const std::filesystem::path& path, const JsonLimits& limits);
std::optional<nlohmann::json> read_json_file_or_none(const std::filesystem::path& path, const JsonLimits& limits);

// The whole of a file as bytes, refusing one larger than max_bytes (named `what` in the error) before reading.
std::string read_file_bytes(const std::filesystem::path& path, uint64_t max_bytes);

}  // namespace lowbit::util
