#!/usr/bin/env python3
"""The `gguf` package's reading of a GGUF file `lowbit export --to gguf` wrote (the reference reader, from llama.cpp's
own repository), against the merged Hugging Face folder of the same model (`lowbit export --to hf --dtype float32`).

  check_gguf_export.py FILE.gguf MERGED_DIR [--reference-gguf ORIGINAL.gguf] [--max-error F16=1e-3,Q8_0=1e-2,Q4_0=0.2]

Every tensor is dequantized by gguf.quants.dequantize, its q/k rows taken back from llama.cpp's RoPE order (llama),
and compared with the merged weight: relative RMS error per tensor type, the worst printed as a table, each below
its bound. With --reference-gguf, the tokenizer metadata (tokens, merges or scores, token types, pre-tokenizer,
chat template) must equal that file's. Exit 1 on any mismatch.
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np
from gguf import GGUFReader
from gguf.quants import dequantize
from safetensors.numpy import load_file

LAYER = {
    "attn_norm.weight": "input_layernorm.weight", "attn_q.weight": "self_attn.q_proj.weight",
    "attn_k.weight": "self_attn.k_proj.weight", "attn_v.weight": "self_attn.v_proj.weight",
    "attn_output.weight": "self_attn.o_proj.weight", "attn_q.bias": "self_attn.q_proj.bias",
    "attn_k.bias": "self_attn.k_proj.bias", "attn_v.bias": "self_attn.v_proj.bias",
    "ffn_norm.weight": "post_attention_layernorm.weight", "ffn_gate.weight": "mlp.gate_proj.weight",
    "ffn_up.weight": "mlp.up_proj.weight", "ffn_down.weight": "mlp.down_proj.weight",
}
GLOBAL = {"token_embd.weight": "model.embed_tokens.weight", "output_norm.weight": "model.norm.weight",
          "output.weight": "lm_head.weight"}


def field(reader, key):
    f = reader.get_field(key)
    if f is None:
        return None
    if f.types and f.types[0].name == "ARRAY":
        return [bytes(f.parts[i]).decode("utf-8", "replace") if f.types[-1].name == "STRING" else f.parts[i].tolist()
                for i in f.data]
    value = f.parts[f.data[0]]
    return bytes(value).decode("utf-8") if f.types[0].name == "STRING" else value.tolist()


def unpermute(w, n_head):
    rows = w.shape[0]
    return w.reshape(n_head, rows // n_head // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("gguf")
    parser.add_argument("merged")
    parser.add_argument("--reference-gguf")
    parser.add_argument("--max-error", default="F16=1e-3,Q8_0=1e-2,Q4_0=0.2,F32=1e-6")
    args = parser.parse_args()
    bounds = {k: float(v) for k, v in (item.split("=") for item in args.max_error.split(","))}
    reader = GGUFReader(args.gguf)
    merged = {}
    for file in sorted(Path(args.merged).glob("*.safetensors")):
        merged.update(load_file(file))
    config = json.loads((Path(args.merged) / "config.json").read_text())
    arch = field(reader, "general.architecture")
    n_head, n_head_kv = config["num_attention_heads"], config.get("num_key_value_heads", config["num_attention_heads"])
    failures = 0
    worst = {}
    for tensor in reader.tensors:
        name = tensor.name
        if name.startswith("blk."):
            _, layer, rest = name.split(".", 2)
            hf = f"model.layers.{layer}.{LAYER[rest]}"
        else:
            hf = GLOBAL[name]
        values = dequantize(tensor.data, tensor.tensor_type).reshape([int(n) for n in reversed(tensor.shape)])
        if arch == "llama" and (".attn_q." in name or ".attn_k." in name):
            values = unpermute(values, n_head if ".attn_q." in name else n_head_kv)
        expected = merged[hf].astype(np.float64)
        if values.shape != expected.shape:
            print(f"FAIL {name}: shape {values.shape}, expected {expected.shape}")
            failures += 1
            continue
        error = float(np.sqrt(np.mean((values - expected) ** 2)) / max(np.sqrt(np.mean(expected ** 2)), 1e-12))
        kind = tensor.tensor_type.name
        if error > worst.get(kind, (0, ""))[0]:
            worst[kind] = (error, name)
        if error > bounds.get(kind, 0):
            print(f"FAIL {name} ({kind}): relative RMS error {error:.3g} above {bounds.get(kind)}")
            failures += 1
    print(f"{args.gguf}: {len(reader.tensors)} tensors, architecture {arch}")
    for kind, (error, name) in sorted(worst.items()):
        print(f"  {kind:5s} worst relative RMS error {error:.3g} ({name}; bound {bounds.get(kind)})")
    if args.reference_gguf:
        reference = GGUFReader(args.reference_gguf)
        for key in ("tokenizer.ggml.model", "tokenizer.ggml.pre", "tokenizer.ggml.tokens", "tokenizer.ggml.merges",
                    "tokenizer.ggml.scores", "tokenizer.ggml.token_type", "tokenizer.ggml.bos_token_id",
                    "tokenizer.ggml.eos_token_id", "tokenizer.chat_template"):
            ours, theirs = field(reader, key), field(reference, key)
            same = ours == theirs
            print(f"  {key}: {'same as the reference' if same else 'DIFFERS'}"
                  + (f" ({len(ours)} entries)" if isinstance(ours, list) else ""))
            if not same:
                failures += 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
