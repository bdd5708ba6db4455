#!/usr/bin/env python3
"""Times the Python `tokenizers` library on a text file, for comparison with `lowbit bench tokenizer`.

Input: every line of --text without its trailing CRs, empty lines dropped (as read_bench_lines() in
core/tokenizer/hf_tokenizer.h). Each line is one encode(line, add_special_tokens=False) call on one thread
(no encode_batch; RAYON_NUM_THREADS=1, TOKENIZERS_PARALLELISM=false), the same work bench_encode_lines() does.
The file's truncation and padding settings are switched off. Prints one JSON line:

    {"tokens": N, "seconds": S, "tokens_per_s": R, "lines": L, "tokenizers": "0.22.2"}

Usage: python scripts/bench_tokenizer_hf.py --tokenizer DIR/tokenizer.json --text FILE [--repeat 3]
(with --repeat, the fastest run is reported, as the C++ side should do).
"""

import os

os.environ.setdefault("RAYON_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402


def read_lines(path):
    lines = []
    with open(path, "rb") as f:
        for raw in f.read().split(b"\n"):
            line = raw.rstrip(b"\r").decode("utf-8")
            if line:
                lines.append(line)
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokenizer", required=True, help="path of a tokenizer.json")
    parser.add_argument("--text", required=True, help="text file, one input per line")
    parser.add_argument("--repeat", type=int, default=1, help="runs; the fastest is reported")
    args = parser.parse_args()

    import tokenizers

    tok = tokenizers.Tokenizer.from_file(args.tokenizer)
    tok.no_truncation()
    tok.no_padding()
    lines = read_lines(args.text)
    best = None
    n_tokens = 0
    for _ in range(max(1, args.repeat)):
        start = time.perf_counter()
        n_tokens = 0
        for line in lines:
            n_tokens += len(tok.encode(line, add_special_tokens=False).ids)
        seconds = time.perf_counter() - start
        best = seconds if best is None else min(best, seconds)
    print(json.dumps({"tokens": n_tokens, "seconds": round(best, 6), "tokens_per_s": round(n_tokens / best, 1),
                      "lines": len(lines), "tokenizers": tokenizers.__version__}))


if __name__ == "__main__":
    main()
