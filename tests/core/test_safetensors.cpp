#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "core/model/safetensors.h"
#include "core/util/atomic_file.h"
#include "core/util/errors.h"
#include "tests/support/files.h"
#include "tests/support/testdata.h"

namespace lowbit::model {
namespace {

namespace fs = std::filesystem;

#define EXPECT_CONTAINS(text, part) EXPECT_NE((text).find(part), std::string::npos) << "message: " << (text)

const char* const kStoriesWeights = "models/stories260K-hf/model.safetensors";


// Each test gets a fresh folder under the system temp directory, removed afterwards.
class ScratchFolder : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    const auto ticks = std::chrono::steady_clock::now().time_since_epoch().count();
    dir = fs::temp_directory_path() / ("lowbit-" + std::string(test->test_suite_name()) + "-" + test->name() + "-" +
                                       std::to_string(ticks) + "-" + std::to_string(std::random_device{}()));
    fs::create_directories(dir);
  }
  void TearDown() override { fs::remove_all(dir); }
  fs::path dir;
};

using SafetensorsRoundTrip = ScratchFolder;
using SafetensorsReading = ScratchFolder;
using SafetensorsBadFile = ScratchFolder;
using SafetensorsFolder = ScratchFolder;
using SafetensorsWriting = ScratchFolder;
using AtomicFile = ScratchFolder;

void write_bytes(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

std::string u64_little_endian(uint64_t value) {
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((value >> (8 * i)) & 0xFF);
  return bytes;
}

// A safetensors file assembled by hand: length prefix, header text as given, then `data`.
std::string safetensors_bytes(const std::string& header, const std::string& data) {
  return u64_little_endian(header.size()) + header + data;
}

template <typename Action>
std::string input_error_message(Action&& action) {
  try {
    action();
  } catch (const InputError& e) {
    EXPECT_FALSE(e.problem().empty());
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected InputError, got: " << e.what();
    return {};
  }
  ADD_FAILURE() << "expected InputError, nothing was thrown";
  return {};
}

std::string open_error(const fs::path& path) {
  return input_error_message([&] { SafetensorsFile::open(path); });
}

// The InputError message for a hand-made file with this header and data.
std::string error_for(const fs::path& dir, const std::string& header, const std::string& data) {
  const fs::path path = dir / "bad.safetensors";
  write_bytes(path, safetensors_bytes(header, data));
  return open_error(path);
}

// Equal dtype, shape and every byte (so NaN payloads and -0.0 count too).
::testing::AssertionResult bit_identical(const at::Tensor& actual, const at::Tensor& expected) {
  if (actual.scalar_type() != expected.scalar_type()) {
    return ::testing::AssertionFailure() << "dtype " << actual.scalar_type() << " != " << expected.scalar_type();
  }
  if (actual.sizes() != expected.sizes()) {
    return ::testing::AssertionFailure() << "shape " << actual.sizes() << " != " << expected.sizes();
  }
  const at::Tensor a = actual.contiguous();
  const at::Tensor e = expected.contiguous();
  if (a.nbytes() > 0 && std::memcmp(a.data_ptr(), e.data_ptr(), static_cast<size_t>(a.nbytes())) != 0) {
    return ::testing::AssertionFailure() << "bytes differ for dtype " << actual.scalar_type();
  }
  return ::testing::AssertionSuccess();
}

// One tensor per supported dtype, with values that span the type's range (and IEEE special values for floats).
std::vector<std::pair<std::string, at::Tensor>> every_dtype_tensors() {
  at::manual_seed(7);
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  auto floating = [](at::ScalarType type) {
    at::Tensor t = (at::randn({3, 5}, at::kDouble) * 1000).to(type);
    t.view({-1})[0] = std::numeric_limits<double>::infinity();
    t.view({-1})[1] = -std::numeric_limits<double>::infinity();
    t.view({-1})[2] = std::numeric_limits<double>::quiet_NaN();
    t.view({-1})[3] = -0.0;
    return t;
  };
  tensors.emplace_back("f32", floating(at::kFloat));
  tensors.emplace_back("f16", floating(at::kHalf));
  tensors.emplace_back("bf16", floating(at::kBFloat16));
  tensors.emplace_back("f64", floating(at::kDouble));
  tensors.emplace_back("i64", at::randint(std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max(),
                                          {2, 3, 4}, at::kLong));
  tensors.emplace_back(
      "i32", at::randint(std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max(), {7}, at::kLong)
                 .to(at::kInt));
  tensors.emplace_back("i16", at::randint(-32768, 32767, {3, 3}, at::kLong).to(at::kShort));
  tensors.emplace_back("i8", at::randint(-128, 127, {9}, at::kLong).to(at::kChar));
  tensors.emplace_back("u8", at::randint(0, 255, {5, 1}, at::kLong).to(at::kByte));
  tensors.emplace_back("bool", at::randint(0, 2, {11}, at::kLong).to(at::kBool));
  return tensors;
}

TEST_F(SafetensorsRoundTrip, EveryDtypeKeepsEveryBit) {
  const auto tensors = every_dtype_tensors();
  const fs::path path = dir / "all.safetensors";
  save_safetensors(path, tensors, {{"format", "pt"}, {"note", "round trip"}});

  const auto file = SafetensorsFile::open(path);
  EXPECT_EQ(file->tensors().size(), tensors.size());
  EXPECT_EQ(file->metadata(), (std::map<std::string, std::string>{{"format", "pt"}, {"note", "round trip"}}));
  const std::map<std::string, std::string> dtype_names = {
      {"f32", "F32"}, {"f16", "F16"}, {"bf16", "BF16"}, {"f64", "F64"}, {"i64", "I64"},
      {"i32", "I32"}, {"i16", "I16"}, {"i8", "I8"},     {"u8", "U8"},   {"bool", "BOOL"}};
  for (const auto& [name, expected] : tensors) {
    SCOPED_TRACE(name);
    ASSERT_GT(expected.to(at::kDouble).abs().nan_to_num(0, 0, 0).sum().item<double>(), 0) << "all-zero input";
    EXPECT_EQ(file->info(name).dtype, dtype_names.at(name));
    EXPECT_EQ(file->info(name).shape, expected.sizes().vec());
    EXPECT_TRUE(bit_identical(file->tensor(name), expected));
  }
}

TEST_F(SafetensorsRoundTrip, ZeroElementTensorAndScalar) {
  const at::Tensor empty = at::zeros({0, 3}, at::kFloat);
  const at::Tensor scalar = at::scalar_tensor(-2.5, at::kDouble);
  const at::Tensor after = at::arange(4, at::kInt);
  const fs::path path = dir / "edge.safetensors";
  save_safetensors(path, {{"empty", empty}, {"scalar", scalar}, {"after", after}});

  const auto file = SafetensorsFile::open(path);
  EXPECT_EQ(file->info("empty").shape, (std::vector<int64_t>{0, 3}));
  EXPECT_EQ(file->info("empty").byte_size(), 0u);
  EXPECT_TRUE(bit_identical(file->tensor("empty"), empty));
  EXPECT_TRUE(file->info("scalar").shape.empty());
  const at::Tensor loaded_scalar = file->tensor("scalar");
  EXPECT_EQ(loaded_scalar.dim(), 0);
  EXPECT_EQ(loaded_scalar.item<double>(), -2.5);
  EXPECT_TRUE(bit_identical(file->tensor("after"), after));
}

TEST_F(SafetensorsRoundTrip, NonContiguousInputsAreSavedAsTheirValues) {
  const at::Tensor base = at::arange(12, at::kFloat).reshape({3, 4});
  const at::Tensor transposed = base.t();
  const at::Tensor strided = base.slice(1, 0, 4, 2);
  const fs::path path = dir / "views.safetensors";
  save_safetensors(path, {{"transposed", transposed}, {"strided", strided}});

  const auto file = SafetensorsFile::open(path);
  EXPECT_TRUE(bit_identical(file->tensor("transposed"), transposed.contiguous()));
  EXPECT_TRUE(bit_identical(file->tensor("strided"), strided.contiguous()));
}

// Bytes written by Python safetensors 0.8 (`save_file({"b": zeros(3, uint8), "a": ones(2), "c": zeros(2, float64)},
// metadata={"format": "pt"})`): larger dtypes first, then names; header padded with spaces to a multiple of 8.
TEST_F(SafetensorsRoundTrip, FileIsByteIdenticalToThePythonLibrary) {
  const fs::path path = dir / "python.safetensors";
  save_safetensors(
      path, {{"b", at::zeros({3}, at::kByte)}, {"a", at::ones({2}, at::kFloat)}, {"c", at::zeros({2}, at::kDouble)}},
      {{"format", "pt"}});
  const std::string header =
      R"({"__metadata__":{"format":"pt"},"c":{"dtype":"F64","shape":[2],"data_offsets":[0,16]},)"
      R"("a":{"dtype":"F32","shape":[2],"data_offsets":[16,24]},"b":{"dtype":"U8","shape":[3],"data_offsets":[24,27]}})"
      "     ";
  ASSERT_EQ(header.size(), 200u);
  const std::string one_f32("\x00\x00\x80\x3f", 4);
  const std::string expected =
      safetensors_bytes(header, std::string(16, '\0') + one_f32 + one_f32 + std::string(3, '\0'));
  EXPECT_EQ(testing::file_bytes(path), expected);
}

TEST_F(SafetensorsRoundTrip, EmptyTensorListGivesAnEmptyButValidFile) {
  const fs::path path = dir / "nothing.safetensors";
  save_safetensors(path, {});
  EXPECT_EQ(testing::file_bytes(path), safetensors_bytes("{}      ", ""));
  EXPECT_TRUE(SafetensorsFile::open(path)->tensors().empty());
}

TEST_F(SafetensorsReading, AlignedTensorsAreViewsOfTheMapping) {
  const fs::path path = dir / "all.safetensors";
  save_safetensors(path, every_dtype_tensors());
  const auto file = SafetensorsFile::open(path);
  for (const auto& item : file->tensors()) {
    SCOPED_TRACE(item.first);
    // Two reads share memory only when neither is a copy.
    EXPECT_EQ(file->tensor(item.first).data_ptr(), file->tensor(item.first).data_ptr());
  }
}

TEST_F(SafetensorsReading, MisalignedDataIsCopiedWithTheRightValues) {
  // F32 data starting at byte 3 of the (8-byte aligned) data section cannot be viewed as float.
  const std::string header =
      R"({"u":{"dtype":"U8","shape":[3],"data_offsets":[0,3]},"f":{"dtype":"F32","shape":[2],"data_offsets":[3,11]}})";
  const std::string padded = header + std::string((8 - header.size() % 8) % 8, ' ');
  const float values[2] = {1.5f, -3.25f};
  std::string data("\x01\x02\x03", 3);
  data.append(reinterpret_cast<const char*>(values), sizeof(values));
  write_bytes(dir / "misaligned.safetensors", safetensors_bytes(padded, data));

  const auto file = SafetensorsFile::open(dir / "misaligned.safetensors");
  const at::Tensor f = file->tensor("f");
  EXPECT_NE(f.data_ptr(), file->tensor("f").data_ptr()) << "expected a copy";
  EXPECT_EQ(f[0].item<float>(), 1.5f);
  EXPECT_EQ(f[1].item<float>(), -3.25f);
  EXPECT_EQ(file->tensor("u")[2].item<uint8_t>(), 3);
}

TEST_F(SafetensorsReading, TensorsOutliveTheFileAndTheCheckpoint) {
  const at::Tensor expected = at::arange(1000, at::kFloat) * 0.5;
  save_safetensors(dir / "model.safetensors", {{"w", expected}});
  at::Tensor from_file;
  at::Tensor from_checkpoint;
  {
    auto file = SafetensorsFile::open(dir / "model.safetensors");
    from_file = file->tensor("w");
    const SafetensorsCheckpoint checkpoint = SafetensorsCheckpoint::open_folder(dir);
    from_checkpoint = checkpoint.tensor("w");
  }
  EXPECT_TRUE(bit_identical(from_file, expected));
  EXPECT_TRUE(bit_identical(from_checkpoint, expected));
}

TEST_F(SafetensorsReading, InPlaceChangesNeverReachTheFile) {
  const at::Tensor expected = at::arange(64, at::kFloat);
  const fs::path path = dir / "w.safetensors";
  save_safetensors(path, {{"w", expected}});
  const std::string bytes_before = testing::file_bytes(path);
  {
    const auto file = SafetensorsFile::open(path);
    at::Tensor view = file->tensor("w");
    view.mul_(-7).add_(3);
    EXPECT_EQ(view[1].item<float>(), -4.0f);
  }
  EXPECT_EQ(testing::file_bytes(path), bytes_before);
  EXPECT_TRUE(bit_identical(SafetensorsFile::open(path)->tensor("w"), expected));
}

TEST_F(SafetensorsReading, Stories260KCheckpoint) {
  LOWBIT_REQUIRE_TESTDATA(kStoriesWeights);
  const fs::path path = lowbit::testing::testdata_path(kStoriesWeights);
  const auto file = SafetensorsFile::open(path);
  EXPECT_EQ(file->tensors().size(), 47u);
  EXPECT_EQ(file->metadata().at("format"), "pt");
  EXPECT_FALSE(file->contains("lm_head.weight"));
  ASSERT_TRUE(file->contains("model.embed_tokens.weight"));
  const SafetensorsTensorInfo& info = file->info("model.embed_tokens.weight");
  EXPECT_EQ(info.dtype, "F32");
  EXPECT_EQ(info.shape, (std::vector<int64_t>{512, 64}));

  // Values as Python's safetensors reads them.
  const at::Tensor embed = file->tensor("model.embed_tokens.weight");
  EXPECT_EQ(embed.scalar_type(), at::kFloat);
  EXPECT_EQ(embed.sizes().vec(), (std::vector<int64_t>{512, 64}));
  EXPECT_EQ(embed[0][0].item<float>(), -0.29474878311157227f);
  EXPECT_EQ(embed[0][1].item<float>(), 0.5618956089019775f);
  EXPECT_EQ(embed[0][2].item<float>(), 0.1754225343465805f);
  EXPECT_EQ(embed[511][63].item<float>(), -0.424032598733902f);
  EXPECT_NEAR(embed.to(at::kDouble).sum().item<double>(), -752.3677446640068, 1e-9);

  const SafetensorsCheckpoint checkpoint = SafetensorsCheckpoint::open_folder(path.parent_path());
  EXPECT_EQ(checkpoint.files(), std::vector<fs::path>{path});
  const std::vector<std::string> names = checkpoint.names();
  EXPECT_EQ(names.size(), 47u);
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  EXPECT_EQ(checkpoint.total_bytes(), 1040128u);
  EXPECT_TRUE(bit_identical(checkpoint.tensor("model.embed_tokens.weight"), embed));
}

TEST_F(SafetensorsReading, AbsentTensorIsNamedWithTheFile) {
  save_safetensors(dir / "model.safetensors", {{"w", at::ones({2})}});
  const auto file = SafetensorsFile::open(dir / "model.safetensors");
  std::string message = input_error_message([&] { file->info("lm_head.weight"); });
  EXPECT_CONTAINS(message, "'lm_head.weight'");
  EXPECT_CONTAINS(message, "model.safetensors");
  message = input_error_message([&] { file->tensor("lm_head.weight"); });
  EXPECT_CONTAINS(message, "'lm_head.weight'");

  const SafetensorsCheckpoint checkpoint = SafetensorsCheckpoint::open_folder(dir);
  message = input_error_message([&] { checkpoint.info("lm_head.weight"); });
  EXPECT_CONTAINS(message, "'lm_head.weight'");
  EXPECT_CONTAINS(message, dir.string());
}

TEST_F(SafetensorsBadFile, MissingFile) {
  const std::string message = open_error(dir / "absent.safetensors");
  EXPECT_CONTAINS(message, "absent.safetensors");
  EXPECT_CONTAINS(message, "cannot be opened");
}

TEST_F(SafetensorsBadFile, ShorterThanEightBytes) {
  write_bytes(dir / "short.safetensors", std::string("\x05\x00\x00", 3));
  const std::string message = open_error(dir / "short.safetensors");
  EXPECT_CONTAINS(message, "short.safetensors");
  EXPECT_CONTAINS(message, "truncated");
  EXPECT_CONTAINS(message, "3 bytes");
}

TEST_F(SafetensorsBadFile, EmptyFile) {
  write_bytes(dir / "empty.safetensors", "");
  const std::string message = open_error(dir / "empty.safetensors");
  EXPECT_CONTAINS(message, "truncated");
  EXPECT_CONTAINS(message, "0 bytes");
}

TEST_F(SafetensorsBadFile, HeaderLengthBeyondTheFile) {
  write_bytes(dir / "cut.safetensors", u64_little_endian(1000) + R"({"w":{"dtype":"F32")");
  const std::string message = open_error(dir / "cut.safetensors");
  EXPECT_CONTAINS(message, "truncated");
  EXPECT_CONTAINS(message, "1008");
  EXPECT_CONTAINS(message, std::to_string(8 + 19));
}

TEST_F(SafetensorsBadFile, HeaderLengthOverTheFormatLimit) {
  // A length that would be a 2 GB allocation if believed; the file itself is tiny.
  write_bytes(dir / "huge.safetensors", u64_little_endian(2'000'000'000) + "{}");
  const std::string message = open_error(dir / "huge.safetensors");
  EXPECT_CONTAINS(message, "2000000000");
  EXPECT_CONTAINS(message, "limit");
}

TEST_F(SafetensorsBadFile, HeaderIsNotJson) {
  const std::string message = error_for(dir, R"({"w": {"dtype": "F32", )", "");
  EXPECT_CONTAINS(message, "not valid JSON");
}

TEST_F(SafetensorsBadFile, HeaderIsNotAnObject) {
  const std::string message = error_for(dir, "[1, 2, 3]", "");
  EXPECT_CONTAINS(message, "not a JSON object");
}

TEST_F(SafetensorsBadFile, EntryIsNotAnObject) {
  const std::string message = error_for(dir, R"({"w": 12})", "");
  EXPECT_CONTAINS(message, "'w'");
  EXPECT_CONTAINS(message, "not an object");
}

TEST_F(SafetensorsBadFile, EntryMissingAField) {
  const nlohmann::json complete = {{"dtype", "F32"}, {"shape", {2}}, {"data_offsets", {0, 8}}};
  for (const char* field : {"dtype", "shape", "data_offsets"}) {
    SCOPED_TRACE(field);
    nlohmann::json entry = complete;
    entry.erase(field);
    const std::string message = error_for(dir, nlohmann::json{{"w", entry}}.dump(), std::string(8, '\0'));
    EXPECT_CONTAINS(message, "'w'");
    EXPECT_CONTAINS(message, std::string("no \"") + field + "\"");
  }
}

TEST_F(SafetensorsBadFile, EntryWithWrongJsonTypes) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"dtype":5,"shape":[2],"data_offsets":[0,8]})", "\"dtype\" must be a string"},
      {R"({"dtype":"F32","shape":"2","data_offsets":[0,8]})", "\"shape\" must be a list of integers"},
      {R"({"dtype":"F32","shape":[2.5],"data_offsets":[0,8]})", "\"shape\" must be a list of integers"},
      {R"({"dtype":"F32","shape":[2],"data_offsets":[0]})", "\"data_offsets\" must be two non-negative integers"},
      {R"({"dtype":"F32","shape":[2],"data_offsets":[-8,0]})", "\"data_offsets\" must be two non-negative integers"},
      {R"({"dtype":"F32","shape":[2],"data_offsets":["0","8"]})", "\"data_offsets\" must be two non-negative integers"},
      {R"({"dtype":"F32","shape":[2],"data_offsets":{"begin":0}})",
       "\"data_offsets\" must be two non-negative integers"},
  };
  for (const auto& [entry, fact] : cases) {
    SCOPED_TRACE(entry);
    const std::string message = error_for(dir, R"({"w":)" + entry + "}", std::string(8, '\0'));
    EXPECT_CONTAINS(message, "'w'");
    EXPECT_CONTAINS(message, fact);
  }
}

TEST_F(SafetensorsBadFile, UnknownDtype) {
  const std::string message =
      error_for(dir, R"({"scales":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[0,2]}})", std::string(8, '\0'));
  EXPECT_CONTAINS(message, "'scales'");
  EXPECT_CONTAINS(message, "'F8_E4M3'");
  EXPECT_CONTAINS(message, "BF16");
}

TEST_F(SafetensorsBadFile, NegativeDimension) {
  const std::string message =
      error_for(dir, R"({"w":{"dtype":"F32","shape":[-2,2],"data_offsets":[0,16]}})", std::string(16, '\0'));
  EXPECT_CONTAINS(message, "'w'");
  EXPECT_CONTAINS(message, "negative dimension -2");
}

TEST_F(SafetensorsBadFile, HeaderLyingAboutSizes) {
  const std::string message =
      error_for(dir, R"({"w":{"dtype":"F32","shape":[4,4],"data_offsets":[0,32]}})", std::string(32, '\0'));
  EXPECT_CONTAINS(message, "lying about sizes");
  EXPECT_CONTAINS(message, "'w' of shape [4, 4] and dtype F32");
  EXPECT_CONTAINS(message, "needs 64 bytes");
  EXPECT_CONTAINS(message, "give 32 bytes");
}

TEST_F(SafetensorsBadFile, ShapeWhoseSizeOverflows) {
  // 2^62 × 2^62 elements: a product that wraps around to 0 in 64 bits if not checked.
  const std::string message = error_for(
      dir, R"({"w":{"dtype":"F32","shape":[4611686018427387904,4611686018427387904],"data_offsets":[0,0]}})", "");
  EXPECT_CONTAINS(message, "'w'");
  EXPECT_CONTAINS(message, "lying about sizes");
}

TEST_F(SafetensorsBadFile, OffsetsEndBeforeTheyBegin) {
  const std::string message =
      error_for(dir, R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", std::string(8, '\0'));
  EXPECT_CONTAINS(message, "'w'");
  EXPECT_CONTAINS(message, "[8, 0]");
  EXPECT_CONTAINS(message, "end before they begin");
}

TEST_F(SafetensorsBadFile, DataBeyondTheEndOfTheFile) {
  const std::string header = R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})";  // 55 bytes
  const std::string message = error_for(dir, header, std::string(8, '\0'));
  EXPECT_CONTAINS(message, "file is truncated");
  EXPECT_CONTAINS(message, "tensor 'w' needs bytes up to " + std::to_string(8 + header.size() + 16));
  EXPECT_CONTAINS(message, "the file has " + std::to_string(8 + header.size() + 8));
  EXPECT_CONTAINS(message, "re-download");
}

TEST_F(SafetensorsBadFile, TruncatedStories260K) {
  LOWBIT_REQUIRE_TESTDATA(kStoriesWeights);
  const fs::path copy = dir / "model.safetensors";
  fs::copy_file(lowbit::testing::testdata_path(kStoriesWeights), copy);
  fs::resize_file(copy, fs::file_size(copy) / 2);
  const std::string message = open_error(copy);
  EXPECT_CONTAINS(message, "model.safetensors");
  EXPECT_CONTAINS(message, "file is truncated");
  EXPECT_CONTAINS(message, "the file has " + std::to_string(fs::file_size(copy)));
}

TEST_F(SafetensorsBadFile, OverlappingTensors) {
  const std::string message = error_for(dir,
                                        R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},)"
                                        R"("b":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}})",
                                        std::string(24, '\0'));
  EXPECT_CONTAINS(message, "'a' (bytes 0 to 16)");
  EXPECT_CONTAINS(message, "'b' (bytes 8 to 24)");
  EXPECT_CONTAINS(message, "overlap");
}

TEST_F(SafetensorsBadFile, MetadataThatIsNotStrings) {
  const std::string message = error_for(dir, R"({"__metadata__":{"format":"pt","version":3}})", "");
  EXPECT_CONTAINS(message, "__metadata__");
  EXPECT_CONTAINS(message, "'version'");
}

TEST_F(SafetensorsBadFile, BoolTensorWithAByteOtherThanZeroOrOne) {
  write_bytes(dir / "bool.safetensors",
              safetensors_bytes(R"({"mask":{"dtype":"BOOL","shape":[3],"data_offsets":[0,3]}})",
                                std::string("\x01\x07\x00", 3)));
  const auto file = SafetensorsFile::open(dir / "bool.safetensors");
  const std::string message = input_error_message([&] { file->tensor("mask"); });
  EXPECT_CONTAINS(message, "'mask'");
  EXPECT_CONTAINS(message, "byte 7 at element 1");
}

// Two shards and an index written by hand, as transformers' save_pretrained lays them out.
void write_sharded_model(const fs::path& dir, const at::Tensor& a, const at::Tensor& b, const at::Tensor& c) {
  save_safetensors(dir / "model-00001-of-00002.safetensors", {{"a", a}, {"b", b}}, {{"format", "pt"}});
  save_safetensors(dir / "model-00002-of-00002.safetensors", {{"c", c}}, {{"format", "pt"}});
  const nlohmann::json index = {{"metadata", {{"total_size", a.nbytes() + b.nbytes() + c.nbytes()}}},
                                {"weight_map",
                                 {{"a", "model-00001-of-00002.safetensors"},
                                  {"b", "model-00001-of-00002.safetensors"},
                                  {"c", "model-00002-of-00002.safetensors"}}}};
  write_bytes(dir / "model.safetensors.index.json", index.dump(2));
}

TEST_F(SafetensorsFolder, ShardedFolderThroughTheIndex) {
  const at::Tensor a = at::arange(6, at::kFloat).reshape({2, 3});
  const at::Tensor b = at::arange(5, at::kLong) - 2;
  const at::Tensor c = at::linspace(-1, 1, 8, at::kDouble).to(at::kBFloat16);
  write_sharded_model(dir, a, b, c);

  const SafetensorsCheckpoint checkpoint = SafetensorsCheckpoint::open_folder(dir);
  EXPECT_EQ(checkpoint.names(), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(checkpoint.files(), (std::vector<fs::path>{dir / "model-00001-of-00002.safetensors",
                                                       dir / "model-00002-of-00002.safetensors"}));
  EXPECT_EQ(checkpoint.total_bytes(), static_cast<uint64_t>(a.nbytes() + b.nbytes() + c.nbytes()));
  EXPECT_TRUE(checkpoint.contains("c"));
  EXPECT_FALSE(checkpoint.contains("d"));
  EXPECT_EQ(checkpoint.info("c").dtype, "BF16");
  EXPECT_TRUE(bit_identical(checkpoint.tensor("a"), a));
  EXPECT_TRUE(bit_identical(checkpoint.tensor("b"), b));
  EXPECT_TRUE(bit_identical(checkpoint.tensor("c"), c));
}

TEST_F(SafetensorsFolder, FolderThatDoesNotExist) {
  const std::string message = input_error_message([&] { SafetensorsCheckpoint::open_folder(dir / "nowhere"); });
  EXPECT_CONTAINS(message, (dir / "nowhere").string());
  EXPECT_CONTAINS(message, "does not exist");
}

TEST_F(SafetensorsFolder, FolderWithoutWeights) {
  write_bytes(dir / "config.json", "{}");
  const std::string message = input_error_message([&] { SafetensorsCheckpoint::open_folder(dir); });
  EXPECT_CONTAINS(message, "no *.safetensors");
}

TEST_F(SafetensorsFolder, PickledCheckpointsAreRefusedWithTheReasonAndTheConversion) {
  write_bytes(dir / "pytorch_model.bin", "never unpickled");
  write_bytes(dir / "config.json", "{}");
  const std::string message = input_error_message([&] { SafetensorsCheckpoint::open_folder(dir); });
  EXPECT_CONTAINS(message, "pytorch_model.bin");
  EXPECT_CONTAINS(message, "pickle");
  EXPECT_CONTAINS(message, "arbitrary code");
  EXPECT_CONTAINS(message, "M.from_pretrained('" + dir.string() + "').save_pretrained('" + dir.string() +
                               "-safetensors', safe_serialization=True)");
}

TEST_F(SafetensorsFolder, PthFilesAreRefusedToo) {
  write_bytes(dir / "consolidated.00.pth", "never unpickled");
  const std::string message = input_error_message([&] { SafetensorsCheckpoint::open_folder(dir); });
  EXPECT_CONTAINS(message, "consolidated.00.pth");
  EXPECT_CONTAINS(message, "arbitrary code");
}

TEST_F(SafetensorsFolder, IndexThatIsNotJson) {
  write_sharded_model(dir, at::ones({2}), at::ones({2}), at::ones({2}));
  write_bytes(dir / "model.safetensors.index.json", "{\"weight_map\": {");
  const std::string message = input_error_message([&] { SafetensorsCheckpoint::open_folder(dir); });
  EXPECT_CONTAINS(message, "model.safetensors.index.json");
  EXPECT_CONTAINS(message, "not valid JSON");
}

TEST_F(SafetensorsFolder, IndexWithoutWeightMap) {
  write_sharded_model(dir, at::ones({2}), at::ones({2}), at::ones({2}));
  write_bytes(dir / "model.safetensors.index.json", R"({"metadata": {}})");
  const std::string message = input_error_message([&] { SafetensorsCheckpoint::open_folder(dir); });
  EXPECT_CONTAINS(message, "model.safetensors.index.json");
  EXPECT_CONTAINS(message, "\"weight_map\"");
}

TEST_F(SafetensorsFolder, IndexPointingOutsideTheFolder) {
  write_bytes(dir / "model.safetensors.index.json", R"({"weight_map": {"a": "../elsewhere.safetensors"}})");
  const std::string message = input_error_message([&] { SafetensorsCheckpoint::open_folder(dir); });
  EXPECT_CONTAINS(message, "'a'");
  EXPECT_CONTAINS(message, "not a file inside the model folder");
}

TEST_F(SafetensorsFolder, MissingShardIsNamed) {
  write_sharded_model(dir, at::ones({2}), at::ones({2}), at::ones({2}));
  fs::remove(dir / "model-00002-of-00002.safetensors");
  const std::string message = input_error_message([&] { SafetensorsCheckpoint::open_folder(dir); });
  EXPECT_CONTAINS(message, "'model-00002-of-00002.safetensors'");
  EXPECT_CONTAINS(message, "'c'");
  EXPECT_CONTAINS(message, "does not exist");
}

TEST_F(SafetensorsFolder, SameTensorInTwoShards) {
  write_sharded_model(dir, at::ones({2}), at::ones({2}), at::ones({2}));
  save_safetensors(dir / "model-00002-of-00002.safetensors", {{"a", at::zeros({2})}, {"c", at::ones({2})}});
  const std::string message = input_error_message([&] { SafetensorsCheckpoint::open_folder(dir); });
  EXPECT_CONTAINS(message, "tensor 'a' is stored twice");
  EXPECT_CONTAINS(message, "model-00001-of-00002.safetensors");
  EXPECT_CONTAINS(message, "model-00002-of-00002.safetensors");
}

TEST_F(SafetensorsFolder, IndexPlacingATensorInTheWrongShard) {
  write_sharded_model(dir, at::ones({2}), at::ones({2}), at::ones({2}));
  save_safetensors(dir / "model-00002-of-00002.safetensors", {{"d", at::ones({2})}});
  const std::string message = input_error_message([&] { SafetensorsCheckpoint::open_folder(dir); });
  EXPECT_CONTAINS(message, "tensor 'c'");
  EXPECT_CONTAINS(message, "'model-00002-of-00002.safetensors'");
  EXPECT_CONTAINS(message, "does not hold it");
}

TEST_F(SafetensorsFolder, BrokenShardIsNamed) {
  write_sharded_model(dir, at::ones({2}), at::ones({2}), at::ones({2}));
  const fs::path shard = dir / "model-00001-of-00002.safetensors";
  fs::resize_file(shard, fs::file_size(shard) - 4);
  const std::string message = input_error_message([&] { SafetensorsCheckpoint::open_folder(dir); });
  EXPECT_CONTAINS(message, shard.string());
  EXPECT_CONTAINS(message, "truncated");
}

TEST_F(SafetensorsWriting, IntoAMissingFolderIsAResourceErrorNamingThePath) {
  const fs::path path = dir / "missing" / "model.safetensors";
  try {
    save_safetensors(path, {{"w", at::ones({2})}});
    FAIL() << "nothing was thrown";
  } catch (const ResourceError& e) {
    EXPECT_CONTAINS(std::string(e.what()), path.string());
  }
}

TEST_F(SafetensorsWriting, CallerMistakesAreInternalErrors) {
  const fs::path path = dir / "bad.safetensors";
  EXPECT_THROW(save_safetensors(path, {{"w", at::ones({2})}, {"w", at::ones({2})}}), InternalError);
  EXPECT_THROW(save_safetensors(path, {{"__metadata__", at::ones({2})}}), InternalError);
  EXPECT_THROW(save_safetensors(path, {{"z", at::ones({2}, at::kComplexFloat)}}), InternalError);
  EXPECT_FALSE(fs::exists(path));
}

TEST_F(AtomicFile, WritesTheContentAndLeavesNoTemporaryFile) {
  const fs::path path = dir / "config.json";
  write_text_file_atomically(path, "{\"a\": 1}\n");
  EXPECT_EQ(testing::file_bytes(path), "{\"a\": 1}\n");
  EXPECT_FALSE(fs::exists(dir / "config.json.tmp"));
  write_text_file_atomically(path, "replaced");
  EXPECT_EQ(testing::file_bytes(path), "replaced");
}

TEST_F(AtomicFile, WriterThatThrowsLeavesThePreviousFileIntact) {
  const fs::path path = dir / "adapter.safetensors";
  write_bytes(path, "previous content");
  EXPECT_THROW(write_file_atomically(path,
                                     [](std::ostream& out) {
                                       out << "half of the new content";
                                       throw Cancelled();
                                     }),
               Cancelled);
  EXPECT_EQ(testing::file_bytes(path), "previous content");
  EXPECT_FALSE(fs::exists(dir / "adapter.safetensors.tmp"));
}

// The stream going bad mid-write stands in for a full disk.
TEST_F(AtomicFile, FailingStreamIsAResourceErrorAndKeepsThePreviousFile) {
  const fs::path path = dir / "model.safetensors";
  write_bytes(path, "previous content");
  try {
    write_file_atomically(path, [](std::ostream& out) {
      out << "partial";
      out.setstate(std::ios::badbit);
    });
    FAIL() << "nothing was thrown";
  } catch (const ResourceError& e) {
    EXPECT_CONTAINS(std::string(e.what()), path.string());
    EXPECT_CONTAINS(std::string(e.what()), "disk may be full");
  }
  EXPECT_EQ(testing::file_bytes(path), "previous content");
  EXPECT_FALSE(fs::exists(dir / "model.safetensors.tmp"));
}

TEST_F(AtomicFile, MissingFolderIsAResourceErrorNamingThePath) {
  const fs::path path = dir / "no" / "such" / "folder" / "config.json";
  try {
    write_text_file_atomically(path, "{}");
    FAIL() << "nothing was thrown";
  } catch (const ResourceError& e) {
    EXPECT_CONTAINS(std::string(e.what()), path.string());
    EXPECT_CONTAINS(std::string(e.what()), std::generic_category().message(ENOENT));
  }
  EXPECT_FALSE(fs::exists(dir / "no"));
}

}  // namespace
}  // namespace lowbit::model
