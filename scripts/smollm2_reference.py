#!/usr/bin/env python3
"""transformers' answers of SmolLM2-135M-Instruct, loaded from its GGUF file, for LowBit's tests.

Writes OUT/smollm2_reference.json: for each question, the prompt transformers' apply_chat_template renders
(add_generation_prompt=True), its token ids, and the greedy continuation (ids without the end-of-turn token that
stopped it, and the decoded text). `--out` and `--gguf` as in tests/CMakeLists.txt; done.json is written last.
"""
import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch  # noqa: E402
from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: E402

QUESTIONS = [
    "What is the capital of France?",
    "Name three colours of the rainbow.",
    "Écris une phrase sur le café. 🙂",
    # Answers in CJK: byte-level tokens split their characters, so streaming must hold half characters back.
    "How do you say 'thank you' in Japanese?",
    "Write the Chinese word for 'water'.",
]
MAX_NEW_TOKENS = 48


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--gguf", required=True)
    args = parser.parse_args()
    gguf = Path(args.gguf)
    if not gguf.exists():
        print(f"SKIP: {gguf} not found (scripts/setup.sh downloads it)")
        return 0
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.time()
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32).eval()
    cases = []
    for question in QUESTIONS:
        messages = [{"role": "user", "content": question}]
        prompt = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        prompt_ids = tokenizer(prompt, add_special_tokens=False).input_ids
        with torch.no_grad():
            generated = model.generate(torch.tensor([prompt_ids]), attention_mask=torch.ones(1, len(prompt_ids),
                                       dtype=torch.long), max_new_tokens=MAX_NEW_TOKENS, do_sample=False)
        new_ids = generated[0, len(prompt_ids):].tolist()
        stop_ids = set(model.generation_config.eos_token_id if isinstance(model.generation_config.eos_token_id, list)
                       else [model.generation_config.eos_token_id])
        stopped = bool(new_ids) and new_ids[-1] in stop_ids
        if stopped:
            new_ids = new_ids[:-1]
        cases.append({"question": question, "prompt": prompt, "prompt_ids": prompt_ids, "new_ids": new_ids,
                      "stopped_at_end_of_turn": stopped,
                      "answer": tokenizer.decode(new_ids, skip_special_tokens=True)})
        print(f"{question!r} -> {cases[-1]['answer']!r}", flush=True)
    reference = {"transformers": __import__("transformers").__version__, "gguf": str(gguf),
                 "max_new_tokens": MAX_NEW_TOKENS, "cases": cases}
    (out / "smollm2_reference.json").write_text(json.dumps(reference, ensure_ascii=False, indent=1))
    (out / "done.json").write_text(json.dumps({"seconds": time.time() - started}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
