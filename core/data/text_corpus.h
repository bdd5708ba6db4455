// Text for calibration and perplexity: a plain UTF-8 file (one document, newlines normalised) or JSON Lines with
// a text field per line (C4-style, one document each).
//
//   TextCorpus corpus = load_text_corpus("c4_demo.jsonl");     // format chosen by content, see below
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace lowbit::data {

enum class TextFormat { PlainText, JsonLines };

struct TextCorpus {
  std::filesystem::path path;
  TextFormat format = TextFormat::PlainText;
  std::vector<std::string> documents;  // PlainText: exactly one
};

// JSON Lines when the file name ends in .jsonl, or when its first non-blank character is '{'; else plain text.
// Plain text: UTF-8 checked (the error gives line and byte offset), a leading BOM removed, CRLF and CR turned
// into LF. JSONL: every non-blank line must be an object with a string `text_field`; errors give the line.
TextCorpus load_text_corpus(const std::filesystem::path& path, const std::string& text_field = "text");

// Documents joined with `separator`.
std::string join_documents(const TextCorpus& corpus, const std::string& separator);

// The rows the int21 protocol joins: the lines of a plain text, or the documents of a JSONL file.
std::vector<std::string> corpus_rows(const TextCorpus& corpus);

}  // namespace lowbit::data
