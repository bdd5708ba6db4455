#include "core/model/safetensors_header.h"

#include <algorithm>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/util/errors.h"
#include "core/util/format.h"
#include "core/util/json_limits.h"

namespace lowbit::model {
namespace {

using nlohmann::json;

// In the order of the Python library's Dtype enum, with their element sizes.
struct DtypeSize {
  const char* name;
  uint64_t bytes;
};
const DtypeSize kDtypeSizes[] = {{"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"I16", 2}, {"F16", 2},
                                 {"BF16", 2}, {"I32", 4}, {"F32", 4}, {"F64", 8}, {"I64", 8}};

// The 100 MB header limit of the reference implementation; a larger header is corruption, not a model.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;
constexpr const char* kResaveRemedy =
    "the file is damaged or was not written by a safetensors library; re-download or re-save the checkpoint";
constexpr const char* kTruncatedRemedy = "re-download or re-save the checkpoint";

// A JSON value quoted in an error message, cut short so that a corrupt header cannot flood the message. Containers
// are named, not dumped: dumping recurses, and a hostile value can be megabytes of nesting.
std::string quote_json(const json& value) {
  constexpr size_t kMaxQuotedChars = 80;
  if (value.is_object()) return "an object of " + std::to_string(value.size()) + " entries";
  if (value.is_array() && std::any_of(value.begin(), value.end(), [](const json& v) { return v.is_structured(); })) {
    return "a list of " + std::to_string(value.size()) + " values";
  }
  std::string text = value.dump();
  if (text.size() > kMaxQuotedChars) text = text.substr(0, kMaxQuotedChars) + "...";
  return text;
}

uint64_t read_u64_little_endian(const uint8_t* bytes) {
  uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = (value << 8) | bytes[i];
  return value;
}

// shape product × element size, or false when it does not fit in 64 bits.
bool checked_byte_size(const std::vector<int64_t>& shape, uint64_t element_size, uint64_t& bytes) {
  if (std::find(shape.begin(), shape.end(), 0) != shape.end()) {
    bytes = 0;
    return true;
  }
  uint64_t total = element_size;
  for (const int64_t dim : shape) {
    const auto d = static_cast<uint64_t>(dim);
    if (total > std::numeric_limits<uint64_t>::max() / d) return false;
    total *= d;
  }
  bytes = total;
  return true;
}

class HeaderParser {
 public:
  HeaderParser(std::string where, uint64_t data_section_offset, uint64_t file_size)
      : where_(std::move(where)), data_section_offset_(data_section_offset), file_size_(file_size) {}

  std::map<std::string, std::string> metadata(const json& value) const {
    if (!value.is_object()) {
      fail("the header's \"__metadata__\" entry must be an object of strings, found " + quote_json(value));
    }
    std::map<std::string, std::string> result;
    for (const auto& item : value.items()) {
      if (!item.value().is_string()) {
        fail("the header's \"__metadata__\" value for '" + item.key() + "' must be a string, found " +
             quote_json(item.value()));
      }
      result[item.key()] = item.value().get<std::string>();
    }
    return result;
  }

  SafetensorsTensorInfo tensor(const std::string& name, const json& entry) const {
    if (!entry.is_object()) fail("the header entry of tensor '" + name + "' is not an object: " + quote_json(entry));
    SafetensorsTensorInfo info;
    info.name = name;

    const json& dtype = field(name, entry, "dtype");
    if (!dtype.is_string()) fail("tensor '" + name + "': \"dtype\" must be a string, found " + quote_json(dtype));
    info.dtype = dtype.get<std::string>();
    const uint64_t element_size = safetensors_element_size(info.dtype);
    if (element_size == 0) {
      throw InputError(where_,
                       "tensor '" + name + "' has dtype '" + info.dtype + "', which LowBit cannot read (it reads " +
                           safetensors_dtype_list() + ")",
                       "convert the checkpoint to F16, BF16 or F32");
    }

    const json& shape = field(name, entry, "shape");
    if (!shape.is_array()) {
      fail("tensor '" + name + "': \"shape\" must be a list of integers, found " + quote_json(shape));
    }
    for (const json& dim : shape) {
      if (!dim.is_number_integer()) {
        fail("tensor '" + name + "': \"shape\" must be a list of integers, found " + quote_json(shape));
      }
      if (dim.is_number_unsigned()) {
        if (dim.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
          fail("tensor '" + name + "' has a dimension too large for any file: " + quote_json(shape));
        }
        info.shape.push_back(static_cast<int64_t>(dim.get<uint64_t>()));
      } else {
        info.shape.push_back(dim.get<int64_t>());
      }
      if (info.shape.back() < 0) {
        fail("tensor '" + name + "' has a negative dimension " + std::to_string(info.shape.back()) + " in shape " +
             quote_json(shape));
      }
    }

    const json& offsets = field(name, entry, "data_offsets");
    if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
        !offsets[1].is_number_unsigned()) {
      fail("tensor '" + name + "': \"data_offsets\" must be two non-negative integers [begin, end], found " +
           quote_json(offsets));
    }
    info.data_begin = offsets[0].get<uint64_t>();
    info.data_end = offsets[1].get<uint64_t>();
    const std::string offsets_text = "[" + std::to_string(info.data_begin) + ", " + std::to_string(info.data_end) + "]";
    if (info.data_end < info.data_begin) {
      fail("tensor '" + name + "' has data_offsets " + offsets_text + " that end before they begin");
    }

    uint64_t expected_bytes = 0;
    const std::string described =
        "tensor '" + name + "' of shape " + format_shape(info.shape) + " and dtype " + info.dtype;
    if (!checked_byte_size(info.shape, element_size, expected_bytes)) {
      fail("header lying about sizes: " + described + " would need more than 2^64 bytes");
    }
    if (expected_bytes != info.byte_size()) {
      fail("header lying about sizes: " + described + " needs " + std::to_string(expected_bytes) +
           " bytes, but its data_offsets " + offsets_text + " give " + std::to_string(info.byte_size()) + " bytes");
    }
    if (info.data_end > file_size_ - data_section_offset_) {
      throw InputError(where_,
                       "file is truncated: tensor '" + name + "' needs bytes up to " +
                           std::to_string(data_section_offset_ + info.data_end) + " but the file has " +
                           std::to_string(file_size_),
                       kTruncatedRemedy);
    }
    return info;
  }

  void reject_overlaps(const std::map<std::string, SafetensorsTensorInfo>& tensors) const {
    std::vector<const SafetensorsTensorInfo*> by_position;
    for (const auto& item : tensors) {
      if (item.second.byte_size() > 0) by_position.push_back(&item.second);
    }
    std::sort(
        by_position.begin(), by_position.end(),
        [](const SafetensorsTensorInfo* a, const SafetensorsTensorInfo* b) { return a->data_begin < b->data_begin; });
    for (size_t i = 1; i < by_position.size(); ++i) {
      const SafetensorsTensorInfo& before = *by_position[i - 1];
      const SafetensorsTensorInfo& after = *by_position[i];
      if (after.data_begin < before.data_end) {
        fail("tensors '" + before.name + "' (bytes " + std::to_string(before.data_begin) + " to " +
             std::to_string(before.data_end) + ") and '" + after.name + "' (bytes " + std::to_string(after.data_begin) +
             " to " + std::to_string(after.data_end) + ") overlap");
      }
    }
  }

 private:
  [[noreturn]] void fail(const std::string& problem) const { throw InputError(where_, problem, kResaveRemedy); }

  const json& field(const std::string& name, const json& entry, const char* key) const {
    const auto it = entry.find(key);
    if (it == entry.end()) fail("the header entry of tensor '" + name + "' has no \"" + key + "\"");
    return *it;
  }

  std::string where_;
  uint64_t data_section_offset_;
  uint64_t file_size_;
};

}  // namespace

uint64_t safetensors_element_size(const std::string& dtype) {
  for (const DtypeSize& entry : kDtypeSizes) {
    if (dtype == entry.name) return entry.bytes;
  }
  return 0;
}

std::string safetensors_dtype_list() {
  std::string list;
  for (const DtypeSize& entry : kDtypeSizes) list += (list.empty() ? "" : ", ") + std::string(entry.name);
  return list;
}

SafetensorsHeader parse_safetensors_header(const uint8_t* bytes, uint64_t file_size, const std::string& where) {
  if (file_size < 8) {
    throw InputError(where,
                     "file is truncated: it has " + std::to_string(file_size) +
                         " bytes, fewer than the 8-byte header length every safetensors file starts with",
                     kTruncatedRemedy);
  }
  const uint64_t header_length = read_u64_little_endian(bytes);
  if (header_length > kMaxHeaderBytes) {
    throw InputError(where,
                     "declares a header of " + std::to_string(header_length) + " bytes, more than the " +
                         std::to_string(kMaxHeaderBytes) + "-byte limit of the format",
                     kResaveRemedy);
  }
  if (header_length > file_size - 8) {
    throw InputError(where,
                     "file is truncated: the header needs bytes up to " + std::to_string(8 + header_length) +
                         " but the file has " + std::to_string(file_size),
                     kTruncatedRemedy);
  }
  SafetensorsHeader parsed;
  parsed.data_section_offset = 8 + header_length;
  const std::string_view header_text(reinterpret_cast<const char*>(bytes + 8), header_length);
  if (const auto problem = util::json_limit_problem(header_text, util::kSafetensorsHeaderLimits)) {
    throw InputError(where, "the header " + *problem, kResaveRemedy);
  }
  const json header = json::parse(header_text.begin(), header_text.end(), nullptr, /*allow_exceptions=*/false);
  if (header.is_discarded()) throw InputError(where, "the header is not valid JSON", kResaveRemedy);
  if (!header.is_object()) {
    throw InputError(where, "the header is not a JSON object: " + quote_json(header), kResaveRemedy);
  }
  const HeaderParser parser(where, parsed.data_section_offset, file_size);
  for (const auto& item : header.items()) {
    if (item.key() == kSafetensorsMetadataKey) {
      parsed.metadata = parser.metadata(item.value());
    } else {
      parsed.tensors[item.key()] = parser.tensor(item.key(), item.value());
    }
  }
  parser.reject_overlaps(parsed.tensors);
  return parsed;
}

}  // namespace lowbit::model
