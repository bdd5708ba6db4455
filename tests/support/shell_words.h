// A command line as the app shows it ("lowbit correct \"a b\" --steps 20"), split back into its words the way a
// POSIX shell would for these lines: spaces separate, double quotes group, \" is a quote inside them.
#pragma once

#include <string>
#include <vector>

namespace lowbit::testing {

inline std::vector<std::string> split_shell_words(const std::string& line) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false, quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '\\' && i + 1 < line.size() && line[i + 1] == '"') {
        word += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        word += c;
      }
    } else if (c == '"') {
      quoted = in_word = true;
    } else if (c == ' ') {
      if (in_word) words.push_back(word);
      word.clear();
      in_word = false;
    } else {
      word += c;
      in_word = true;
    }
  }
  if (in_word) words.push_back(word);
  return words;
}

}  // namespace lowbit::testing
