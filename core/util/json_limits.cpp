#include "core/util/json_limits.h"

#include <fstream>
#include <system_error>

#include "core/util/errors.h"
#include "core/util/format.h"

namespace lowbit::util {
namespace {

const char* const kDamagedRemedy =
    "the file is damaged or not what its name says: download or save it again from its source";

// One pass over the bytes, tracking only what the limits need: nesting outside strings, string lengths, and commas
// and openings as a count of values. Linear time, no allocation, so a hostile file costs one read.
std::optional<std::string> scan(std::string_view text, const JsonLimits& limits) {
  if (text.size() > limits.max_bytes) {
    return "is " + format_bytes(static_cast<int64_t>(text.size())) + ", more than the limit of " +
           format_bytes(static_cast<int64_t>(limits.max_bytes)) + " for this kind of file";
  }
  int depth = 0;
  uint64_t values = 1;
  bool in_string = false;
  bool escaped = false;
  size_t string_start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
        if (i - string_start > limits.max_string_bytes) {
          return "holds a string of " + format_bytes(static_cast<int64_t>(i - string_start)) +
                 ", more than the limit of " + format_bytes(static_cast<int64_t>(limits.max_string_bytes));
        }
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        string_start = i + 1;
        break;
      case '{':
      case '[':
        if (++depth > limits.max_depth) {
          return "nests objects or lists more than " + std::to_string(limits.max_depth) +
                 " levels deep (the limit for this kind of file), at byte " + std::to_string(i);
        }
        ++values;
        break;
      case '}':
      case ']':
        --depth;
        break;
      case ',':
        if (++values > limits.max_values) {
          return "holds more than " + std::to_string(limits.max_values) + " values, the limit for this kind of file";
        }
        break;
      default:
        break;
    }
  }
  if (in_string && text.size() - string_start > limits.max_string_bytes) {
    return "holds a string of more than " + format_bytes(static_cast<int64_t>(limits.max_string_bytes)) +
           ", the limit for this kind of file";
  }
  return std::nullopt;
}

template <typename Json>
Json parse_checked(std::string_view text, const std::string& source, const JsonLimits& limits) {
  if (const auto problem = scan(text, limits)) throw InputError(source, *problem, kDamagedRemedy);
  try {
    return Json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::exception& e) {  // parse_error, and out_of_range for a number like 1e99999
    throw InputError(source, std::string("is not valid JSON: ") + e.what(), kDamagedRemedy);
  }
}

}  // namespace

std::optional<std::string> json_limit_problem(std::string_view text, const JsonLimits& limits) {
  return scan(text, limits);
}

nlohmann::json parse_json(std::string_view text, const std::string& source, const JsonLimits& limits) {
  return parse_checked<nlohmann::json>(text, source, limits);
}

nlohmann::ordered_json parse_ordered_json(std::string_view text, const std::string& source,
                                          const JsonLimits& limits) {
  return parse_checked<nlohmann::ordered_json>(text, source, limits);
}

std::optional<nlohmann::json> parse_json_or_none(std::string_view text, const JsonLimits& limits) {
  if (scan(text, limits)) return std::nullopt;
  nlohmann::json parsed = nlohmann::json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return std::nullopt;
  return parsed;
}

std::string read_file_bytes(const std::filesystem::path& path, uint64_t max_bytes) {
  std::error_code error;
  if (std::filesystem::is_directory(path, error)) {
    throw InputError(path.string(), "is a folder, not a file", "give the file itself");
  }
  const uintmax_t size = std::filesystem::file_size(path, error);
  if (error) {
    throw InputError(path.string(), "cannot be read: " + error.message(), "check that the file exists and is readable");
  }
  if (size > max_bytes) {
    throw InputError(path.string(),
                     "is " + format_bytes(static_cast<int64_t>(size)) + ", more than the limit of " +
                         format_bytes(static_cast<int64_t>(max_bytes)) + " for this kind of file",
                     kDamagedRemedy);
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path.string(), "cannot be opened", "check that the file exists and is readable");
  std::string bytes(static_cast<size_t>(size), '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(size));
  bytes.resize(static_cast<size_t>(in.gcount()));
  return bytes;
}

nlohmann::json read_json_file(const std::filesystem::path& path, const JsonLimits& limits) {
  return parse_json(read_file_bytes(path, limits.max_bytes), path.string(), limits);
}

nlohmann::ordered_json read_ordered_json_file(const std::filesystem::path& path, const JsonLimits& limits) {
  return parse_ordered_json(read_file_bytes(path, limits.max_bytes), path.string(), limits);
}

std::optional<nlohmann::json> read_json_file_or_none(const std::filesystem::path& path, const JsonLimits& limits) {
  try {
    return parse_json_or_none(read_file_bytes(path, limits.max_bytes), limits);
  } catch (const InputError&) {  // absent, unreadable or too large: no answer, as for damaged JSON
    return std::nullopt;
  }
}

}  // namespace lowbit::util
