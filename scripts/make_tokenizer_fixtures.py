#!/usr/bin/env python3
"""Reference ids and texts for tests/core/test_hf_tokenizer.cpp, from the Python `tokenizers` and `transformers`.

For each tokenizer.json vocabulary in the shared test data (llama3.2, tinyllama, smollm2-135m-instruct) and every
text of the corpora below, writes one JSON line to OUT/<vocabulary>.jsonl:

    {"corpus": "wikitext", "text": "...", "ids": [...], "ids_special": [...], "decoded": "...", "decoded_skip": "..."}

  ids           tokenizers' Tokenizer.encode(text, add_special_tokens=False).ids
  ids_special   transformers AutoTokenizer(...).encode(text, add_special_tokens=True) when the folder has a
                tokenizer_config.json (that is what LowBit matches); without one AutoTokenizer falls back to
                LlamaTokenizerFast defaults and invents a "<s>" token, so tokenizers' encode(text, True) is used
  decoded       tokenizers' decode(ids_special, skip_special_tokens=False)
  decoded_skip  tokenizers' decode(ids_special, skip_special_tokens=True)

The file's truncation/padding settings are switched off (tinyllama's tokenizer.json truncates at 512), as
transformers does by default. OUT/done.json is written last; the C++ test skips without it.

Corpora: eval/wikitext2/wiki.test.raw.nonempty-crlf (all lines, CR stripped), train_text/tinystories_val_sample.txt
(first 300 non-empty lines), alpaca/alpaca_data_1k.json (instruction + "\\n" + input + "\\n" + output), the 47
llama.cpp tokenizer test strings, hand-written edge cases (added tokens in text, Unicode whitespace, digits,
CJK, emoji, combining marks, long words) and 600 seeded random concatenations of such pieces.

Usage: HF_HUB_OFFLINE=1 python scripts/make_tokenizer_fixtures.py --out DIR --testdata ../shared/testdata
"""

import argparse
import json
import os
import sys
from pathlib import Path

VOCABULARIES = ["llama3.2", "tinyllama", "smollm2-135m-instruct"]

EDGE_TEXTS = [
    "", " ", "  ", "\n", "\n\n\n", "\t", "\r\n", "line1\r\nline2", "Hello world", " Hello world", "Hello  world",
    "HELLO World", "I'm", "I'M fine, you'RE", "don't won't", "   leading spaces", "trailing   ", "a  b   c",
    "a\u00a0b", "\u3000x", "x\u0085y", "x\u2028y", "1234567890", "3.14159", "123456789012345", "\u0661\u0662\u0663",
    "\u2460\u2461", "\U0001F999\U0001F999", "\u4f60\u597d\u4e16\u754c", "\u0395\u03bb\u03bb\u03b7\u03bd\u03b9\u03ba\u03ac \u03a3",
    "\u0130stanbul", "e\u0301", "\U0001F468\u200d\U0001F469\u200d\U0001F467", "\U0001F600!", "\ufffd",
    "<s>hello</s>", "<s> hello", "hello<s>", "hello <s> world", "<|im_start|>user\nhi<|im_end|>\n",
    "<|begin_of_text|>Hi", "<|endoftext|>", "<unk>", "<0x41>", "\u2581hello", "\u0120hello", "\u2581\u2581",
    "x" * 300, "ab" * 200 + " end", "def f(x):\n    return x**2\n", "\tindented\ttabs\t",
    "Mixed CASE and MiXeD 123abc456", "email@example.com http://x.y/z?q=1&r=2", "\u00e9\u00e8\u00ea \u00fc\u00f6\u00e4",
    "\u0915\u094d\u0937", "\u05e9\u05dc\u05d5\u05dd", "\uac00\ub098\ub2e4", "\u3042\u3044\u3046 \u30ab\u30bf\u30ab\u30ca",
]


# Building blocks of the seeded random texts: the places where tokenizers differ (whitespace runs of every kind,
# contractions in any case, digit runs, scripts, emoji sequences, marks, added-token look-alikes).
RANDOM_PIECES = [
    " ", "  ", "   ", "\n", "\n\n", "\r\n", "\t", "\u00a0", "\u3000", "\u2009", "\u0085", "\u200b", "'s", "'S", "'re",
    "'VE", "'ll", "'d", "'M", "'t", "'", "a", "Hello", "WORLD", "the", "ing", "1", "12", "123", "1234", "3.14", "\u0663",
    "\u00bd", "\u2460", "\u4e16\u754c", "\u3053\u3093", "\uac00", "\u0627\u0644", "\u05e9", "\u0915\u094d", "\u00e9",
    "e\u0301", "\u0130", "\u03a3", "\U0001F999", "\U0001F600", "\u2764\ufe0f", "\U0001F468\u200d\U0001F469",
    "\U0001F1FA\U0001F1F8", "!", "?!", "...", "--", "==", "()", "{}", "\"", "`", "#", "@", "$", "%", "&", "*", "_", "/",
    "\\", "<s>", "</s>", "<unk>", "<|im_start|>", "<|im_end|>", "<|begin_of_text|>", "<|eot_id|>", "<", ">", "|",
    "<0x0A>", "\u2581", "\u0120", "\u010a", "\ufffd", "\x00", "\x7f", "\x1b",
]


def random_texts(count, seed=20240601):
    import random

    rng = random.Random(seed)
    return ["".join(rng.choice(RANDOM_PIECES) for _ in range(rng.randint(0, 24))) for _ in range(count)]


def read_lines(path):
    """Non-empty lines without their trailing CRs: the split read_bench_lines() does in C++."""
    lines = []
    with open(path, "rb") as f:
        for raw in f.read().split(b"\n"):
            line = raw.rstrip(b"\r").decode("utf-8")
            if line:
                lines.append(line)
    return lines


def corpora(testdata):
    out = {}
    out["wikitext"] = read_lines(testdata / "eval/wikitext2/wiki.test.raw.nonempty-crlf")
    out["tinystories"] = read_lines(testdata / "train_text/tinystories_val_sample.txt")[:300]
    with open(testdata / "alpaca/alpaca_data_1k.json", encoding="utf-8") as f:
        records = json.load(f)
    out["alpaca"] = [r["instruction"] + "\n" + r["input"] + "\n" + r["output"] for r in records[:1000]]
    with open(testdata / "tokenizers/llama.cpp/ggml-vocab-llama-bpe.gguf.inp", encoding="utf-8") as f:
        out["llamacpp"] = f.read().split("\n__ggml_vocab_test__\n")
    out["edge"] = EDGE_TEXTS
    out["random"] = random_texts(600)
    return out


def write_atomically(path, text):
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--testdata", required=True, type=Path)
    args = parser.parse_args()

    import tokenizers
    import transformers
    from transformers import AutoTokenizer

    transformers.logging.set_verbosity_error()
    args.out.mkdir(parents=True, exist_ok=True)
    done = args.out / "done.json"
    if done.exists():
        done.unlink()
    texts = corpora(args.testdata)
    summary = {"tokenizers": tokenizers.__version__, "transformers": transformers.__version__, "vocabularies": {}}

    for name in VOCABULARIES:
        folder = args.testdata / "tokenizers" / name
        raw = tokenizers.Tokenizer.from_file(str(folder / "tokenizer.json"))
        raw.no_truncation()
        raw.no_padding()
        auto = None
        if (folder / "tokenizer_config.json").exists():
            auto = AutoTokenizer.from_pretrained(str(folder))
            auto._tokenizer.no_truncation()
        lines = []
        counts = {}
        for corpus, items in texts.items():
            counts[corpus] = len(items)
            for text in items:
                ids = raw.encode(text, add_special_tokens=False).ids
                if auto is not None:
                    ids_special = auto.encode(text, add_special_tokens=True)
                else:
                    ids_special = raw.encode(text, add_special_tokens=True).ids
                record = {
                    "corpus": corpus,
                    "text": text,
                    "ids": ids,
                    "ids_special": ids_special,
                    "decoded": raw.decode(ids_special, skip_special_tokens=False),
                    "decoded_skip": raw.decode(ids_special, skip_special_tokens=True),
                }
                lines.append(json.dumps(record, ensure_ascii=False))
        write_atomically(args.out / f"{name}.jsonl", "\n".join(lines) + "\n")
        summary["vocabularies"][name] = {"counts": counts, "auto_tokenizer": auto is not None}
        print(f"{name}: {len(lines)} texts", file=sys.stderr)

    write_atomically(done, json.dumps(summary, indent=1) + "\n")


if __name__ == "__main__":
    main()
