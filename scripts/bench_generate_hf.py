#!/usr/bin/env python3
"""transformers' side of `lowbit bench generate`: the same loop over the same token ids.

Prefill = one forward over the prompt with use_cache plus the argmax of the last position; decode = new_tokens
single-token forwards with the cache, greedy. Median over repeats after one warm-up. Prints one JSON object.
"""
import argparse
import json
import statistics
import time

import torch
from transformers import AutoModelForCausalLM


def prompt_ids(count, vocab_size, bos_id):
    return [bos_id] + [(37 * i + 11) % (vocab_size - 3) + 3 for i in range(1, count)]


def synchronize(device):
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", required=True)
    parser.add_argument("--prompt-tokens", type=int, default=128)
    parser.add_argument("--new-tokens", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="float32", choices=["float32", "float16", "bfloat16"])
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    dtype = getattr(torch, args.dtype)
    model = AutoModelForCausalLM.from_pretrained(args.model, dtype=dtype, attn_implementation="sdpa")
    model.to(args.device).eval()
    config = model.config
    ids = torch.tensor([prompt_ids(args.prompt_tokens, config.vocab_size, config.bos_token_id or 1)],
                       device=args.device)
    prefill, decode = [], []
    with torch.inference_mode():
        for run in range(args.repeats + 1):
            synchronize(args.device)
            start = time.perf_counter()
            out = model(ids, use_cache=True)
            past = out.past_key_values
            next_id = int(out.logits[0, -1].argmax())
            prefilled = time.perf_counter()
            for _ in range(args.new_tokens):
                out = model(torch.tensor([[next_id]], device=args.device), past_key_values=past, use_cache=True)
                past = out.past_key_values
                next_id = int(out.logits[0, -1].argmax())
            decoded = time.perf_counter()
            if run == 0:
                continue
            prefill.append(prefilled - start)
            decode.append(decoded - prefilled)
    prefill_s = statistics.median(prefill)
    decode_s = statistics.median(decode)
    print(json.dumps({
        "implementation": f"transformers {__import__('transformers').__version__}",
        "prompt_tokens": args.prompt_tokens, "new_tokens": args.new_tokens, "repeats": args.repeats,
        "prefill_s": prefill_s, "decode_s": decode_s,
        "prefill_tokens_per_s": args.prompt_tokens / prefill_s, "decode_tokens_per_s": args.new_tokens / decode_s,
        "threads": torch.get_num_threads(),
    }))


if __name__ == "__main__":
    main()
