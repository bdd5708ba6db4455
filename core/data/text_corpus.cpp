#include "core/data/text_corpus.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/tokenizer/tokenizer.h"
#include "core/util/errors.h"
#include "core/util/json_limits.h"

namespace lowbit::data {
namespace {

std::string read_all(const std::filesystem::path& path) {
  if (!std::filesystem::is_regular_file(path)) {
    throw InputError(path.string(), "does not exist or is not a file", "check the path");
  }
  return util::read_file_bytes(path, util::kDatasetJsonLimits.max_bytes);
}

std::string normalise_newlines(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r') {
      out.push_back('\n');
      if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

void require_utf8(const std::string& text, const std::filesystem::path& path) {
  const int64_t bad = tokenizer::find_invalid_utf8(text);
  if (bad < 0) return;
  const int64_t line = 1 + std::count(text.begin(), text.begin() + bad, '\n');
  throw InputError(path.string(),
                   "is not valid UTF-8: line " + std::to_string(line) + ", byte offset " + std::to_string(bad),
                   "convert the file to UTF-8 (e.g. iconv -f latin1 -t utf-8)");
}

bool looks_like_jsonl(const std::filesystem::path& path, const std::string& text) {
  if (path.extension() == ".jsonl") return true;
  const size_t first = text.find_first_not_of(" \t\r\n");
  return first != std::string::npos && text[first] == '{';
}

}  // namespace

TextCorpus load_text_corpus(const std::filesystem::path& path, const std::string& text_field) {
  std::string text = read_all(path);
  if (text.compare(0, 3, "\xEF\xBB\xBF") == 0) text.erase(0, 3);
  require_utf8(text, path);
  TextCorpus corpus;
  corpus.path = path;
  if (const size_t nul = text.find('\0'); nul != std::string::npos) {
    throw InputError(path.string(), "holds a NUL byte at offset " + std::to_string(nul) + ": it is binary data, not text",
                     "give a plain-text (.txt) or JSON Lines (.jsonl) file");
  }
  if (!looks_like_jsonl(path, text)) {
    corpus.format = TextFormat::PlainText;
    corpus.documents.push_back(normalise_newlines(text));
    if (corpus.documents[0].find_first_not_of(" \t\n") == std::string::npos) {
      throw InputError(path.string(), "holds no text", "choose a file with text in it");
    }
    return corpus;
  }
  corpus.format = TextFormat::JsonLines;
  std::istringstream lines(text);
  std::string line;
  int64_t line_number = 0;
  while (std::getline(lines, line)) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    const std::string where = "line " + std::to_string(line_number);
    if (const auto problem = util::json_limit_problem(line, util::kDatasetLineLimits)) {
      throw InputError(path.string(), where + " " + *problem, "split the record, or give the text as a plain file");
    }
    nlohmann::json record;
    try {
      record = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range for a number like 1e99999
      throw InputError(path.string(), where + " is not valid JSON (" + e.what() + ")",
                       "each line of a .jsonl file must be one JSON object");
    }
    const auto field = record.is_object() ? record.find(text_field) : record.end();
    if (!record.is_object() || field == record.end() || !field->is_string()) {
      throw InputError(path.string(), where + " has no string field '" + text_field + "'",
                       "each line must look like {\"" + text_field + "\": \"...\"}");
    }
    corpus.documents.push_back(normalise_newlines(field->get<std::string>()));
  }
  if (corpus.documents.empty()) throw InputError(path.string(), "holds no records", "choose a file with text in it");
  return corpus;
}

std::string join_documents(const TextCorpus& corpus, const std::string& separator) {
  std::string joined;
  for (size_t i = 0; i < corpus.documents.size(); ++i) {
    if (i > 0) joined += separator;
    joined += corpus.documents[i];
  }
  return joined;
}

std::vector<std::string> corpus_rows(const TextCorpus& corpus) {
  if (corpus.format == TextFormat::JsonLines) return corpus.documents;
  // As Python's str.split("\n"): a text ending in a newline has a last, empty row.
  std::vector<std::string> rows;
  const std::string& text = corpus.documents.front();
  size_t begin = 0;
  for (size_t end = text.find('\n'); end != std::string::npos; end = text.find('\n', begin)) {
    rows.push_back(text.substr(begin, end - begin));
    begin = end + 1;
  }
  rows.push_back(text.substr(begin));
  return rows;
}

}  // namespace lowbit::data
