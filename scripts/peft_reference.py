#!/usr/bin/env python3
"""peft's side of the LoRA adapter tests (tests/core/test_lora.cpp).

  peft_reference.py logits --base MODEL [--adapter ADAPTER] --ids IDS.safetensors --out LOGITS.safetensors
      transformers + peft logits of MODEL with ADAPTER loaded by PeftModel.from_pretrained (fp32, eager);
      without --adapter, transformers' logits of MODEL alone (a merged export, say).
  peft_reference.py make --base MODEL --out ADAPTER --targets q_proj,v_proj --rank 4 --alpha 8 --seed 0
                         --ids IDS.safetensors
      a peft LoRA adapter with non-zero B (so it changes the output), saved with save_pretrained, plus
      ADAPTER/reference_logits.safetensors: the logits of MODEL + adapter for IDS.
"""
import argparse

import torch
from peft import LoraConfig, PeftModel, get_peft_model
from safetensors.torch import load_file, save_file
from transformers import AutoModelForCausalLM


def base_model(path):
    return AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32, attn_implementation="eager").eval()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["logits", "make"])
    parser.add_argument("--base", required=True)
    parser.add_argument("--adapter")
    parser.add_argument("--out", required=True)
    parser.add_argument("--ids", required=True)
    parser.add_argument("--targets", default="q_proj,v_proj")
    parser.add_argument("--rank", type=int, default=4)
    parser.add_argument("--alpha", type=float, default=8.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    ids = load_file(args.ids)["input_ids"]
    torch.manual_seed(args.seed)
    if args.mode == "logits":
        model = base_model(args.base)
        if args.adapter:
            model = PeftModel.from_pretrained(model, args.adapter).eval()
        with torch.no_grad():
            save_file({"logits": model(ids).logits.float().contiguous()}, args.out)
        return
    config = LoraConfig(r=args.rank, lora_alpha=args.alpha, lora_dropout=0.0, target_modules=args.targets.split(","),
                        task_type="CAUSAL_LM")
    model = get_peft_model(base_model(args.base), config)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if "lora_B" in name:
                parameter.normal_(0.0, 0.05)
    model.eval()
    model.save_pretrained(args.out, safe_serialization=True)
    with torch.no_grad():
        save_file({"logits": model(ids).logits.float().contiguous()}, f"{args.out}/reference_logits.safetensors")


if __name__ == "__main__":
    main()
