#!/usr/bin/env python3
"""Writes a LLaMA-shaped Hugging Face folder with random weights, for speed and memory measurements.

  make_random_llama.py OUT_DIR [--shape 7b|1b|tiny] [--layers N] [--tokenizer PATH/tokenizer.model]
                       [--gptq-bits 2|3|4|8 [--group-size G]] [--device auto|cpu|cuda] [--seed S]

Values do not matter for time and memory; shapes do. The 7b shape is LLaMA-7B's (hidden 4096, intermediate
11008, 32 heads, vocab 32000); --layers keeps only the first N decoder layers so that one layer can be timed
and the whole model extrapolated; tiny (hidden 256) is for dry runs of the measurement scripts on a CPU.

Without --gptq-bits the projections are fp16 (std 0.02), as `lowbit quantize` expects its input. With
--gptq-bits the folder is a quantized GPTQ checkpoint written directly, with random packed codes, so that a
7B-shaped INT4 model takes seconds instead of a 13.5 GB fp16 model and a quantization run. Per projection
nn.Linear(in=K, out=N), in the layout of kernels/gptq_format.h (AutoGPTQ's "gptq" v1 format, symmetric,
desc_act false):
  qweight int32 [K*bits/32, N]   random bits: every packed code uniform in [0, 2^bits)
  qzeros  int32 [groups, N*bits/32]   every zero 2^(bits-1), stored as zero - 1 (v1)
  scales  fp16  [groups, N]      about 0.02*sqrt(12)/2^bits, so that dequantized weights have std ~0.02 like
                                 the fp16 ones (random-valued activations stay finite through 32 layers)
  g_idx   int32 [K]              k // group_size
with the settings in config.json's quantization_config and in quantize_config.json, as `lowbit quantize` writes
them (core/quant/quant_config.cpp). Embeddings, lm_head and norms stay fp16.

Random numbers come from torch on --device (auto: the GPU when torch sees one), which makes a 7B-shaped INT4
model in a few seconds there; tensors are moved to the CPU one at a time and written with safetensors.

LOWBIT_RANDOM_LLAMA_SHAPE, when set, replaces --shape: scripts/gpu_check.sh --dry-run sets it to "tiny" so that
scripts/lrec_7b.sh and scripts/emef_table.sh, which ask for the 7b shape, run on a CPU in seconds.
"""
import argparse
import json
import math
import os
import shutil
import time

import torch
from safetensors.torch import save_file

SHAPES = {
    "7b": dict(hidden_size=4096, intermediate_size=11008, num_attention_heads=32, num_key_value_heads=32,
               vocab_size=32000, num_hidden_layers=32, max_position_embeddings=2048),
    "1b": dict(hidden_size=2048, intermediate_size=5632, num_attention_heads=32, num_key_value_heads=4,
               vocab_size=32000, num_hidden_layers=22, max_position_embeddings=2048),
    # Small enough for a CPU dry run, with LLaMA's vocabulary so that the same tokenizers apply; every dimension
    # a multiple of 128 so that group size 128 and every bit width pack without remainder.
    "tiny": dict(hidden_size=256, intermediate_size=768, num_attention_heads=4, num_key_value_heads=4,
                 vocab_size=32000, num_hidden_layers=2, max_position_embeddings=2048),
}


def packed_sym_zeros_row(n_out, bits):
    """One row of qzeros (int32 [n_out*bits/32]): every zero 2^(bits-1), stored as zero - 1 (v1).

    The stream of n_out equal values repeats every 32 values (= `bits` words), so one period is packed bit by
    bit, least significant first (kernels/gptq_format.h), and tiled."""
    stored = (1 << (bits - 1)) - 1
    stream = 0
    for i in range(32):
        stream |= stored << (bits * i)
    period = [(stream >> (32 * w)) & 0xFFFFFFFF for w in range(bits)]
    period = [w - (1 << 32) if w >= 1 << 31 else w for w in period]  # as int32
    return torch.tensor(period, dtype=torch.int32).repeat(n_out // 32)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out")
    parser.add_argument("--shape", default="7b", choices=sorted(SHAPES))
    parser.add_argument("--layers", type=int, default=None)
    parser.add_argument("--tokenizer", default=None, help="a sentencepiece tokenizer.model to copy (vocab 32000)")
    parser.add_argument("--gptq-bits", type=int, default=None, choices=[2, 3, 4, 8],
                        help="write a GPTQ checkpoint with random codes at this bit width")
    parser.add_argument("--group-size", type=int, default=128, help="with --gptq-bits: columns per group, -1: one")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"],
                        help="where the random numbers are drawn")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    started = time.perf_counter()
    shape_name = os.environ.get("LOWBIT_RANDOM_LLAMA_SHAPE") or args.shape
    if shape_name not in SHAPES:
        parser.error(f"LOWBIT_RANDOM_LLAMA_SHAPE={shape_name} is not one of {', '.join(sorted(SHAPES))}")
    shape = dict(SHAPES[shape_name])
    if args.layers:
        shape["num_hidden_layers"] = args.layers
    device = ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device
    generator = torch.Generator(device=device)
    generator.manual_seed(args.seed)
    h, i, v = shape["hidden_size"], shape["intermediate_size"], shape["vocab_size"]
    head_dim = h // shape["num_attention_heads"]
    kv = shape["num_key_value_heads"] * head_dim
    bits, group_size = args.gptq_bits, args.group_size
    if bits and group_size != -1 and (group_size < 32 or group_size % 32):
        parser.error("--group-size must be -1 or a multiple of 32")

    def normal(rows, cols):
        values = torch.randn(rows, cols, generator=generator, device=device, dtype=torch.float32) * 0.02
        return values.to(torch.float16).cpu()

    def ones(count):
        return torch.ones(count, dtype=torch.float16)

    def projection(name, n_out, k_in):
        """The tensors of nn.Linear(in=k_in, out=n_out) named `name` (without .weight)."""
        if not bits:
            return {name + ".weight": normal(n_out, k_in)}
        columns = k_in if group_size == -1 else group_size
        groups = math.ceil(k_in / columns)
        qweight = torch.randint(-2**31, 2**31, (k_in * bits // 32, n_out), generator=generator, device=device,
                                dtype=torch.int32)
        jitter = torch.rand(groups, n_out, generator=generator, device=device, dtype=torch.float32)
        scales = (0.02 * math.sqrt(12) / 2**bits) * (0.75 + 0.5 * jitter)
        return {name + ".qweight": qweight.cpu(),
                name + ".qzeros": packed_sym_zeros_row(n_out, bits).repeat(groups, 1),
                name + ".scales": scales.to(torch.float16).cpu(),
                name + ".g_idx": torch.arange(k_in, dtype=torch.int32) // columns}

    tensors = {"model.embed_tokens.weight": normal(v, h), "lm_head.weight": normal(v, h), "model.norm.weight": ones(h)}
    for layer in range(shape["num_hidden_layers"]):
        p = f"model.layers.{layer}."
        tensors[p + "input_layernorm.weight"] = ones(h)
        tensors[p + "post_attention_layernorm.weight"] = ones(h)
        for name, n_out, k_in in [("self_attn.q_proj", h, h), ("self_attn.k_proj", kv, h),
                                  ("self_attn.v_proj", kv, h), ("self_attn.o_proj", h, h),
                                  ("mlp.gate_proj", i, h), ("mlp.up_proj", i, h), ("mlp.down_proj", h, i)]:
            tensors.update(projection(p + name, n_out, k_in))
    os.makedirs(args.out, exist_ok=True)
    save_file(tensors, os.path.join(args.out, "model.safetensors"),
              metadata={"format": "pt", "lowbit_random_weights": "1"})
    config = dict(architectures=["LlamaForCausalLM"], model_type="llama", rms_norm_eps=1e-5, rope_theta=10000.0,
                  hidden_act="silu", tie_word_embeddings=False, torch_dtype="float16", bos_token_id=1,
                  eos_token_id=2, **shape)
    if bits:
        quantization = dict(quant_method="gptq", bits=bits, group_size=group_size, desc_act=False,
                            static_groups=False, sym=True, true_sequential=True, damp_percent=0.01,
                            checkpoint_format="gptq", model_file_base_name="model")
        config["quantization_config"] = quantization
        with open(os.path.join(args.out, "quantize_config.json"), "w") as f:
            json.dump(quantization, f, indent=2)
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    if args.tokenizer:
        shutil.copy(args.tokenizer, os.path.join(args.out, "tokenizer.model"))
    size = os.path.getsize(os.path.join(args.out, "model.safetensors"))
    kind = f"GPTQ {bits}-bit group {group_size} (random codes)" if bits else "fp16"
    override = " (from LOWBIT_RANDOM_LLAMA_SHAPE)" if shape_name != args.shape else ""
    print(f"wrote {args.out}: {shape_name} shape{override}, {shape['num_hidden_layers']} layer(s), {kind}, "
          f"{size / 2**30:.2f} GiB in {time.perf_counter() - started:.1f} s (random numbers on {device})")


if __name__ == "__main__":
    main()
