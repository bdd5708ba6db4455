#include <gtest/gtest.h>

#include "core/util/arg_parser.h"
#include "core/util/errors.h"

namespace lowbit {
namespace {

const std::vector<OptionSpec> kSpecs = {{"--seqlen", true}, {"--greedy", false}, {"--adapters", true, true}};

TEST(ArgParser, ReadsPositionalsValuesFlagsAndRepeats) {
  const ArgParser args("eval", {"model", "--seqlen", "512", "--greedy", "--adapters=a", "--adapters", "b"}, kSpecs);
  EXPECT_EQ(args.positional(0, "MODEL"), "model");
  EXPECT_EQ(args.integer("--seqlen", 2048, 2, 4096), 512);
  EXPECT_TRUE(args.flag("--greedy"));
  EXPECT_EQ(args.values("--adapters"), (std::vector<std::string>{"a", "b"}));
  EXPECT_NO_THROW(args.finish(1));
}

TEST(ArgParser, ReadsCommaSeparatedLists) {
  const ArgParser args("bench", {"--seqlen", "1,4,16"}, kSpecs);
  EXPECT_EQ(args.list("--seqlen"), (std::vector<std::string>{"1", "4", "16"}));
  EXPECT_EQ(args.integer_list("--seqlen", 1, 16), (std::vector<int64_t>{1, 4, 16}));
  EXPECT_FALSE(args.integer_list("--adapters", 1, 16).has_value());
}

TEST(ArgParser, ExplainsEveryMistake) {
  auto message = [](const std::vector<std::string>& argv, auto&& use) -> std::string {
    try {
      const ArgParser args("eval", argv, kSpecs);
      use(args);
    } catch (const UsageError& e) {
      return e.what();
    }
    return "";
  };
  auto nothing = [](const ArgParser&) {};
  EXPECT_NE(message({"--bogus"}, nothing).find("unknown option '--bogus'"), std::string::npos);
  EXPECT_NE(message({"--seqlen"}, nothing).find("'--seqlen' needs a value"), std::string::npos);
  EXPECT_NE(message({"--seqlen", "1", "--seqlen", "2"}, nothing).find("more than once"), std::string::npos);
  EXPECT_NE(message({"--greedy=yes"}, nothing).find("takes no value"), std::string::npos);
  EXPECT_NE(message({"--seqlen", "12x"}, [](const ArgParser& a) { a.integer("--seqlen", 1, 2, 10); })
                .find("--seqlen must be an integer from 2 to 10, got '12x'"),
            std::string::npos);
  EXPECT_NE(message({"--seqlen", "1,,4"}, [](const ArgParser& a) { a.list("--seqlen"); })
                .find("--seqlen takes a comma-separated list; '1,,4' has an empty item"),
            std::string::npos);
  EXPECT_NE(message({"--seqlen", "1,40"}, [](const ArgParser& a) { a.integer_list("--seqlen", 1, 16); })
                .find("--seqlen must be an integer from 1 to 16, got '40'"),
            std::string::npos);
  EXPECT_NE(message({}, [](const ArgParser& a) { a.positional(0, "MODEL"); }).find("missing MODEL"), std::string::npos);
  EXPECT_NE(message({"a", "b"}, [](const ArgParser& a) { a.finish(1); }).find("unexpected argument 'b'"),
            std::string::npos);
}

}  // namespace
}  // namespace lowbit
