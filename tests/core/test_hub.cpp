// The pieces of `lowbit download` that need no network: the hashes the Hub names files by (FIPS 180-4 vectors and
// git's blob ids), --include globs, and redirect URLs. The download itself is tests/e2e/cli_download.sh, against a
// Hub on loopback.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "core/util/sha.h"
#include "tests/support/temp_dir.h"

#ifdef LOWBIT_HAVE_HUB
#include "core/hub/http_get.h"
#include "core/hub/hub_download.h"
#endif

namespace lowbit {
namespace {

std::string sha256_of(const std::string& text) {
  Sha256 hash;
  hash.update(text.data(), text.size());
  return hash.hex_digest();
}

std::string sha1_of(const std::string& text) {
  Sha1 hash;
  hash.update(text.data(), text.size());
  return hash.hex_digest();
}

TEST(Sha, MatchesTheStandardsTestVectors) {
  EXPECT_EQ(sha256_of(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_of("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha256_of(std::string(1000000, 'a')), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  EXPECT_EQ(sha1_of(""), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  EXPECT_EQ(sha1_of("abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
  EXPECT_EQ(sha1_of(std::string(1000000, 'a')), "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
}

TEST(Sha, GivesTheSameDigestWhateverTheChunking) {
  std::string text;
  for (int i = 0; i < 1000; ++i) text += static_cast<char>(i * 7 + 3);
  for (size_t chunk : {1u, 3u, 63u, 64u, 65u, 999u}) {
    Sha256 hash;
    for (size_t at = 0; at < text.size(); at += chunk) hash.update(text.data() + at, std::min(chunk, text.size() - at));
    EXPECT_EQ(hash.hex_digest(), sha256_of(text)) << "chunk " << chunk;
  }
}

TEST(Sha, FilesHashAsTheHubNamesThem) {
  testing::TempDir dir;
  const std::filesystem::path file = dir.path() / "hello.txt";
  std::ofstream(file, std::ios::binary) << "hello\n";
  // `git hash-object hello.txt` and `sha256sum hello.txt`
  EXPECT_EQ(file_git_blob_sha1(file), "ce013625030ba8dba906f756967f9e9ca394464a");
  EXPECT_EQ(file_sha256(file), "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03");
}

#ifdef LOWBIT_HAVE_HUB
TEST(Hub, IncludePatternsAreGlobs) {
  EXPECT_TRUE(hub::glob_matches("*.gguf", "SmolLM2-135M-Instruct-Q4_K_M.gguf"));
  EXPECT_TRUE(hub::glob_matches("*Q4_K_M.gguf", "SmolLM2-135M-Instruct-Q4_K_M.gguf"));
  EXPECT_FALSE(hub::glob_matches("*Q4_K_M.gguf", "SmolLM2-135M-Instruct-Q8_0.gguf"));
  EXPECT_TRUE(hub::glob_matches("model-0000?-of-*.safetensors", "model-00001-of-00004.safetensors"));
  EXPECT_TRUE(hub::glob_matches("onnx/*", "onnx/model.onnx"));
  EXPECT_TRUE(hub::glob_matches("*", ""));
  EXPECT_FALSE(hub::glob_matches("config.json", "config.json.bak"));
  EXPECT_TRUE(hub::glob_matches("*a*b*c", "xxaxxbxxc"));
  EXPECT_FALSE(hub::glob_matches("*a*b*c", "xxaxxcxxb"));
}

TEST(Hub, RedirectsResolveAgainstTheUrlThatSentThem) {
  EXPECT_EQ(hub::resolve_location("https://huggingface.co/a/b/resolve/main/x", "https://cdn-lfs.hf.co/y?z=1"),
            "https://cdn-lfs.hf.co/y?z=1");
  EXPECT_EQ(hub::resolve_location("https://huggingface.co/a/b/resolve/main/x", "/api/resolve-cache/x"),
            "https://huggingface.co/api/resolve-cache/x");
  EXPECT_EQ(hub::resolve_location("http://127.0.0.1:8080/a/b/c", "d"), "http://127.0.0.1:8080/a/b/d");
  EXPECT_EQ(hub::url_authority("https://huggingface.co/x"), "huggingface.co");
  EXPECT_EQ(hub::url_authority("http://user@127.0.0.1:8080/a"), "127.0.0.1:8080");
  EXPECT_EQ(hub::url_authority("https://HuggingFace.co"), "huggingface.co");
}

TEST(Hub, TheEndpointAndTokenComeFromTheEnvironment) {
  testing::TempDir home;
  ::setenv("HF_ENDPOINT", "http://mirror.example/ ", 1);
  EXPECT_EQ(hub::default_hub_endpoint(), "http://mirror.example");
  ::unsetenv("HF_ENDPOINT");
  EXPECT_EQ(hub::default_hub_endpoint(), "https://huggingface.co");
  ::unsetenv("HF_TOKEN");
  ::setenv("HF_HOME", home.path().c_str(), 1);
  EXPECT_EQ(hub::default_hub_token(), "");
  std::ofstream(home.path() / "token") << "hf_saved\n";
  EXPECT_EQ(hub::default_hub_token(), "hf_saved");
  ::setenv("HF_TOKEN", "hf_env", 1);
  EXPECT_EQ(hub::default_hub_token(), "hf_env");
  ::unsetenv("HF_TOKEN");
  ::unsetenv("HF_HOME");
}
#endif

}  // namespace
}  // namespace lowbit
