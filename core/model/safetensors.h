// Reading and writing the safetensors format (https://github.com/huggingface/safetensors): an 8-byte
// little-endian header length N, N bytes of JSON header, then the raw tensor data.
//
//   {"__metadata__": {"format": "pt"},
//    "model.embed_tokens.weight": {"dtype": "F32", "shape": [512, 64], "data_offsets": [0, 131072]}, ...}
//
// data_offsets are [begin, end) byte offsets into the data section that follows the header.
//
// Reading memory-maps the file copy-on-write: tensor() returns a CPU tensor viewing the mapping (no copy when the
// data is aligned for its element size, as files written by the Python library or save_safetensors always are),
// and the tensor keeps the mapping alive after its SafetensorsFile is gone. An in-place operation on a returned
// tensor never reaches the file; it is seen only through that mapping, i.e. by tensors later returned by the
// same SafetensorsFile. The whole header is validated when the file is opened, so a truncated download or a
// header lying about sizes is an InputError naming the file and the tensor, never a crash.
//
//   auto file = SafetensorsFile::open("model.safetensors");          // throws InputError
//   at::Tensor w = file->tensor("model.embed_tokens.weight");        // [512, 64] float, zero-copy
//
//   auto checkpoint = SafetensorsCheckpoint::open_folder("/models/llama-7b");   // single file or shards
//   at::Tensor q = checkpoint.tensor("model.layers.0.self_attn.q_proj.weight");
//
//   save_safetensors("out.safetensors", {{"w", w}}, {{"format", "pt"}});      // atomic; loads in Python
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/model/safetensors_header.h"

namespace lowbit::model {

class MappedFile;

class SafetensorsFile {
 public:
  // Throws InputError naming the file and what is wrong with it.
  static std::shared_ptr<SafetensorsFile> open(const std::filesystem::path& path);

  const std::filesystem::path& path() const { return path_; }
  const std::map<std::string, SafetensorsTensorInfo>& tensors() const { return tensors_; }
  // The "__metadata__" entry; empty when the file has none.
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  bool contains(const std::string& name) const { return tensors_.count(name) != 0; }
  // Throws InputError naming the file and the tensor when the file has no tensor of that name.
  const SafetensorsTensorInfo& info(const std::string& name) const;
  // A CPU tensor of the stored dtype and shape; see the top of this file for when it is a view or a copy.
  at::Tensor tensor(const std::string& name) const;

 private:
  SafetensorsFile() = default;
  std::filesystem::path path_;
  std::shared_ptr<MappedFile> mapping_;
  uint64_t data_section_offset_ = 0;  // 8 + header length
  std::map<std::string, SafetensorsTensorInfo> tensors_;
  std::map<std::string, std::string> metadata_;
};

// The weights of a Hugging Face model folder: model.safetensors, or model.safetensors.index.json (its
// "weight_map" maps each tensor name to a shard file) plus the shards. A folder with neither but other
// *.safetensors files has all of them opened. Folders holding only pickled checkpoints (pytorch_model.bin,
// *.pt, *.pth) are refused: unpickling can run arbitrary code, so the error says how to convert them instead.
class SafetensorsCheckpoint {
 public:
  // Throws InputError naming the folder or the shard at fault.
  static SafetensorsCheckpoint open_folder(const std::filesystem::path& dir);

  const std::filesystem::path& folder() const { return folder_; }
  std::vector<std::string> names() const;  // sorted
  bool contains(const std::string& name) const { return owner_.count(name) != 0; }
  // Throws InputError naming the folder and the tensor when no file of the checkpoint holds it.
  const SafetensorsTensorInfo& info(const std::string& name) const;
  at::Tensor tensor(const std::string& name) const;
  uint64_t total_bytes() const;                      // sum of the tensors' data sizes
  std::vector<std::filesystem::path> files() const;  // the opened *.safetensors files, sorted

 private:
  const SafetensorsFile& owner_of(const std::string& name) const;
  std::filesystem::path folder_;
  std::vector<std::shared_ptr<SafetensorsFile>> files_;
  std::map<std::string, size_t> owner_;  // tensor name -> index into files_
};

// Writes `tensors` (any device and layout; saved as contiguous CPU data) to `path` with write_file_atomically,
// laid out exactly as the Python library lays them out: dtypes of larger elements first, then by name, so every
// tensor's data is aligned for its element size; header entries in data order after "__metadata__", padded
// with spaces to a multiple of 8 bytes. Supported dtypes: F32, F16, BF16, I32, I64, I8, U8, I16, F64, BOOL.
// Throws InternalError for duplicate or reserved names and unsupported dtypes (a caller's bug), ResourceError
// when the file cannot be written.
void save_safetensors(const std::filesystem::path& path, const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

}  // namespace lowbit::model
