#!/usr/bin/env python3
"""Reference outputs ("fixtures") from Hugging Face transformers for the C++ tests.

Usage:
    make_hf_fixtures.py [--testdata DIR] --out OUTDIR

DIR defaults to <repo>/../shared/testdata. Everything is written under OUTDIR; OUTDIR/done.json is
written last (versions of torch / transformers / sentencepiece, what was produced) and can serve as
the build stamp. Nothing is downloaded: models are built from configs or loaded from local folders,
HF_HUB_OFFLINE=1 is set. The run is deterministic (fixed seeds, CPU, fixed thread count).

Fixtures
========

1. random/<name>/  -- tiny random models, one per configuration in RANDOM_CONFIGS.
   Built with torch.manual_seed(1234 + i), attn_implementation="eager", fp32; every parameter is
   re-initialised with normal(0, 0.25) (RMSNorm weights: 1 + normal(0, 0.1)) so that logits vary.
   The folder holds what `save_pretrained(safe_serialization=True)` writes (config.json,
   generation_config.json, model.safetensors or model-0000N-of-0000M.safetensors + index) and
   reference.safetensors with
     input_ids    int64   [2, 19]         seeded random ids in [0, vocab)
     logits       float32 [2, 19, vocab]  model(input_ids).logits, fp32, eval mode, no cache
     logits_fp64  float64 [2, 19, vocab]  float64 oracle: model.double(), and in addition HF's
                                          internal float32 islands (RMSNorm upcast, eager softmax
                                          dtype=float32, RoPE cos/sin computed in float32) are made
                                          to run in float64 as well (see full_fp64()). RoPE uses
                                          HF's inv_freq table (computed by HF in float32, exact in
                                          float64) with positions * inv_freq, cos, sin in float64.
     logits_fp64_hf float64 [2, 19, vocab] plain `model.double()` forward, i.e. with HF's float32
                                          islands left in place (for information).
   *_f16 / *_bf16: the checkpoint is saved in that dtype (config dtype accordingly); the reference
   logits use the dtype-rounded weights upcast to fp32 (model.to(dtype).float(), RoPE buffers kept
   in fp32), i.e. an fp32 forward of the stored checkpoint. This is checked against reloading the
   saved folder with from_pretrained(torch_dtype=float32).

2. stories260K/  -- the real (trained) stories260K model from DIR/models/stories260K-hf, tokenised
   with the `sentencepiece` package (not an HF tokenizer class); bos = 1, eos = 2.
   greedy.json: prompt "Once upon a time", prompt_ids = [bos] + sp.encode(prompt), generated_ids =
     model.generate(max_new_tokens=200, do_sample=False) new ids (stops at eos), text =
     sp.decode(prompt_ids[1:] + generated_ids without eos).
   reference.safetensors: input_ids = prompt ids + first 40 generated ids [1, L]; logits fp32,
     logits_fp64 (as above), logits_fp64_hf.
   Text normalisation for the perplexity files (same as the C++): read bytes, decode UTF-8 strictly,
     strip one leading U+FEFF, replace "\r\n" by "\n", then the remaining "\r" by "\n".
   perplexity_gptq_512.json (protocol "gptq", DIR/train_text/tinystories_val_sample.txt):
     ids = [bos] + sp.encode(text); n = len(ids) // 512; window i = ids[i*512:(i+1)*512]
     (remainder dropped); loss_i = mean cross-entropy of logits[:-1] vs window[1:] (511
     predictions), in float64 from fp32 logits; ppl = exp(mean_i loss_i).
   perplexity_int21_512_128.json (protocol "int21", HF "perplexity of fixed-length models" sliding
     window as in INT2.1's eval.py): joined = "\\n\\n".join(text.split("\n")) (the separator is the
     4 characters backslash n backslash n); ids = ([bos] + sp.encode(joined))[:20000];
       prev_end = 0
       for begin in range(0, len(ids), 128):
           end = min(begin + 512, len(ids)); trg_len = end - prev_end
           window = ids[begin:end]; labels = window.clone(); labels[:-trg_len] = -100
           loss = model(window, labels=labels).loss   # HF shifts labels: mean over non-ignored
           ppls.append(exp(loss)); prev_end = end
           if end == len(ids): break
     ppl = mean(ppls) (mean of per-window PPL, not exp of mean NLL).
   perplexity_gptq_c4_256.json: protocol "gptq" on DIR/eval/c4/c4_demo.jsonl: documents ("text" of
     each JSON line) joined with "\n\n", ids = [bos] + sp.encode(joined), seqlen 256, only the first
     40 windows.

3. tokenizer/
   llama2_wikitext.json: DIR/tokenizers/llama2_tokenizer.model, each line of
     DIR/eval/wikitext2/wiki.test.raw.nonempty-crlf (without its "\r\n") -> sp.encode(line);
     {"lines": [...], "ids": [[...], ...]}.
   tok512_tinystories.json: stories260K-hf/tokenizer.model on the first 300 lines of the
     (normalised) tinystories_val_sample.txt, same structure plus "decode_roundtrip_ok" and the
     indices of the lines that do not round-trip ("decode_roundtrip_failures"; tok512 normalises
     whitespace -- runs collapse, leading/trailing spaces vanish -- so lines with a trailing space
     come back without it; llama2_tokenizer.model does not do this).
   llama2_special.json: vocab size, bos/eos/unk/pad ids and id_to_piece for ids 0..10, 29871, 13.
"""
import argparse
import contextlib
import copy
import json
import math
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402
import safetensors  # noqa: E402
import sentencepiece as spm  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
from safetensors.torch import load_file, save_file  # noqa: E402
from transformers import (  # noqa: E402
    LlamaConfig,
    LlamaForCausalLM,
    MistralConfig,
    MistralForCausalLM,
    Qwen2Config,
    Qwen2ForCausalLM,
)
from transformers.models.llama import modeling_llama  # noqa: E402
from transformers.models.mistral import modeling_mistral  # noqa: E402
from transformers.models.qwen2 import modeling_qwen2  # noqa: E402
from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS  # noqa: E402

transformers.logging.set_verbosity_error()

REPO = Path(__file__).resolve().parent.parent
SEQ_SHAPE = (2, 19)
STORIES_PROMPT = "Once upon a time"
STORIES_EXPECTED_PREFIX = (
    "Once upon a time, there was a little girl named Lily. She loved to play outside in the park."
)

# --------------------------------------------------------------------------------------------
# 1. Random tiny models
# --------------------------------------------------------------------------------------------

BASE = dict(
    vocab_size=320,
    hidden_size=64,
    intermediate_size=160,
    num_hidden_layers=2,
    max_position_embeddings=256,
    rms_norm_eps=1e-5,
    bos_token_id=1,
    eos_token_id=2,
)

# name -> (model class, config class, config kwargs, save options)
RANDOM_CONFIGS = [
    ("llama_gqa_untied", "llama",
     dict(num_attention_heads=8, num_key_value_heads=2, tie_word_embeddings=False, rope_theta=10000.0), {}),
    ("llama_mha_tied", "llama",
     dict(num_attention_heads=4, num_key_value_heads=4, tie_word_embeddings=True), {}),
    ("llama3_rope", "llama",
     dict(num_attention_heads=8, num_key_value_heads=4, tie_word_embeddings=False, rope_theta=500000.0,
          rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                        "high_freq_factor": 4.0, "original_max_position_embeddings": 16}), {}),
    ("llama_linear_rope", "llama",
     dict(num_attention_heads=4, num_key_value_heads=2, tie_word_embeddings=False,
          rope_scaling={"type": "linear", "factor": 2.0}), {}),
    ("llama_head_dim", "llama",
     dict(num_attention_heads=4, num_key_value_heads=2, tie_word_embeddings=False, head_dim=32), {}),
    ("mistral_gqa", "mistral",
     dict(num_attention_heads=8, num_key_value_heads=2, tie_word_embeddings=False, sliding_window=None,
          rope_theta=1000000.0), {}),
    ("mistral_sliding_window", "mistral",
     dict(num_attention_heads=8, num_key_value_heads=2, tie_word_embeddings=False, sliding_window=6,
          rope_theta=1000000.0), {}),
    ("llama_sharded", "llama",
     dict(num_attention_heads=8, num_key_value_heads=2, tie_word_embeddings=False, rope_theta=10000.0),
     {"max_shard_size": "60KB"}),
    ("llama_gqa_f16", "llama",
     dict(num_attention_heads=8, num_key_value_heads=2, tie_word_embeddings=False, rope_theta=10000.0),
     {"dtype": torch.float16}),
    ("llama_gqa_bf16", "llama",
     dict(num_attention_heads=8, num_key_value_heads=2, tie_word_embeddings=False, rope_theta=10000.0),
     {"dtype": torch.bfloat16}),
    # Qwen2: q/k/v projections with biases (reinit_ gives them non-zero values), rope_theta 1e6 as released.
    ("qwen2_gqa_tied", "qwen2",
     dict(num_attention_heads=8, num_key_value_heads=2, tie_word_embeddings=True, rope_theta=1000000.0,
          use_sliding_window=False), {}),
    ("qwen2_mha_untied", "qwen2",
     dict(num_attention_heads=4, num_key_value_heads=4, tie_word_embeddings=False, rope_theta=10000.0,
          use_sliding_window=False), {}),
]

ARCH = {
    "llama": (LlamaConfig, LlamaForCausalLM),
    "mistral": (MistralConfig, MistralForCausalLM),
    "qwen2": (Qwen2Config, Qwen2ForCausalLM),
}


@contextlib.contextmanager
def full_fp64():
    """Make HF's float32 islands follow the input dtype when the model runs in float64.

    transformers upcasts to float32 inside RMSNorm, computes the eager softmax with dtype=float32 and
    computes RoPE cos/sin in float32, even for a float64 model. Inside this context those three
    places compute in float64 when their input is float64; for any other dtype the original code
    runs unchanged.
    """
    patched = []

    def patch(obj, name, new):
        patched.append((obj, name, getattr(obj, name)))
        setattr(obj, name, new)

    for mod, norm_cls, rope_cls in (
        (modeling_llama, modeling_llama.LlamaRMSNorm, modeling_llama.LlamaRotaryEmbedding),
        (modeling_mistral, modeling_mistral.MistralRMSNorm, modeling_mistral.MistralRotaryEmbedding),
        (modeling_qwen2, modeling_qwen2.Qwen2RMSNorm, modeling_qwen2.Qwen2RotaryEmbedding),
    ):
        orig_norm = norm_cls.forward
        orig_rope = rope_cls.forward
        orig_attn = mod.eager_attention_forward

        def norm_forward(self, hidden_states, _orig=orig_norm):
            if hidden_states.dtype != torch.float64:
                return _orig(self, hidden_states)
            variance = hidden_states.pow(2).mean(-1, keepdim=True)
            return self.weight * (hidden_states * torch.rsqrt(variance + self.variance_epsilon))

        @torch.no_grad()
        def rope_forward(self, x, position_ids, _orig=orig_rope):
            if x.dtype != torch.float64:
                return _orig(self, x, position_ids)
            assert self.rope_type in ("default", "linear", "llama3"), self.rope_type
            inv = self.inv_freq.to(torch.float64)[None, :, None].expand(position_ids.shape[0], -1, 1)
            pos = position_ids[:, None, :].to(torch.float64)
            freqs = (inv @ pos).transpose(1, 2)
            emb = torch.cat((freqs, freqs), dim=-1)
            return emb.cos() * self.attention_scaling, emb.sin() * self.attention_scaling

        def attn_forward(module, query, key, value, attention_mask, scaling, dropout=0.0, _orig=orig_attn,
                         _mod=mod, **kwargs):
            if query.dtype != torch.float64:
                return _orig(module, query, key, value, attention_mask, scaling, dropout, **kwargs)
            key_states = _mod.repeat_kv(key, module.num_key_value_groups)
            value_states = _mod.repeat_kv(value, module.num_key_value_groups)
            attn_weights = torch.matmul(query, key_states.transpose(2, 3)) * scaling
            if attention_mask is not None:
                attn_weights = attn_weights + attention_mask[:, :, :, : key_states.shape[-2]]
            attn_weights = torch.nn.functional.softmax(attn_weights, dim=-1)
            attn_output = torch.matmul(attn_weights, value_states).transpose(1, 2).contiguous()
            return attn_output, attn_weights

        patch(norm_cls, "forward", norm_forward)
        patch(rope_cls, "forward", rope_forward)
        patch(mod, "eager_attention_forward", attn_forward)
    try:
        yield
    finally:
        for obj, name, old in reversed(patched):
            setattr(obj, name, old)


@torch.no_grad()
def forward_logits(model, input_ids):
    """fp32 logits, and two float64 versions (full float64 oracle, plain model.double())."""
    model.eval()
    logits = model(input_ids=input_ids, use_cache=False).logits.float().contiguous()
    m64 = copy.deepcopy(model).double().eval()
    hf64 = m64(input_ids=input_ids, use_cache=False).logits.contiguous()
    with full_fp64():
        full64 = m64(input_ids=input_ids, use_cache=False).logits.contiguous()
    # Sanity: the patches are gone again and the fp32 model still gives the same logits.
    again = model(input_ids=input_ids, use_cache=False).logits.float()
    assert torch.equal(again, logits), "fp32 forward not reproducible"
    return logits, full64, hf64


def reinit_(model):
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name:
                p.copy_(1.0 + torch.randn_like(p) * 0.1)
            else:
                p.copy_(torch.randn_like(p) * 0.25)


def check_llama3_rope(config):
    default_inv, _ = ROPE_INIT_FUNCTIONS["default"](config, "cpu")
    llama3_inv, _ = ROPE_INIT_FUNCTIONS["llama3"](config, "cpu")
    if torch.equal(default_inv, llama3_inv):
        raise SystemExit("llama3 rope scaling does not change inv_freq for this config -- fixture is useless")
    return {"inv_freq_default": default_inv.tolist(), "inv_freq_llama3": llama3_inv.tolist(),
            "n_changed": int((default_inv != llama3_inv).sum())}


def safetensors_keys(folder):
    keys = []
    for f in sorted(Path(folder).glob("*.safetensors")):
        if f.name == "reference.safetensors":
            continue
        with safetensors.safe_open(str(f), "pt") as h:
            keys.extend(h.keys())
    return keys


def make_random_models(out):
    summary = {}
    for i, (name, arch, kwargs, save) in enumerate(RANDOM_CONFIGS):
        t0 = time.time()
        folder = out / "random" / name
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*"):
            old.unlink()
        config_cls, model_cls = ARCH[arch]
        torch.manual_seed(1234 + i)
        config = config_cls(**BASE, **kwargs, attn_implementation="eager")
        model = model_cls(config).float().eval()
        reinit_(model)
        info = {"arch": model_cls.__name__}
        if name == "llama3_rope":
            info["rope_check"] = check_llama3_rope(config)

        gen = torch.Generator().manual_seed(4321 + i)
        input_ids = torch.randint(0, config.vocab_size, SEQ_SHAPE, generator=gen, dtype=torch.int64)

        dtype = save.get("dtype")
        if dtype is None:
            save_kwargs = {"safe_serialization": True}
            if "max_shard_size" in save:
                save_kwargs["max_shard_size"] = save["max_shard_size"]
            model.save_pretrained(folder, **save_kwargs)
            ref_model = model
        else:
            copy.deepcopy(model).to(dtype).save_pretrained(folder, safe_serialization=True)
            # Reference: dtype-rounded weights upcast to fp32; RoPE buffers stay as HF computes them (fp32).
            ref_model = copy.deepcopy(model)
            with torch.no_grad():
                for p in ref_model.parameters():
                    p.copy_(p.to(dtype).float())

        logits, full64, hf64 = forward_logits(ref_model, input_ids)

        if dtype is not None:
            # The stored checkpoint, loaded as fp32 by transformers, must give exactly these logits.
            reloaded = model_cls.from_pretrained(folder, torch_dtype=torch.float32, attn_implementation="eager")
            with torch.no_grad():
                rl = reloaded.eval()(input_ids=input_ids, use_cache=False).logits
            assert torch.equal(rl, logits), f"{name}: reloaded fp32 checkpoint differs from rounded reference"
            info["saved_dtype"] = str(dtype).replace("torch.", "")
            info["max_abs_diff_vs_unrounded_fp32"] = float(
                (forward_logits_plain(model, input_ids) - logits).abs().max())

        save_file({"input_ids": input_ids.contiguous(), "logits": logits, "logits_fp64": full64,
                   "logits_fp64_hf": hf64}, str(folder / "reference.safetensors"))

        shards = sorted(p.name for p in folder.glob("model*.safetensors"))
        if name == "llama_sharded":
            assert len(shards) >= 2 and (folder / "model.safetensors.index.json").exists(), shards
        keys = safetensors_keys(folder)
        cfg_json = json.loads((folder / "config.json").read_text())
        info.update({
            "shards": shards,
            "n_tensors": len(keys),
            "has_lm_head_weight": "lm_head.weight" in keys,
            "config_dtype": cfg_json.get("dtype", cfg_json.get("torch_dtype")),
            "max_abs_logit": float(logits.abs().max()),
            "logit_std": float(logits.std()),
            "max_abs_diff_fp32_vs_fp64": float((logits.double() - full64).abs().max()),
            "max_abs_diff_fp64_vs_fp64_hf": float((full64 - hf64).abs().max()),
            "seconds": round(time.time() - t0, 2),
        })
        summary[name] = info
        print(f"[random] {name:18s} max|logit|={info['max_abs_logit']:.3f} "
              f"|fp32-fp64|={info['max_abs_diff_fp32_vs_fp64']:.2e} "
              f"|fp64-fp64hf|={info['max_abs_diff_fp64_vs_fp64_hf']:.2e} shards={len(shards)} "
              f"lm_head={info['has_lm_head_weight']} dtype={info['config_dtype']}", flush=True)
    return summary


@torch.no_grad()
def forward_logits_plain(model, input_ids):
    return model.eval()(input_ids=input_ids, use_cache=False).logits.float()


# --------------------------------------------------------------------------------------------
# 2. stories260K
# --------------------------------------------------------------------------------------------

def read_text(path):
    """The C++ side's text normalisation: strict UTF-8, one leading BOM stripped, CRLF/CR -> LF."""
    text = Path(path).read_bytes().decode("utf-8", errors="strict")
    if text.startswith("\ufeff"):
        text = text[1:]
    return text.replace("\r\n", "\n").replace("\r", "\n")


@torch.no_grad()
def ppl_gptq(model, ids, seqlen, max_windows=None, batch=16):
    n_avail = len(ids) // seqlen
    n = n_avail if max_windows is None else min(n_avail, max_windows)
    data = torch.tensor(ids[: n * seqlen], dtype=torch.int64).view(n, seqlen)
    losses = []
    for s in range(0, n, batch):
        x = data[s: s + batch]
        logits = model(input_ids=x, use_cache=False).logits.float()
        lp = torch.log_softmax(logits[:, :-1].double(), dim=-1)
        nll = -lp.gather(-1, x[:, 1:, None]).squeeze(-1)  # [b, seqlen-1]
        losses.extend(nll.mean(dim=1).tolist())
    mean_nll = math.fsum(losses) / len(losses)
    return {"n_windows": n, "n_windows_available": n_avail, "mean_nll": mean_nll, "ppl": math.exp(mean_nll),
            "window_losses": losses[:5]}


@torch.no_grad()
def ppl_int21(model, ids, max_length, stride):
    ids_t = torch.tensor(ids, dtype=torch.int64)[None]
    n = ids_t.shape[1]
    ppls, losses, losses64, trg_lens = [], [], [], []
    prev_end = 0
    for begin in range(0, n, stride):
        end = min(begin + max_length, n)
        trg_len = end - prev_end
        window = ids_t[:, begin:end]
        labels = window.clone()
        labels[:, :-trg_len] = -100
        out = model(input_ids=window, labels=labels, use_cache=False)
        loss = float(out.loss)
        # float64 cross-check from the same fp32 logits
        lp = torch.log_softmax(out.logits[0, :-1].double(), dim=-1)
        tgt = labels[0, 1:]
        keep = tgt != -100
        loss64 = float(-lp[keep].gather(-1, tgt[keep][:, None]).mean())
        ppls.append(math.exp(loss))
        losses.append(loss)
        losses64.append(loss64)
        trg_lens.append(trg_len)
        prev_end = end
        if end == n:
            break
    return {"n_windows": len(ppls), "ppl": math.fsum(ppls) / len(ppls),
            "ppl_fp64_ce": math.fsum(math.exp(v) for v in losses64) / len(losses64),
            "first_window_ppls": ppls[:5], "first_window_losses": losses[:5],
            "last_window_trg_len": trg_lens[-1]}


def make_stories(out, testdata):
    model_dir = testdata / "models" / "stories260K-hf"
    sp = spm.SentencePieceProcessor(model_file=str(model_dir / "tokenizer.model"))
    bos, eos = sp.bos_id(), sp.eos_id()
    assert (bos, eos) == (1, 2), (bos, eos)
    model = LlamaForCausalLM.from_pretrained(model_dir, torch_dtype=torch.float32,
                                             attn_implementation="eager").eval()
    folder = out / "stories260K"
    folder.mkdir(parents=True, exist_ok=True)
    summary = {}

    # greedy generation
    t0 = time.time()
    prompt_ids = [bos] + sp.encode(STORIES_PROMPT)
    x = torch.tensor([prompt_ids], dtype=torch.int64)
    with torch.no_grad():
        gen = model.generate(x, attention_mask=torch.ones_like(x), max_new_tokens=200, do_sample=False,
                             eos_token_id=eos, pad_token_id=eos)
    generated = gen[0, len(prompt_ids):].tolist()
    hit_eos = eos in generated
    if hit_eos:
        generated = generated[: generated.index(eos) + 1]
    body = [t for t in generated if t != eos]
    text = sp.decode(prompt_ids[1:] + body)
    greedy = {"prompt": STORIES_PROMPT, "prompt_ids": prompt_ids, "generated_ids": generated,
              "max_new_tokens": 200, "hit_eos": hit_eos, "text": text,
              "matches_expected_prefix": text.startswith(STORIES_EXPECTED_PREFIX)}
    (folder / "greedy.json").write_text(json.dumps(greedy, indent=1) + "\n")
    print(f"[stories] greedy ({len(generated)} new ids, eos={hit_eos}):\n{text}\n", flush=True)
    summary["greedy"] = {"n_generated": len(generated), "hit_eos": hit_eos,
                         "matches_expected_prefix": greedy["matches_expected_prefix"], "text": text}

    # reference logits over prompt + first 40 generated ids
    ref_ids = torch.tensor([prompt_ids + generated[:40]], dtype=torch.int64)
    logits, full64, hf64 = forward_logits(model, ref_ids)
    save_file({"input_ids": ref_ids, "logits": logits, "logits_fp64": full64, "logits_fp64_hf": hf64},
              str(folder / "reference.safetensors"))
    # teacher-forced argmax must reproduce the greedy continuation
    argmax = logits[0, len(prompt_ids) - 1: -1].argmax(-1).tolist()
    summary["reference"] = {"L": ref_ids.shape[1], "max_abs_logit": float(logits.abs().max()),
                            "max_abs_diff_fp32_vs_fp64": float((logits.double() - full64).abs().max()),
                            "argmax_matches_generate": argmax == generated[: len(argmax)]}
    summary["greedy"]["seconds"] = round(time.time() - t0, 2)

    # perplexity: gptq protocol on TinyStories
    t0 = time.time()
    text = read_text(testdata / "train_text" / "tinystories_val_sample.txt")
    ids = [bos] + sp.encode(text)
    r = ppl_gptq(model, ids, 512)
    res = {"protocol": "gptq", "file": "train_text/tinystories_val_sample.txt", "seqlen": 512,
           "n_windows": r["n_windows"], "n_tokens": len(ids), "ppl": r["ppl"], "mean_nll": r["mean_nll"],
           "window_losses": r["window_losses"], "first_ids": ids[:16]}
    (folder / "perplexity_gptq_512.json").write_text(json.dumps(res, indent=1) + "\n")
    summary["ppl_gptq_512"] = {"ppl": res["ppl"], "n_windows": res["n_windows"], "n_tokens": len(ids),
                               "seconds": round(time.time() - t0, 2)}
    print(f"[stories] gptq 512: ppl={res['ppl']:.6f} windows={res['n_windows']} tokens={len(ids)}", flush=True)

    # perplexity: int21 sliding window
    t0 = time.time()
    joined = "\\n\\n".join(text.split("\n"))
    ids_full = [bos] + sp.encode(joined)
    ids21 = ids_full[:20000]
    r = ppl_int21(model, ids21, 512, 128)
    res = {"protocol": "int21", "file": "train_text/tinystories_val_sample.txt", "seqlen": 512, "stride": 128,
           "max_tokens": 20000, "n_tokens_total": len(ids_full), "n_tokens": len(ids21),
           "n_windows": r["n_windows"], "ppl": r["ppl"], "ppl_fp64_ce": r["ppl_fp64_ce"],
           "first_window_ppls": r["first_window_ppls"], "first_window_losses": r["first_window_losses"],
           "last_window_trg_len": r["last_window_trg_len"], "first_ids": ids21[:16]}
    (folder / "perplexity_int21_512_128.json").write_text(json.dumps(res, indent=1) + "\n")
    summary["ppl_int21_512_128"] = {"ppl": res["ppl"], "n_windows": res["n_windows"],
                                    "seconds": round(time.time() - t0, 2)}
    print(f"[stories] int21 512/128: ppl={res['ppl']:.6f} windows={res['n_windows']}", flush=True)

    # perplexity: gptq protocol on C4 jsonl
    t0 = time.time()
    c4_path = testdata / "eval" / "c4" / "c4_demo.jsonl"
    docs = [json.loads(line)["text"] for line in c4_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    ids = [bos] + sp.encode("\n\n".join(docs))
    r = ppl_gptq(model, ids, 256, max_windows=40)
    res = {"protocol": "gptq", "file": "eval/c4/c4_demo.jsonl", "n_documents": len(docs), "seqlen": 256,
           "max_windows": 40, "n_windows": r["n_windows"], "n_windows_available": r["n_windows_available"],
           "n_tokens": len(ids), "ppl": r["ppl"], "mean_nll": r["mean_nll"],
           "window_losses": r["window_losses"], "first_ids": ids[:16]}
    assert res["n_windows"] == 40
    (folder / "perplexity_gptq_c4_256.json").write_text(json.dumps(res, indent=1) + "\n")
    summary["ppl_gptq_c4_256"] = {"ppl": res["ppl"], "n_windows": 40, "seconds": round(time.time() - t0, 2)}
    print(f"[stories] gptq c4 256: ppl={res['ppl']:.6f} (40 of {r['n_windows_available']} windows)", flush=True)
    return summary


# --------------------------------------------------------------------------------------------
# 3. Tokenizer
# --------------------------------------------------------------------------------------------

def make_tokenizer(out, testdata):
    folder = out / "tokenizer"
    folder.mkdir(parents=True, exist_ok=True)
    summary = {}

    sp = spm.SentencePieceProcessor(model_file=str(testdata / "tokenizers" / "llama2_tokenizer.model"))
    raw = (testdata / "eval" / "wikitext2" / "wiki.test.raw.nonempty-crlf").read_bytes().decode("utf-8")
    lines = raw.split("\r\n")
    if lines and lines[-1] == "":
        lines.pop()
    ids = [sp.encode(line) for line in lines]
    (folder / "llama2_wikitext.json").write_text(json.dumps({"lines": lines, "ids": ids}) + "\n")
    summary["llama2_wikitext"] = {"n_lines": len(lines), "n_ids": sum(map(len, ids))}

    special = {
        "vocab_size": sp.get_piece_size(), "bos_id": sp.bos_id(), "eos_id": sp.eos_id(),
        "unk_id": sp.unk_id(), "pad_id": sp.pad_id(),
        "pieces": {str(i): sp.id_to_piece(i) for i in list(range(11)) + [29871, 13]},
    }
    (folder / "llama2_special.json").write_text(json.dumps(special, indent=1, ensure_ascii=False) + "\n")

    sp512 = spm.SentencePieceProcessor(model_file=str(testdata / "models" / "stories260K-hf" / "tokenizer.model"))
    lines = read_text(testdata / "train_text" / "tinystories_val_sample.txt").split("\n")[:300]
    ids = [sp512.encode(line) for line in lines]
    failures = [k for k, (i, line) in enumerate(zip(ids, lines)) if sp512.decode(i) != line]
    roundtrip = not failures
    (folder / "tok512_tinystories.json").write_text(json.dumps(
        {"lines": lines, "ids": ids, "decode_roundtrip_ok": roundtrip, "decode_roundtrip_failures": failures})
        + "\n")
    summary["tok512_tinystories"] = {"n_lines": len(lines), "n_ids": sum(map(len, ids)),
                                     "decode_roundtrip_ok": roundtrip, "decode_roundtrip_failures": failures}
    print(f"[tokenizer] {summary}", flush=True)
    return summary


# --------------------------------------------------------------------------------------------

def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--testdata", type=Path, default=REPO.parent / "shared" / "testdata")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    start = time.time()
    torch.set_num_threads(2)
    torch.manual_seed(0)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    stamp = out / "done.json"
    if stamp.exists():
        stamp.unlink()

    done = {
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                     "sentencepiece": spm.__version__, "safetensors": safetensors.__version__,
                     "numpy": np.__version__, "python": sys.version.split()[0]},
        "script": "scripts/make_hf_fixtures.py",
    }
    done["random"] = make_random_models(out)
    done["llama_mha_tied_has_lm_head_weight"] = done["random"]["llama_mha_tied"]["has_lm_head_weight"]

    testdata = args.testdata.resolve()
    needed = [testdata / "models" / "stories260K-hf" / "tokenizer.model",
              testdata / "train_text" / "tinystories_val_sample.txt",
              testdata / "eval" / "c4" / "c4_demo.jsonl",
              testdata / "tokenizers" / "llama2_tokenizer.model",
              testdata / "eval" / "wikitext2" / "wiki.test.raw.nonempty-crlf"]
    missing = [str(p) for p in needed if not p.exists()]
    done["testdata"] = not missing
    done["testdata_dir"] = str(testdata)
    if missing:
        done["skipped"] = ["stories260K", "tokenizer"]
        done["missing"] = missing
        print(f"testdata missing ({missing}); skipping stories260K and tokenizer fixtures", flush=True)
    else:
        done["stories260K"] = make_stories(out, testdata)
        done["tokenizer"] = make_tokenizer(out, testdata)

    done["seconds"] = round(time.time() - start, 1)
    tmp = out / "done.json.tmp"
    tmp.write_text(json.dumps(done, indent=1, ensure_ascii=False) + "\n")
    tmp.replace(stamp)
    print(f"done in {done['seconds']} s -> {stamp}")


if __name__ == "__main__":
    main()
