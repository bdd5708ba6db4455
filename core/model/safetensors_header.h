// The safetensors header, read and validated without LibTorch: the 8-byte little-endian length, the JSON header
// under util::kSafetensorsHeaderLimits, each tensor's dtype, shape and data_offsets checked against each other and
// against the file size, and no two tensors overlapping. Everything a hostile file can lie about is caught here,
// so that SafetensorsFile (safetensors.h) only views bytes already known to exist.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace lowbit::model {

// The header entry that holds string metadata instead of a tensor.
inline constexpr const char* kSafetensorsMetadataKey = "__metadata__";

struct SafetensorsTensorInfo {
  std::string name;
  std::string dtype;           // "F32", "F16", "BF16", "I32", "I64", "I8", "U8", "I16", "F64" or "BOOL"
  std::vector<int64_t> shape;  // [] for a scalar
  uint64_t data_begin = 0;     // byte offsets relative to the data section, as in the header
  uint64_t data_end = 0;

  uint64_t byte_size() const { return data_end - data_begin; }
};

struct SafetensorsHeader {
  uint64_t data_section_offset = 0;  // 8 + header length
  std::map<std::string, SafetensorsTensorInfo> tensors;
  std::map<std::string, std::string> metadata;  // the "__metadata__" entry; empty when the file has none
};

// `bytes` are the first `file_size` bytes of the file (all of them); `where` names it in errors.
// Throws InputError naming the file, the tensor and what is wrong.
SafetensorsHeader parse_safetensors_header(const uint8_t* bytes, uint64_t file_size, const std::string& where);

// Bytes per element of a safetensors dtype name, 0 for one LowBit cannot read.
uint64_t safetensors_element_size(const std::string& dtype);
std::string safetensors_dtype_list();  // "BOOL, U8, ..."

}  // namespace lowbit::model
