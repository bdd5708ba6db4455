// Reading GGUF files, llama.cpp's single-file model format (what Ollama and LM Studio users have on disk).
//
// GgufFile::open() reads and checks the header, the metadata and the tensor table; tensor data stays on disk and is
// read one tensor at a time with read_tensor_data(), so a 7B model never sits in memory whole. Everything the file
// says is checked before it is used or allocated: a damaged or hostile file gives an InputError naming the file and
// what is wrong, never a crash.
//
//   GgufFile file = GgufFile::open("model.gguf");
//   std::string arch = file.require_string("general.architecture");
//   for (const GgufTensorInfo& t : file.tensors()) { std::vector<uint8_t> raw = file.read_tensor_data(t); ... }
//
// Layout (all little-endian; https://github.com/ggml-org/ggml/blob/master/docs/gguf.md):
//   "GGUF" | u32 version (2 or 3) | u64 n_tensors | u64 n_kv
//   n_kv    × { string key | u32 value type | value }              string = u64 length + bytes (no NUL)
//   n_tensors × { string name | u32 n_dims | u64 ne[n_dims] | u32 ggml type | u64 offset }
//   padding to general.alignment (default 32) | tensor data, each tensor at data_start + offset
// ggml dims are innermost first: a matrix with ne = [ne0, ne1] is ne1 rows of ne0 numbers, i.e. HF shape [ne1, ne0].
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace lowbit::model {

// The ggml tensor types LowBit can import (numbering from ggml.h; the others are rejected by name or number).
enum class GgmlType : uint32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  BF16 = 30,
};

struct GgmlTypeInfo {
  const char* name;    // "Q4_K"
  int64_t block_size;  // numbers per block (1 for F32/F16/BF16)
  int64_t type_size;   // bytes per block
};

// nullptr for a type number LowBit does not know or cannot import.
const GgmlTypeInfo* ggml_type_info(uint32_t type);
// "Q4_K", or "250" for a number without a name; knows the names of types LowBit cannot import too.
std::string ggml_type_name(uint32_t type);

enum class GgufValueType : uint32_t {
  U8 = 0,
  I8 = 1,
  U16 = 2,
  I16 = 3,
  U32 = 4,
  I32 = 5,
  F32 = 6,
  Bool = 7,
  String = 8,
  Array = 9,
  U64 = 10,
  I64 = 11,
  F64 = 12,
};

std::string gguf_value_type_name(GgufValueType type);

// One metadata value. Scalars fill exactly one of i/u/f/b/s by type; arrays fill one of the vectors by their
// element type (ints for all integer and bool elements, floats for F32/F64, strings). Nested arrays are read past
// and kept only as their length: no key LowBit uses has them.
struct GgufValue {
  GgufValueType type = GgufValueType::U8;
  GgufValueType array_type = GgufValueType::U8;  // when type == Array
  uint64_t array_length = 0;
  int64_t i = 0;  // signed integer types
  uint64_t u = 0;  // unsigned integer types
  double f = 0;
  bool b = false;
  std::string s;
  std::vector<int64_t> ints;
  std::vector<double> floats;
  std::vector<std::string> strings;
};

struct GgufTensorInfo {
  std::string name;
  std::vector<int64_t> ne;  // ggml dims, innermost first
  uint32_t type = 0;        // a GgmlType that ggml_type_info() knows
  uint64_t offset = 0;      // from the start of the data section
  uint64_t n_bytes = 0;
  int64_t n_elements = 0;

  GgmlType ggml_type() const { return static_cast<GgmlType>(type); }
  // HF / PyTorch order: ne reversed.
  std::vector<int64_t> hf_shape() const { return std::vector<int64_t>(ne.rbegin(), ne.rend()); }
};

class GgufFile {
 public:
  // Reads and validates header, metadata and tensor table. Throws InputError for anything malformed.
  static GgufFile open(const std::filesystem::path& path);

  const std::filesystem::path& path() const { return path_; }
  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }
  uint64_t file_size() const { return file_size_; }

  const std::map<std::string, GgufValue>& metadata() const { return metadata_; }
  const GgufValue* find(const std::string& key) const;

  // Typed reads: std::nullopt when the key is absent, InputError naming the key when it has another type.
  // get_int accepts every integer type and get_float every number, as writers differ in what they use.
  std::optional<std::string> get_string(const std::string& key) const;
  std::optional<int64_t> get_int(const std::string& key) const;
  std::optional<double> get_float(const std::string& key) const;
  std::optional<bool> get_bool(const std::string& key) const;
  const std::vector<std::string>* get_string_array(const std::string& key) const;
  const std::vector<double>* get_float_array(const std::string& key) const;
  const std::vector<int64_t>* get_int_array(const std::string& key) const;
  // The same, but a missing key is an InputError saying which key the import needs.
  std::string require_string(const std::string& key) const;
  int64_t require_int(const std::string& key) const;

  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  const GgufTensorInfo* find_tensor(const std::string& name) const;

  // The tensor's bytes as stored (n_bytes of them). Throws InputError when the file changed under us.
  std::vector<uint8_t> read_tensor_data(const GgufTensorInfo& tensor) const;

 private:
  std::filesystem::path path_;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  uint64_t data_offset_ = 0;
  uint64_t file_size_ = 0;
  std::map<std::string, GgufValue> metadata_;
  std::vector<GgufTensorInfo> tensors_;
  std::map<std::string, size_t> tensor_index_;
};

}  // namespace lowbit::model
