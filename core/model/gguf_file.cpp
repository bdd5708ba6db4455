#include "core/model/gguf_file.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <limits>

#include "core/util/errors.h"

namespace lowbit::model {
namespace {

constexpr uint32_t kGgufMagic = 0x46554747;  // "GGUF" read as a little-endian u32
constexpr uint64_t kDefaultAlignment = 32;
constexpr uint32_t kMaxDims = 4;  // GGML_MAX_DIMS
// The largest tensor we accept: 2^50 numbers is far beyond any model and keeps byte counts well inside u64.
constexpr int64_t kMaxElements = int64_t{1} << 50;
// Nested arrays are walked recursively; a file could nest them deeply to exhaust the stack.
constexpr int kMaxArrayDepth = 4;

const char* kRedownload = "the file is damaged or incomplete; download it again";

std::string to_hex(uint32_t value) {
  static const char* digits = "0123456789abcdef";
  std::string text = "0x";
  for (int shift = 28; shift >= 0; shift -= 4) text += digits[(value >> shift) & 0xF];
  return text;
}

// Sequential reads from the header with every length checked against what is left of the file before anything is
// allocated: a string length of 2^60 is "longer than the rest of the file", not an attempt to allocate it.
class HeaderReader {
 public:
  HeaderReader(std::ifstream& in, std::string path, uint64_t file_size)
      : in_(in), path_(std::move(path)), file_size_(file_size) {}

  uint64_t position() const { return position_; }
  uint64_t remaining() const { return file_size_ - position_; }

  [[noreturn]] void fail(const std::string& problem, const std::string& remedy = kRedownload) const {
    throw InputError(path_, problem, remedy);
  }

  void read(void* dst, uint64_t n, const std::string& what) {
    if (n > remaining())
      fail("the file ends inside the header (" + what + " at byte " + std::to_string(position_) + " needs " +
           std::to_string(n) + " bytes, " + std::to_string(remaining()) + " are left): it is truncated");
    in_.read(static_cast<char*>(dst), static_cast<std::streamsize>(n));
    if (!in_) fail("could not read " + what + " at byte " + std::to_string(position_));
    position_ += n;
  }

  template <typename T>
  T scalar(const std::string& what) {
    unsigned char bytes[sizeof(T)];
    read(bytes, sizeof(T), what);
    // The format is little-endian; assemble explicitly so a big-endian host reads it right too.
    uint64_t value = 0;
    for (size_t i = 0; i < sizeof(T); ++i) value |= static_cast<uint64_t>(bytes[i]) << (8 * i);
    T out;
    if constexpr (sizeof(T) == 1) {
      uint8_t v = static_cast<uint8_t>(value);
      std::memcpy(&out, &v, 1);
    } else if constexpr (sizeof(T) == 2) {
      uint16_t v = static_cast<uint16_t>(value);
      std::memcpy(&out, &v, 2);
    } else if constexpr (sizeof(T) == 4) {
      uint32_t v = static_cast<uint32_t>(value);
      std::memcpy(&out, &v, 4);
    } else {
      std::memcpy(&out, &value, 8);
    }
    return out;
  }

  std::string string(const std::string& what) {
    const uint64_t length = scalar<uint64_t>(what + " length");
    if (length > remaining())
      fail(what + " claims a length of " + std::to_string(length) + " bytes, more than the " +
           std::to_string(remaining()) + " bytes left in the file");
    std::string text(static_cast<size_t>(length), '\0');
    if (length > 0) read(text.data(), length, what);
    return text;
  }

  // Refuses a count whose smallest possible encoding would not fit in the rest of the file.
  void check_count(uint64_t count, uint64_t min_bytes_each, const std::string& what) const {
    if (min_bytes_each > 0 && count > remaining() / min_bytes_each)
      fail(what + " is " + std::to_string(count) + ", which cannot fit in the " + std::to_string(remaining()) +
           " bytes left in the file: it is truncated or damaged");
  }

 private:
  std::ifstream& in_;
  std::string path_;
  uint64_t file_size_;
  uint64_t position_ = 0;
};

uint64_t scalar_size(GgufValueType type) {
  switch (type) {
    case GgufValueType::U8:
    case GgufValueType::I8:
    case GgufValueType::Bool:
      return 1;
    case GgufValueType::U16:
    case GgufValueType::I16:
      return 2;
    case GgufValueType::U32:
    case GgufValueType::I32:
    case GgufValueType::F32:
      return 4;
    case GgufValueType::U64:
    case GgufValueType::I64:
    case GgufValueType::F64:
      return 8;
    case GgufValueType::String:
      return 8;  // at least the length
    case GgufValueType::Array:
      return 12;  // at least element type + count
  }
  return 0;
}

bool is_known_value_type(uint32_t type) { return type <= static_cast<uint32_t>(GgufValueType::F64); }

bool is_integer(GgufValueType t) {
  return t == GgufValueType::U8 || t == GgufValueType::I8 || t == GgufValueType::U16 || t == GgufValueType::I16 ||
         t == GgufValueType::U32 || t == GgufValueType::I32 || t == GgufValueType::U64 || t == GgufValueType::I64;
}

bool is_unsigned(GgufValueType t) {
  return t == GgufValueType::U8 || t == GgufValueType::U16 || t == GgufValueType::U32 || t == GgufValueType::U64;
}

// Reads one scalar into value (as its own type) and returns it widened, for array elements.
void read_scalar(HeaderReader& r, GgufValueType type, GgufValue& value, const std::string& what) {
  switch (type) {
    case GgufValueType::U8: value.u = r.scalar<uint8_t>(what); break;
    case GgufValueType::I8: value.i = r.scalar<int8_t>(what); break;
    case GgufValueType::U16: value.u = r.scalar<uint16_t>(what); break;
    case GgufValueType::I16: value.i = r.scalar<int16_t>(what); break;
    case GgufValueType::U32: value.u = r.scalar<uint32_t>(what); break;
    case GgufValueType::I32: value.i = r.scalar<int32_t>(what); break;
    case GgufValueType::U64: value.u = r.scalar<uint64_t>(what); break;
    case GgufValueType::I64: value.i = r.scalar<int64_t>(what); break;
    case GgufValueType::F32: value.f = r.scalar<float>(what); break;
    case GgufValueType::F64: value.f = r.scalar<double>(what); break;
    case GgufValueType::Bool: {
      const uint8_t byte = r.scalar<uint8_t>(what);
      if (byte > 1) r.fail(what + " is a bool with the value " + std::to_string(byte) + " (only 0 or 1 are valid)");
      value.b = byte != 0;
      break;
    }
    case GgufValueType::String: value.s = r.string(what); break;
    case GgufValueType::Array: break;  // handled by the caller
  }
}

void read_value(HeaderReader& r, GgufValueType type, GgufValue& value, const std::string& what, int depth) {
  value.type = type;
  if (type != GgufValueType::Array) {
    read_scalar(r, type, value, what);
    return;
  }
  if (depth >= kMaxArrayDepth) r.fail(what + " nests arrays more than " + std::to_string(kMaxArrayDepth) + " deep");
  const uint32_t element_type = r.scalar<uint32_t>(what + " element type");
  if (!is_known_value_type(element_type))
    r.fail(what + " is an array of unknown value type " + std::to_string(element_type));
  const uint64_t count = r.scalar<uint64_t>(what + " element count");
  value.array_type = static_cast<GgufValueType>(element_type);
  value.array_length = count;
  r.check_count(count, scalar_size(value.array_type), what + "'s element count");
  const size_t n = static_cast<size_t>(count);
  GgufValue element;
  if (value.array_type == GgufValueType::String) {
    value.strings.reserve(n);
    for (size_t k = 0; k < n; ++k) value.strings.push_back(r.string(what + "[" + std::to_string(k) + "]"));
  } else if (value.array_type == GgufValueType::Array) {
    for (size_t k = 0; k < n; ++k) read_value(r, GgufValueType::Array, element, what + "[" + std::to_string(k) + "]", depth + 1);
  } else if (value.array_type == GgufValueType::F32 || value.array_type == GgufValueType::F64) {
    value.floats.reserve(n);
    for (size_t k = 0; k < n; ++k) {
      read_scalar(r, value.array_type, element, what);
      value.floats.push_back(element.f);
    }
  } else {
    value.ints.reserve(n);
    for (size_t k = 0; k < n; ++k) {
      read_scalar(r, value.array_type, element, what);
      if (value.array_type == GgufValueType::Bool) {
        value.ints.push_back(element.b ? 1 : 0);
      } else if (is_unsigned(value.array_type)) {
        // u64 values above INT64_MAX would wrap; no array LowBit reads holds such values, so they saturate.
        value.ints.push_back(element.u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())
                                 ? std::numeric_limits<int64_t>::max()
                                 : static_cast<int64_t>(element.u));
      } else {
        value.ints.push_back(element.i);
      }
    }
  }
}

}  // namespace

const GgmlTypeInfo* ggml_type_info(uint32_t type) {
  static const GgmlTypeInfo kF32{"F32", 1, 4}, kF16{"F16", 1, 2}, kBF16{"BF16", 1, 2};
  static const GgmlTypeInfo kQ4_0{"Q4_0", 32, 18}, kQ4_1{"Q4_1", 32, 20}, kQ5_0{"Q5_0", 32, 22},
      kQ5_1{"Q5_1", 32, 24}, kQ8_0{"Q8_0", 32, 34};
  static const GgmlTypeInfo kQ2_K{"Q2_K", 256, 84}, kQ3_K{"Q3_K", 256, 110}, kQ4_K{"Q4_K", 256, 144},
      kQ5_K{"Q5_K", 256, 176}, kQ6_K{"Q6_K", 256, 210};
  switch (static_cast<GgmlType>(type)) {
    case GgmlType::F32: return &kF32;
    case GgmlType::F16: return &kF16;
    case GgmlType::BF16: return &kBF16;
    case GgmlType::Q4_0: return &kQ4_0;
    case GgmlType::Q4_1: return &kQ4_1;
    case GgmlType::Q5_0: return &kQ5_0;
    case GgmlType::Q5_1: return &kQ5_1;
    case GgmlType::Q8_0: return &kQ8_0;
    case GgmlType::Q2_K: return &kQ2_K;
    case GgmlType::Q3_K: return &kQ3_K;
    case GgmlType::Q4_K: return &kQ4_K;
    case GgmlType::Q5_K: return &kQ5_K;
    case GgmlType::Q6_K: return &kQ6_K;
  }
  return nullptr;
}

std::string ggml_type_name(uint32_t type) {
  if (const GgmlTypeInfo* info = ggml_type_info(type)) return info->name;
  // Names of the types ggml has that LowBit cannot import, so the message says what the file is.
  static const std::map<uint32_t, const char*> kOther = {
      {9, "Q8_1"},     {15, "Q8_K"},   {16, "IQ2_XXS"}, {17, "IQ2_XS"}, {18, "IQ3_XXS"}, {19, "IQ1_S"},
      {20, "IQ4_NL"},  {21, "IQ3_S"},  {22, "IQ2_S"},   {23, "IQ4_XS"}, {24, "I8"},      {25, "I16"},
      {26, "I32"},     {27, "I64"},    {28, "F64"},     {29, "IQ1_M"},  {34, "TQ1_0"},   {35, "TQ2_0"},
      {39, "MXFP4"}};
  auto it = kOther.find(type);
  return it != kOther.end() ? it->second : std::to_string(type);
}

std::string gguf_value_type_name(GgufValueType type) {
  static const char* kNames[] = {"u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string", "array", "u64",
                                 "i64", "f64"};
  const auto index = static_cast<uint32_t>(type);
  return index < sizeof(kNames) / sizeof(kNames[0]) ? kNames[index] : "type " + std::to_string(index);
}

GgufFile GgufFile::open(const std::filesystem::path& path) {
  GgufFile file;
  file.path_ = path;
  const std::string name = path.string();
  std::error_code error;
  if (!std::filesystem::is_regular_file(path, error))
    throw InputError(name, "no such file", "check the path of the GGUF file");
  file.file_size_ = std::filesystem::file_size(path, error);
  if (error) throw InputError(name, "cannot read the file size: " + error.message(), "check the file's permissions");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(name, "cannot open the file for reading", "check the file's permissions");

  HeaderReader r(in, name, file.file_size_);
  if (file.file_size_ < 4) r.fail("the file is " + std::to_string(file.file_size_) + " bytes, too short to be GGUF");
  const uint32_t magic = r.scalar<uint32_t>("magic");
  if (magic != kGgufMagic)
    r.fail("not a GGUF file (it starts with " + to_hex(magic) + ", GGUF files start with the bytes \"GGUF\")",
           "choose a .gguf file as written by llama.cpp, Ollama or LM Studio");
  file.version_ = r.scalar<uint32_t>("version");
  if (file.version_ == 1)
    r.fail("GGUF version 1 is not supported (it predates 64-bit counts)",
           "convert the model again with a current llama.cpp, or download a newer GGUF");
  if (file.version_ != 2 && file.version_ != 3) {
    // A big-endian GGUF (for s390x) has its version byte-swapped: say so rather than "version 50331648".
    const uint32_t swapped = ((file.version_ & 0xFF) << 24) | ((file.version_ & 0xFF00) << 8) |
                             ((file.version_ >> 8) & 0xFF00) | (file.version_ >> 24);
    if (swapped == 2 || swapped == 3)
      r.fail("this is a big-endian GGUF file; LowBit reads little-endian GGUF only",
             "download the ordinary little-endian version of the model");
    r.fail("unsupported GGUF version " + std::to_string(file.version_) + " (LowBit reads versions 2 and 3)",
           "download the file again or convert it with a current llama.cpp");
  }
  const uint64_t n_tensors = r.scalar<uint64_t>("tensor count");
  const uint64_t n_kv = r.scalar<uint64_t>("metadata count");
  // Smallest encodings: a key-value pair is a key length + value type + 1 byte; a tensor info is a name length,
  // n_dims, one dim, type and offset.
  r.check_count(n_kv, 8 + 4 + 1, "the metadata count");
  r.check_count(n_tensors, 8 + 4 + 8 + 4 + 8, "the tensor count");

  for (uint64_t k = 0; k < n_kv; ++k) {
    std::string key = r.string("metadata key #" + std::to_string(k));
    const uint32_t type = r.scalar<uint32_t>("value type of '" + key + "'");
    if (!is_known_value_type(type))
      r.fail("metadata key '" + key + "' has unknown value type " + std::to_string(type));
    GgufValue value;
    read_value(r, static_cast<GgufValueType>(type), value, "metadata key '" + key + "'", 0);
    if (file.metadata_.count(key)) r.fail("metadata key '" + key + "' appears twice");
    file.metadata_.emplace(std::move(key), std::move(value));
  }

  if (const GgufValue* alignment = file.find("general.alignment")) {
    if (!is_integer(alignment->type))
      r.fail("general.alignment has type " + gguf_value_type_name(alignment->type) + ", expected an integer");
    const uint64_t a = is_unsigned(alignment->type) ? alignment->u : static_cast<uint64_t>(alignment->i);
    if (a == 0 || (a & (a - 1)) != 0 || a > (uint64_t{1} << 20))
      r.fail("general.alignment is " + std::to_string(static_cast<int64_t>(a)) + ", not a power of two up to 1 MiB");
    file.alignment_ = a;
  } else {
    file.alignment_ = kDefaultAlignment;
  }

  file.tensors_.reserve(static_cast<size_t>(n_tensors));
  for (uint64_t k = 0; k < n_tensors; ++k) {
    GgufTensorInfo t;
    t.name = r.string("name of tensor #" + std::to_string(k));
    const std::string what = "tensor '" + t.name + "'";
    const uint32_t n_dims = r.scalar<uint32_t>(what + " dimension count");
    if (n_dims == 0 || n_dims > kMaxDims)
      r.fail(what + " has " + std::to_string(n_dims) + " dimensions (1 to " + std::to_string(kMaxDims) + " are valid)");
    int64_t n_elements = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      const uint64_t ne = r.scalar<uint64_t>(what + " dimension");
      if (ne == 0 || ne > static_cast<uint64_t>(kMaxElements) ||
          static_cast<uint64_t>(n_elements) > static_cast<uint64_t>(kMaxElements) / ne)
        r.fail(what + " has an impossible dimension " + std::to_string(ne));
      n_elements *= static_cast<int64_t>(ne);
      t.ne.push_back(static_cast<int64_t>(ne));
    }
    t.n_elements = n_elements;
    t.type = r.scalar<uint32_t>(what + " type");
    const GgmlTypeInfo* info = ggml_type_info(t.type);
    if (!info)
      r.fail(what + " has ggml type " + ggml_type_name(t.type) +
                 ", which LowBit cannot import (it reads F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K..Q6_K)",
             "download a GGUF quantized with one of those types (for example Q4_K_M or Q8_0)");
    if (t.ne[0] % info->block_size != 0)
      r.fail(what + " has " + std::to_string(t.ne[0]) + " numbers per row, not a multiple of the " + info->name +
             " block size " + std::to_string(info->block_size));
    t.n_bytes = static_cast<uint64_t>(n_elements / info->block_size) * static_cast<uint64_t>(info->type_size);
    t.offset = r.scalar<uint64_t>(what + " data offset");
    if (t.offset % file.alignment_ != 0)
      r.fail(what + " data offset " + std::to_string(t.offset) + " is not a multiple of the alignment " +
             std::to_string(file.alignment_));
    if (file.tensor_index_.count(t.name)) r.fail("tensor '" + t.name + "' appears twice");
    file.tensor_index_.emplace(t.name, file.tensors_.size());
    file.tensors_.push_back(std::move(t));
  }

  const uint64_t header_end = r.position();
  file.data_offset_ = (header_end + file.alignment_ - 1) / file.alignment_ * file.alignment_;
  if (file.data_offset_ > file.file_size_ && !file.tensors_.empty())
    r.fail("the file ends before its tensor data starts: it is truncated");

  // Every tensor inside the file, and no two sharing bytes (a file that lies about sizes would otherwise make us
  // read one tensor's data as another's).
  std::vector<const GgufTensorInfo*> by_offset;
  for (const GgufTensorInfo& t : file.tensors_) {
    const uint64_t available = file.file_size_ > file.data_offset_ ? file.file_size_ - file.data_offset_ : 0;
    if (t.offset > available || t.n_bytes > available - t.offset)
      r.fail("tensor '" + t.name + "' (" + std::to_string(t.n_bytes) + " bytes at data offset " +
             std::to_string(t.offset) + ") lies beyond the end of the file (" + std::to_string(available) +
             " bytes of tensor data): the file is truncated or damaged");
    by_offset.push_back(&t);
  }
  std::sort(by_offset.begin(), by_offset.end(),
            [](const GgufTensorInfo* a, const GgufTensorInfo* b) { return a->offset < b->offset; });
  for (size_t k = 1; k < by_offset.size(); ++k) {
    const GgufTensorInfo& prev = *by_offset[k - 1];
    if (prev.offset + prev.n_bytes > by_offset[k]->offset)
      r.fail("tensors '" + prev.name + "' and '" + by_offset[k]->name + "' overlap in the file (data offsets " +
             std::to_string(prev.offset) + " + " + std::to_string(prev.n_bytes) + " bytes and " +
             std::to_string(by_offset[k]->offset) + ")");
  }
  return file;
}

const GgufValue* GgufFile::find(const std::string& key) const {
  auto it = metadata_.find(key);
  return it == metadata_.end() ? nullptr : &it->second;
}

namespace {
[[noreturn]] void wrong_type(const std::filesystem::path& path, const std::string& key, const GgufValue& value,
                             const std::string& expected) {
  std::string actual = gguf_value_type_name(value.type);
  if (value.type == GgufValueType::Array) actual = "array of " + gguf_value_type_name(value.array_type);
  throw InputError(path.string(), "metadata key '" + key + "' has type " + actual + ", expected " + expected,
                   "the file was written by an unusual converter; convert the model again with llama.cpp");
}
}  // namespace

std::optional<std::string> GgufFile::get_string(const std::string& key) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  if (v->type != GgufValueType::String) wrong_type(path_, key, *v, "a string");
  return v->s;
}

std::optional<int64_t> GgufFile::get_int(const std::string& key) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  if (!is_integer(v->type)) wrong_type(path_, key, *v, "an integer");
  if (is_unsigned(v->type)) {
    if (v->u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      throw InputError(path_.string(), "metadata key '" + key + "' is " + std::to_string(v->u) + ", out of range",
                       kRedownload);
    return static_cast<int64_t>(v->u);
  }
  return v->i;
}

std::optional<double> GgufFile::get_float(const std::string& key) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  if (v->type == GgufValueType::F32 || v->type == GgufValueType::F64) return v->f;
  if (is_integer(v->type)) return is_unsigned(v->type) ? static_cast<double>(v->u) : static_cast<double>(v->i);
  wrong_type(path_, key, *v, "a number");
}

std::optional<bool> GgufFile::get_bool(const std::string& key) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  if (v->type == GgufValueType::Bool) return v->b;
  if (is_integer(v->type)) return (is_unsigned(v->type) ? v->u != 0 : v->i != 0);
  wrong_type(path_, key, *v, "a bool");
}

const std::vector<std::string>* GgufFile::get_string_array(const std::string& key) const {
  const GgufValue* v = find(key);
  if (!v) return nullptr;
  if (v->type != GgufValueType::Array || v->array_type != GgufValueType::String)
    wrong_type(path_, key, *v, "an array of strings");
  return &v->strings;
}

const std::vector<double>* GgufFile::get_float_array(const std::string& key) const {
  const GgufValue* v = find(key);
  if (!v) return nullptr;
  if (v->type != GgufValueType::Array || (v->array_type != GgufValueType::F32 && v->array_type != GgufValueType::F64))
    wrong_type(path_, key, *v, "an array of floats");
  return &v->floats;
}

const std::vector<int64_t>* GgufFile::get_int_array(const std::string& key) const {
  const GgufValue* v = find(key);
  if (!v) return nullptr;
  if (v->type != GgufValueType::Array ||
      !(is_integer(v->array_type) || v->array_type == GgufValueType::Bool))
    wrong_type(path_, key, *v, "an array of integers");
  return &v->ints;
}

std::string GgufFile::require_string(const std::string& key) const {
  auto value = get_string(key);
  if (!value)
    throw InputError(path_.string(), "metadata key '" + key + "' is missing",
                     "the file is incomplete or not a model GGUF; download it again");
  return *value;
}

int64_t GgufFile::require_int(const std::string& key) const {
  auto value = get_int(key);
  if (!value)
    throw InputError(path_.string(), "metadata key '" + key + "' is missing",
                     "the file is incomplete or not a model GGUF; download it again");
  return *value;
}

const GgufTensorInfo* GgufFile::find_tensor(const std::string& name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

std::vector<uint8_t> GgufFile::read_tensor_data(const GgufTensorInfo& tensor) const {
  std::ifstream in(path_, std::ios::binary);
  if (!in) throw InputError(path_.string(), "cannot open the file for reading", "check the file's permissions");
  std::vector<uint8_t> bytes(static_cast<size_t>(tensor.n_bytes));
  in.seekg(static_cast<std::streamoff>(data_offset_ + tensor.offset));
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!in || static_cast<uint64_t>(in.gcount()) != tensor.n_bytes)
    throw InputError(path_.string(), "could not read the data of tensor '" + tensor.name + "' (the file changed or is truncated)",
                     kRedownload);
  return bytes;
}

}  // namespace lowbit::model
