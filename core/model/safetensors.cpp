#include "core/model/safetensors.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <ostream>
#include <set>
#include <system_error>

#ifdef _WIN32
#ifndef NOMINMAX
#define NOMINMAX
#endif
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#else
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

#include "core/util/atomic_file.h"
#include "core/util/errors.h"
#include "core/util/format.h"
#include "core/util/json_limits.h"

namespace lowbit::model {

// A whole file mapped copy-on-write: writes through data() change private pages, never the file.
class MappedFile {
 public:
  // Throws InputError when the file cannot be opened, ResourceError when it cannot be mapped.
  static std::shared_ptr<MappedFile> map(const std::filesystem::path& path);
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  uint8_t* data() const { return data_; }
  uint64_t size() const { return size_; }

 private:
  MappedFile() = default;
  uint8_t* data_ = nullptr;  // nullptr for an empty file, which cannot be mapped
  uint64_t size_ = 0;
};

namespace {

using nlohmann::json;

constexpr const char* kResaveRemedy =
    "the file is damaged or was not written by a safetensors library; re-download or re-save the checkpoint";

// Listed in the order of the Python library's Dtype enum: save_safetensors lays out larger ranks first, as it does.
struct DtypeEntry {
  const char* name;
  at::ScalarType type;
};
const DtypeEntry kDtypes[] = {
    {"BOOL", at::kBool},  {"U8", at::kByte},       {"I8", at::kChar}, {"I16", at::kShort}, {"F16", at::kHalf},
    {"BF16", at::kBFloat16}, {"I32", at::kInt}, {"F32", at::kFloat}, {"F64", at::kDouble}, {"I64", at::kLong},
};

const DtypeEntry* find_dtype(const std::string& name) {
  for (const DtypeEntry& entry : kDtypes) {
    if (name == entry.name) return &entry;
  }
  return nullptr;
}

const DtypeEntry* find_dtype(at::ScalarType type) {
  for (const DtypeEntry& entry : kDtypes) {
    if (type == entry.type) return &entry;
  }
  return nullptr;
}

uint64_t element_size(const DtypeEntry* dtype) { return static_cast<uint64_t>(c10::elementSize(dtype->type)); }

size_t layout_rank(const DtypeEntry* dtype) { return static_cast<size_t>(dtype - kDtypes); }

std::string supported_dtype_list() {
  std::string list;
  for (const DtypeEntry& entry : kDtypes) list += (list.empty() ? "" : ", ") + std::string(entry.name);
  return list;
}

std::string os_error_text(int error_number) { return std::generic_category().message(error_number); }

std::filesystem::directory_iterator list_folder(const std::filesystem::path& dir) {
  std::error_code error;
  std::filesystem::directory_iterator listing(dir, error);
  if (error) throw InputError(dir.string(), "cannot be listed: " + error.message(), "check the folder's permissions");
  return listing;
}

// Pickled checkpoints a Hugging Face folder may hold instead of safetensors.
std::vector<std::string> pickled_checkpoint_names(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : list_folder(dir)) {
    const std::string file = entry.path().filename().string();
    const std::string extension = entry.path().extension().string();
    const bool hf_pickle = file.rfind("pytorch_model", 0) == 0 && extension == ".bin";
    if (hf_pickle || extension == ".pt" || extension == ".pth") names.push_back(file);
  }
  std::sort(names.begin(), names.end());
  return names;
}

[[noreturn]] void refuse_folder_without_safetensors(const std::filesystem::path& dir) {
  const std::vector<std::string> pickles = pickled_checkpoint_names(dir);
  if (pickles.empty()) {
    throw InputError(dir.string(), "contains no *.safetensors files",
                     "give the Hugging Face model folder that holds model.safetensors, or "
                     "model.safetensors.index.json and its shards");
  }
  std::string listed;
  for (const std::string& name : pickles) listed += (listed.empty() ? "" : ", ") + name;
  std::filesystem::path folder = dir.lexically_normal();
  if (folder.filename().empty()) folder = folder.parent_path();
  const std::string converted = folder.string() + "-safetensors";
  const std::string convert_command =
      "python -c \"from transformers import AutoModelForCausalLM as M; M.from_pretrained('" + folder.string() +
      "').save_pretrained('" + converted + "', safe_serialization=True)\"";
  throw InputError(dir.string(),
                   "holds only pickled PyTorch checkpoints (" + listed +
                       "), no *.safetensors; LowBit does not open pickle files because loading a pickle can run "
                       "arbitrary code hidden in it",
                   "convert the model once with: " + convert_command + ", copy the tokenizer files into " +
                       converted + " and open that folder");
}

// model.safetensors.index.json: {"metadata": {...}, "weight_map": {"tensor name": "shard file name", ...}}.
std::map<std::string, std::string> read_weight_map(const std::filesystem::path& index_path) {
  const std::string where = index_path.string();
  const char* remedy = "the index file is damaged; re-download the model or re-save it with save_pretrained";
  const json index = util::read_json_file(index_path, util::kConfigJsonLimits);
  if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object()) {
    throw InputError(where, "has no \"weight_map\" object", remedy);
  }
  std::map<std::string, std::string> weight_map;
  for (const auto& item : index["weight_map"].items()) {
    if (!item.value().is_string()) {
      throw InputError(where,
                       "\"weight_map\" gives a " + std::string(item.value().type_name()) + " for tensor '" + item.key() +
                           "' instead of a shard file name",
                       remedy);
    }
    const std::filesystem::path shard = item.value().get<std::string>();
    const bool inside_folder =
        !shard.empty() && shard.is_relative() &&
        std::none_of(shard.begin(), shard.end(), [](const std::filesystem::path& part) { return part == ".."; });
    if (!inside_folder) {
      throw InputError(where,
                       "\"weight_map\" places tensor '" + item.key() + "' in '" + shard.string() +
                           "', which is not a file inside the model folder",
                       remedy);
    }
    weight_map[item.key()] = shard.string();
  }
  return weight_map;
}

}  // namespace

#ifdef _WIN32

std::shared_ptr<MappedFile> MappedFile::map(const std::filesystem::path& path) {
  std::shared_ptr<MappedFile> mapped(new MappedFile());
  HANDLE file =
      CreateFileW(path.c_str(), GENERIC_READ, FILE_SHARE_READ, nullptr, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, nullptr);
  if (file == INVALID_HANDLE_VALUE) {
    throw InputError(path.string(), "cannot be opened (Windows error " + std::to_string(GetLastError()) + ")",
                     "check that the file exists and is readable");
  }
  LARGE_INTEGER size;
  if (!GetFileSizeEx(file, &size)) {
    const DWORD error = GetLastError();
    CloseHandle(file);
    throw InputError(path.string(), "cannot be read (Windows error " + std::to_string(error) + ")",
                     "check that the file is readable");
  }
  mapped->size_ = static_cast<uint64_t>(size.QuadPart);
  if (mapped->size_ > 0) {
    // PAGE_WRITECOPY + FILE_MAP_COPY: the Windows form of a private copy-on-write mapping.
    HANDLE mapping = CreateFileMappingW(file, nullptr, PAGE_WRITECOPY, 0, 0, nullptr);
    void* view = mapping ? MapViewOfFile(mapping, FILE_MAP_COPY, 0, 0, 0) : nullptr;
    const DWORD error = GetLastError();
    if (mapping) CloseHandle(mapping);  // the view keeps the mapping object alive
    if (view == nullptr) {
      CloseHandle(file);
      throw ResourceError("cannot memory-map " + path.string() + " (Windows error " + std::to_string(error) + ")");
    }
    mapped->data_ = static_cast<uint8_t*>(view);
  }
  CloseHandle(file);
  return mapped;
}

MappedFile::~MappedFile() {
  if (data_ != nullptr) UnmapViewOfFile(data_);
}

#else

std::shared_ptr<MappedFile> MappedFile::map(const std::filesystem::path& path) {
  std::shared_ptr<MappedFile> mapped(new MappedFile());
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    throw InputError(path.string(), "cannot be opened: " + os_error_text(errno),
                     "check that the file exists and is readable");
  }
  struct stat status {};
  if (::fstat(fd, &status) != 0 || !S_ISREG(status.st_mode)) {
    ::close(fd);
    throw InputError(path.string(), "is not a regular file", "give the path of a *.safetensors file");
  }
  mapped->size_ = static_cast<uint64_t>(status.st_size);
  if (mapped->size_ > 0) {
    // PROT_WRITE with MAP_PRIVATE is copy-on-write: an in-place op on a tensor viewing these pages gets its own
    // copy of them instead of a crash (PROT_READ alone) or a change to the file (MAP_SHARED).
    // MAP_NORESERVE keeps a 100 GB checkpoint from being charged against swap before anything is written.
    int flags = MAP_PRIVATE;
#ifdef MAP_NORESERVE
    flags |= MAP_NORESERVE;
#endif
    void* data = ::mmap(nullptr, static_cast<size_t>(mapped->size_), PROT_READ | PROT_WRITE, flags, fd, 0);
    const int map_errno = errno;
    ::close(fd);
    if (data == MAP_FAILED) {
      throw ResourceError("cannot memory-map " + path.string() + " (" + std::to_string(mapped->size_) +
                          " bytes): " + os_error_text(map_errno));
    }
    mapped->data_ = static_cast<uint8_t*>(data);
  } else {
    ::close(fd);
  }
  return mapped;
}

MappedFile::~MappedFile() {
  if (data_ != nullptr) ::munmap(data_, static_cast<size_t>(size_));
}

#endif

std::shared_ptr<SafetensorsFile> SafetensorsFile::open(const std::filesystem::path& path) {
  const std::string where = path.string();
  std::shared_ptr<SafetensorsFile> file(new SafetensorsFile());
  file->path_ = path;
  file->mapping_ = MappedFile::map(path);
  const SafetensorsHeader header =
      parse_safetensors_header(file->mapping_->data(), file->mapping_->size(), where);
  file->data_section_offset_ = header.data_section_offset;
  file->tensors_ = header.tensors;
  file->metadata_ = header.metadata;
  return file;
}

const SafetensorsTensorInfo& SafetensorsFile::info(const std::string& name) const {
  const auto it = tensors_.find(name);
  if (it == tensors_.end()) {
    throw InputError(path_.string(), "has no tensor '" + name + "'",
                     "check the tensor name; the file holds " + std::to_string(tensors_.size()) + " tensors");
  }
  return it->second;
}

at::Tensor SafetensorsFile::tensor(const std::string& name) const {
  const SafetensorsTensorInfo& stored = info(name);
  const DtypeEntry* dtype = find_dtype(stored.dtype);
  if (dtype == nullptr) {
    throw InternalError("safetensors: dtype '" + stored.dtype + "' passed validation but is unknown");
  }
  const auto options = at::TensorOptions().dtype(dtype->type).device(at::kCPU);
  if (stored.byte_size() == 0) return at::empty(stored.shape, options);

  uint8_t* bytes = mapping_->data() + data_section_offset_ + stored.data_begin;
  if (dtype->type == at::kBool) {
    // Any byte other than 0 or 1 in a torch bool tensor is undefined behaviour, so it is refused here.
    const auto* invalid = std::find_if(bytes, bytes + stored.byte_size(), [](uint8_t b) { return b > 1; });
    if (invalid != bytes + stored.byte_size()) {
      throw InputError(path_.string(),
                       "BOOL tensor '" + name + "' holds the byte " + std::to_string(*invalid) + " at element " +
                           std::to_string(invalid - bytes) + "; only 0 and 1 are valid",
                       kResaveRemedy);
    }
  }
  if (reinterpret_cast<uintptr_t>(bytes) % element_size(dtype) == 0) {
    std::shared_ptr<MappedFile> keep_mapping_alive = mapping_;
    return at::from_blob(bytes, stored.shape, [keep_mapping_alive](void*) {}, options);
  }
  at::Tensor copy = at::empty(stored.shape, options);
  std::memcpy(copy.data_ptr(), bytes, stored.byte_size());
  return copy;
}

SafetensorsCheckpoint SafetensorsCheckpoint::open_folder(const std::filesystem::path& dir) {
  std::error_code error;
  if (!std::filesystem::exists(dir, error)) {
    throw InputError(dir.string(), "folder does not exist", "check the path of the model folder");
  }
  if (!std::filesystem::is_directory(dir, error)) {
    throw InputError(dir.string(), "is not a folder", "give the model folder that holds the *.safetensors files");
  }
  SafetensorsCheckpoint checkpoint;
  checkpoint.folder_ = dir;

  const std::filesystem::path index_path = dir / "model.safetensors.index.json";
  const bool indexed = std::filesystem::exists(index_path);
  std::map<std::string, std::string> weight_map;
  std::vector<std::filesystem::path> shard_paths;
  if (indexed) {
    weight_map = read_weight_map(index_path);
    std::map<std::string, std::string> first_tensor_of_shard;
    for (const auto& [name, shard] : weight_map) first_tensor_of_shard.emplace(shard, name);
    for (const auto& [shard, first_tensor] : first_tensor_of_shard) {
      const std::filesystem::path shard_path = dir / shard;
      if (!std::filesystem::is_regular_file(shard_path, error)) {
        throw InputError(index_path.string(),
                         "lists shard '" + shard + "' (holding tensor '" + first_tensor + "'), but " +
                             shard_path.string() + " does not exist",
                         "the download is incomplete; download the missing shard");
      }
      shard_paths.push_back(shard_path);
    }
  } else if (std::filesystem::exists(dir / "model.safetensors")) {
    shard_paths.push_back(dir / "model.safetensors");
  } else {
    for (const auto& entry : list_folder(dir)) {
      if (entry.is_regular_file() && entry.path().extension() == ".safetensors") shard_paths.push_back(entry.path());
    }
    std::sort(shard_paths.begin(), shard_paths.end());
  }
  if (shard_paths.empty()) refuse_folder_without_safetensors(dir);

  for (const std::filesystem::path& shard_path : shard_paths) {
    const size_t index = checkpoint.files_.size();
    checkpoint.files_.push_back(SafetensorsFile::open(shard_path));
    for (const auto& item : checkpoint.files_.back()->tensors()) {
      const auto [existing, inserted] = checkpoint.owner_.emplace(item.first, index);
      if (!inserted) {
        throw InputError(dir.string(),
                         "tensor '" + item.first + "' is stored twice, in " +
                             checkpoint.files_[existing->second]->path().filename().string() + " and in " +
                             shard_path.filename().string(),
                         "the shards do not belong together; re-download the model or re-save it with save_pretrained");
      }
    }
  }
  for (const auto& [name, shard] : weight_map) {
    const auto owner = checkpoint.owner_.find(name);
    if (owner == checkpoint.owner_.end() || checkpoint.files_[owner->second]->path() != dir / shard) {
      throw InputError(index_path.string(),
                       "places tensor '" + name + "' in shard '" + shard + "', which does not hold it",
                       "the index and the shards do not belong together; re-download the model");
    }
  }
  return checkpoint;
}

std::vector<std::string> SafetensorsCheckpoint::names() const {
  std::vector<std::string> result;
  result.reserve(owner_.size());
  for (const auto& item : owner_) result.push_back(item.first);
  return result;
}

const SafetensorsFile& SafetensorsCheckpoint::owner_of(const std::string& name) const {
  const auto it = owner_.find(name);
  if (it == owner_.end()) {
    throw InputError(folder_.string(), "tensor '" + name + "' is not in the checkpoint",
                     "the folder may be incomplete (a shard missing) or hold a different model");
  }
  return *files_[it->second];
}

const SafetensorsTensorInfo& SafetensorsCheckpoint::info(const std::string& name) const {
  return owner_of(name).info(name);
}

at::Tensor SafetensorsCheckpoint::tensor(const std::string& name) const { return owner_of(name).tensor(name); }

uint64_t SafetensorsCheckpoint::total_bytes() const {
  uint64_t total = 0;
  for (const auto& item : owner_) total += files_[item.second]->info(item.first).byte_size();
  return total;
}

std::vector<std::filesystem::path> SafetensorsCheckpoint::files() const {
  std::vector<std::filesystem::path> paths;
  for (const auto& file : files_) paths.push_back(file->path());
  std::sort(paths.begin(), paths.end());
  return paths;
}

void save_safetensors(const std::filesystem::path& path, const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  struct Entry {
    const std::string* name;
    const at::Tensor* tensor;
    const DtypeEntry* dtype;
    uint64_t byte_size;
  };
  std::vector<Entry> entries;
  std::set<std::string> seen;
  for (const auto& [name, tensor] : tensors) {
    if (name == kSafetensorsMetadataKey) throw InternalError("save_safetensors: \"__metadata__\" cannot be a tensor name");
    if (!seen.insert(name).second) throw InternalError("save_safetensors: tensor '" + name + "' is given twice");
    if (!tensor.defined()) throw InternalError("save_safetensors: tensor '" + name + "' is undefined");
    const DtypeEntry* dtype = find_dtype(tensor.scalar_type());
    if (dtype == nullptr) {
      throw InternalError("save_safetensors: tensor '" + name + "' has dtype " +
                          std::string(c10::toString(tensor.scalar_type())) + "; supported: " + supported_dtype_list());
    }
    entries.push_back({&name, &tensor, dtype, static_cast<uint64_t>(tensor.numel()) * element_size(dtype)});
  }
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    if (a.dtype != b.dtype) return layout_rank(a.dtype) > layout_rank(b.dtype);
    return *a.name < *b.name;
  });

  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header[kSafetensorsMetadataKey] = metadata;
  uint64_t offset = 0;
  for (const Entry& entry : entries) {
    nlohmann::ordered_json shape = nlohmann::ordered_json::array();
    for (const int64_t dim : entry.tensor->sizes()) shape.push_back(dim);
    header[*entry.name] = {
        {"dtype", entry.dtype->name}, {"shape", shape}, {"data_offsets", {offset, offset + entry.byte_size}}};
    offset += entry.byte_size;
  }
  std::string header_text;
  try {
    header_text = header.dump();
  } catch (const nlohmann::json::type_error& e) {
    throw InternalError("save_safetensors: a tensor name or metadata entry is not valid UTF-8: " +
                        std::string(e.what()));
  }
  // Padding to a multiple of 8 makes the data section, and with the layout above every tensor, 8-byte aligned.
  header_text.append((8 - header_text.size() % 8) % 8, ' ');

  write_file_atomically(path, [&](std::ostream& out) {
    char length[8];
    for (int i = 0; i < 8; ++i) length[i] = static_cast<char>((header_text.size() >> (8 * i)) & 0xFF);
    out.write(length, sizeof(length));
    out.write(header_text.data(), static_cast<std::streamsize>(header_text.size()));
    for (const Entry& entry : entries) {
      if (entry.byte_size == 0) continue;
      const at::Tensor data = entry.tensor->detach().to(at::kCPU).contiguous();
      out.write(static_cast<const char*>(data.data_ptr()), static_cast<std::streamsize>(entry.byte_size));
    }
  });
}

}  // namespace lowbit::model
