#!/usr/bin/env python3
"""transformers' greedy answer from a Hugging Face model folder, in its own chat template (the reference for a
model `lowbit export --to hf` wrote: tests/e2e/cli_smollm2.sh).

  transformers_chat.py MODEL_DIR "QUESTION" [--max-new-tokens 48]
Prints the answer alone, without the end-of-turn token.
"""
import argparse
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch  # noqa: E402
from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model")
    parser.add_argument("question")
    parser.add_argument("--max-new-tokens", type=int, default=48)
    args = parser.parse_args()
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    model = AutoModelForCausalLM.from_pretrained(args.model, dtype=torch.float32).eval()
    prompt = tokenizer.apply_chat_template([{"role": "user", "content": args.question}], tokenize=False,
                                           add_generation_prompt=True)
    ids = tokenizer(prompt, add_special_tokens=False).input_ids
    with torch.no_grad():
        out = model.generate(torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                             max_new_tokens=args.max_new_tokens, do_sample=False)
    print(tokenizer.decode(out[0, len(ids):], skip_special_tokens=True).strip())


if __name__ == "__main__":
    main()
