#!/usr/bin/env python3
"""Writes a LLaMA-shaped Hugging Face folder with random fp16 weights, for speed and memory measurements.

  make_random_llama.py OUT_DIR [--shape 7b] [--layers N] [--tokenizer PATH/tokenizer.model]

Values do not matter for time and memory; shapes do. The 7b shape is LLaMA-7B's (hidden 4096, intermediate
11008, 32 heads, vocab 32000); --layers keeps only the first N decoder layers so that one layer can be timed
and the whole model extrapolated.
"""
import argparse
import json
import os
import shutil

import numpy as np
from safetensors.numpy import save_file

SHAPES = {
    "7b": dict(hidden_size=4096, intermediate_size=11008, num_attention_heads=32, num_key_value_heads=32,
               vocab_size=32000, num_hidden_layers=32, max_position_embeddings=2048),
    "1b": dict(hidden_size=2048, intermediate_size=5632, num_attention_heads=32, num_key_value_heads=4,
               vocab_size=32000, num_hidden_layers=22, max_position_embeddings=2048),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out")
    parser.add_argument("--shape", default="7b", choices=sorted(SHAPES))
    parser.add_argument("--layers", type=int, default=None)
    parser.add_argument("--tokenizer", default=None, help="a sentencepiece tokenizer.model to copy (vocab 32000)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    shape = dict(SHAPES[args.shape])
    if args.layers:
        shape["num_hidden_layers"] = args.layers
    rng = np.random.default_rng(args.seed)
    h, i, v = shape["hidden_size"], shape["intermediate_size"], shape["vocab_size"]
    head_dim = h // shape["num_attention_heads"]
    kv = shape["num_key_value_heads"] * head_dim

    def random(rows, cols):
        return (rng.standard_normal((rows, cols), dtype=np.float32) * 0.02).astype(np.float16)

    tensors = {"model.embed_tokens.weight": random(v, h), "lm_head.weight": random(v, h),
               "model.norm.weight": np.ones(h, np.float16)}
    for layer in range(shape["num_hidden_layers"]):
        p = f"model.layers.{layer}."
        tensors[p + "input_layernorm.weight"] = np.ones(h, np.float16)
        tensors[p + "post_attention_layernorm.weight"] = np.ones(h, np.float16)
        tensors[p + "self_attn.q_proj.weight"] = random(h, h)
        tensors[p + "self_attn.k_proj.weight"] = random(kv, h)
        tensors[p + "self_attn.v_proj.weight"] = random(kv, h)
        tensors[p + "self_attn.o_proj.weight"] = random(h, h)
        tensors[p + "mlp.gate_proj.weight"] = random(i, h)
        tensors[p + "mlp.up_proj.weight"] = random(i, h)
        tensors[p + "mlp.down_proj.weight"] = random(h, i)
    os.makedirs(args.out, exist_ok=True)
    save_file(tensors, os.path.join(args.out, "model.safetensors"))
    config = dict(architectures=["LlamaForCausalLM"], model_type="llama", rms_norm_eps=1e-5, rope_theta=10000.0,
                  hidden_act="silu", tie_word_embeddings=False, torch_dtype="float16", bos_token_id=1,
                  eos_token_id=2, **shape)
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    if args.tokenizer:
        shutil.copy(args.tokenizer, os.path.join(args.out, "tokenizer.model"))
    print(f"wrote {args.out}: {args.shape} shape, {shape['num_hidden_layers']} layer(s)")


if __name__ == "__main__":
    main()
