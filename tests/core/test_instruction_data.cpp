// Alpaca data: what loads, and what bad files and records produce (a message naming the file, the record and
// the field; the good records still used).
#include <gtest/gtest.h>

#include <unistd.h>

#include <fstream>

#include "core/data/instruction_data.h"
#include "core/util/errors.h"

namespace lowbit::data {
namespace {

namespace fs = std::filesystem;

class InstructionData : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fs::temp_directory_path() / ("lowbit-alpaca-" + std::to_string(::getpid()));
    fs::create_directories(dir);
  }
  void TearDown() override { fs::remove_all(dir); }
  fs::path write(const std::string& name, const std::string& content) {
    std::ofstream(dir / name, std::ios::binary) << content;
    return dir / name;
  }
  std::string error_of(const fs::path& path, const InstructionColumns& columns = {}) {
    try {
      load_instruction_data(path, columns);
    } catch (const InputError& e) {
      return e.what();
    }
    return "no error";
  }
  fs::path dir;
};

TEST_F(InstructionData, ReadsAnArrayAndJsonLinesAlike) {
  const auto array = load_instruction_data(write("a.json", R"([{"instruction": "Add", "input": "1 2", "output": "3"},
    {"instruction": "Greet", "output": "Hi"}])"));
  ASSERT_EQ(array.records.size(), 2u);
  EXPECT_FALSE(array.json_lines);
  EXPECT_EQ(array.records[0].input, "1 2");
  EXPECT_EQ(array.records[1].input, "");
  const auto lines = load_instruction_data(write("a.jsonl", "{\"instruction\": \"Add\", \"input\": \"1 2\", \"output\": \"3\"}\r\n\n"
                                                            "{\"instruction\": \"Greet\", \"input\": null, \"output\": \"Hi\"}\n"));
  ASSERT_EQ(lines.records.size(), 2u);
  EXPECT_TRUE(lines.json_lines);
  EXPECT_EQ(lines.records[1].index, 2);  // line 3
  EXPECT_TRUE(lines.problems.empty());
}

TEST_F(InstructionData, OtherFieldNamesThroughAColumnMapping) {
  const fs::path path = write("q.json", R"([{"question": "Why?", "context": "", "answer": "Because."}])");
  EXPECT_NE(error_of(path).find("has no usable record (record 0, field \"instruction\": is missing)"), std::string::npos)
      << error_of(path);
  const auto data = load_instruction_data(path, {"question", "context", "answer"});
  ASSERT_EQ(data.records.size(), 1u);
  EXPECT_EQ(data.records[0].output, "Because.");
}

TEST_F(InstructionData, BadRecordsAreReportedAndTheRestUsed) {
  const auto data = load_instruction_data(write("mixed.json", R"([
    {"instruction": "Good", "output": "yes"},
    {"instruction": "No output"},
    {"instruction": 5, "output": "x"},
    "just a string",
    {"instruction": "  ", "output": "x"},
    {"instruction": "Input is a list", "input": ["a"], "output": "x"},
    {"instruction": "Good too", "input": "", "output": "also"}])"));
  ASSERT_EQ(data.records.size(), 2u);
  EXPECT_EQ(data.records[1].index, 6);
  ASSERT_EQ(data.problems.size(), 5u);
  EXPECT_EQ(data.problems[0].describe(false), "record 1, field \"output\": is missing");
  EXPECT_EQ(data.problems[1].describe(false), "record 2, field \"instruction\": is a number, not text");
  EXPECT_EQ(data.problems[2].describe(false),
            "record 3: is something else, not an object with \"instruction\" and \"output\"");
  EXPECT_EQ(data.problems[3].describe(false), "record 4, field \"instruction\": is empty");
  EXPECT_EQ(data.problems[4].describe(false), "record 5, field \"input\": is a list, not text");
}

TEST_F(InstructionData, BrokenFilesNameThePlace) {
  EXPECT_NE(error_of(dir / "missing.json").find("missing.json: does not exist"), std::string::npos);
  EXPECT_NE(error_of(write("empty.json", " \n\n")).find("empty.json: is empty"), std::string::npos);
  EXPECT_NE(error_of(write("comma.json", "[{\"instruction\": \"a\", \"output\": \"b\"}\n {\"instruction\": \"c\"}]"))
                .find("comma.json: is not valid JSON: line 2, column 2"),
            std::string::npos)
      << error_of(write("comma2.json", "[{\"instruction\": \"a\", \"output\": \"b\"}\n {\"instruction\": \"c\"}]"));
  EXPECT_NE(error_of(write("text.json", "instruction: hi")).find("is not Alpaca data: it starts with 'i'"), std::string::npos);
  EXPECT_NE(error_of(write("object.json", "[]")).find("has no usable record"), std::string::npos);
  EXPECT_NE(error_of(write("latin1.json", "[{\"instruction\": \"caf\xe9\", \"output\": \"x\"}]"))
                .find("latin1.json: is not valid UTF-8: line 1, column 22 (byte offset 21)"),
            std::string::npos)
      << error_of(write("latin1b.json", "[{\"instruction\": \"caf\xe9\", \"output\": \"x\"}]"));
}

TEST_F(InstructionData, BadLinesOfJsonLinesAreSkippedWithTheirLineNumber) {
  const auto data = load_instruction_data(write("lines.jsonl", "{\"instruction\": \"a\", \"output\": \"b\"}\n"
                                                               "{\"instruction\": \"caf\xe9\", \"output\": \"x\"}\n"
                                                               "{\"instruction\": \"c\", \"output\": \n"
                                                               "{\"instruction\": \"d\", \"output\": \"e\"}\n"));
  ASSERT_EQ(data.records.size(), 2u);
  ASSERT_EQ(data.problems.size(), 2u);
  EXPECT_EQ(data.problems[0].describe(true), "line 2: is not valid UTF-8 (byte 21 of the line)");
  EXPECT_EQ(data.problems[1].describe(true), "line 3: is not valid JSON");
}

TEST_F(InstructionData, TemplatesAreAlpacaLoras) {
  EXPECT_EQ(render_prompt(PromptTemplate::Alpaca, "Add", "1 2"),
            "Below is an instruction that describes a task, paired with an input that provides further context. "
            "Write a response that appropriately completes the request.\n\n### Instruction:\nAdd\n\n### Input:\n1 2"
            "\n\n### Response:\n");
  EXPECT_EQ(render_prompt(PromptTemplate::Alpaca, "Greet {input}"),
            "Below is an instruction that describes a task. Write a response that appropriately completes the "
            "request.\n\n### Instruction:\nGreet {input}\n\n### Response:\n");
  EXPECT_EQ(render_prompt(PromptTemplate::None, "Hello"), "Hello");
}

TEST(InstructionSplit, IsSeededDisjointAndComplete) {
  const Split a = split_records(100, 0.1, 7), b = split_records(100, 0.1, 7), c = split_records(100, 0.1, 8);
  EXPECT_EQ(a.validation, b.validation);
  EXPECT_NE(a.validation, c.validation);
  EXPECT_EQ(a.validation.size(), 10u);
  EXPECT_EQ(a.train.size(), 90u);
  std::vector<int64_t> all = a.train;
  all.insert(all.end(), a.validation.begin(), a.validation.end());
  std::sort(all.begin(), all.end());
  for (int64_t i = 0; i < 100; ++i) EXPECT_EQ(all[static_cast<size_t>(i)], i);
  EXPECT_EQ(split_records(100, 25, 0).validation.size(), 25u);
  EXPECT_EQ(split_records(3, 2000, 0).validation.size(), 2u) << "at least one record stays for training";
}

}  // namespace
}  // namespace lowbit::data
