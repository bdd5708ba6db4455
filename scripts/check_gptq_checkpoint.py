#!/usr/bin/env python3
"""Checks a GPTQ-quantized model folder the way an outside consumer (AutoGPTQ / GPTQModel /
transformers) would see it, with an independent numpy implementation of the format.

Usage:
    check_gptq_checkpoint.py QUANT_DIR [--reference DEQUANT.safetensors] [--fp-model FP_DIR]
                             [--v1-zeros {plus1,wrap}] [--no-transformers] [--max-report N]
    check_gptq_checkpoint.py --self-test [--keep DIR]

Exit status 0 when every check passes, 1 otherwise (2 for usage errors). Lines start with
"ERROR" (makes the run fail), "WARN" (reported, does not fail) or "INFO".

What is checked
===============
Config: config.json has quantization_config with quant_method "gptq", bits in {2,3,4,8},
  group_size (-1 or > 0), desc_act, sym and checkpoint_format ("gptq" = v1 or "gptq_v2" = v2);
  quantize_config.json exists and agrees on every one of these keys it has (it must have bits and
  group_size; a missing checkpoint_format there means "gptq"); tokenizer.model is present.
Weights: model.safetensors, or model.safetensors.index.json + shards (every shard present, every
  tensor in exactly the shard the index names, nothing unlisted). Each file is parsed with a small
  independent header reader (offsets contiguous, in bounds) and opened with the safetensors library.
Quantized layers: every prefix P with a P.qweight. With K = in_features, N = out_features (from the
  model config for the known LLaMA/Mistral projections, else taken from g_idx / scales), G = group
  size (K for -1), ngroups = ceil(K / G):
    qweight int32 [K*bits/32, N]; qzeros int32 [ngroups, N*bits/32]; scales float16 [ngroups, N];
    g_idx int32 [K] with values in [0, ngroups) and every group holding as many rows as
    arange(K) // G gives it (true for plain and act-order GPTQ); desc_act false -> g_idx ==
    arange(K) // G exactly; scales finite and > 0 (0 is a warning); optional bias fp16 [N]
    (all-zero bias accepted, TheBloke-era AutoGPTQ wrote one); no P.weight next to P.qweight;
    sym true -> every zero point is (maxq + 1) / 2.
    K or N not a multiple of 32 is one warning for all such layers: AutoGPTQ sizes its buffers as
    in // 32 * bits, out // 32 * bits.
  Dequantization (Linear layout [N, K], float32):
    q[k, n]   = field k of column n of qweight (LSB first; 3-bit: 32 values per 3 words)
    zero[g,n] = field n of row g of qzeros; v1 ("gptq"): zero = field + 1 (the default, "plus1":
                AutoGPTQ qlinear_cuda / exllama / Triton: mask the field, then add 1); with
                --v1-zeros wrap: zero = (field + 1) & maxq for 2/4/8 bits, as AutoGPTQ's
                qlinear_cuda_old torch path ("casting here after the zeros + 1 is important";
                its 3-bit branch does not wrap). The two differ only for a field equal to maxq,
                which a v1 writer produces only for a true zero of 0 (zero - 1 = -1, which also
                corrupts the neighbouring fields); such fields are reported as a warning.
                v2 ("gptq_v2"): zero = field.
    W[n, k]   = float32(scales[g_idx[k], n]) * float32(q[k, n] - zero[g_idx[k], n])
Other tensors: model.embed_tokens.weight [vocab, hidden], model.norm.weight, per layer
  input_layernorm / post_attention_layernorm, lm_head.weight [vocab, hidden] unless
  tie_word_embeddings. Each of the 7 projections of every layer must be either quantized or a
  plain P.weight [N, K]; a plain one is a warning unless quantization_config lists the quantized
  ones in modules_in_block_to_quantize (transformers/optimum would otherwise expect qweight).
  Unknown extra tensors are warnings.
--reference FILE: holds P.weight float32 [N, K] for every quantized layer P; compared with
  np.array_equal against the dequantization above; the first mismatches are printed with their
  decoded q / zero / scale / g_idx. Layers missing on either side are errors.
--fp-model DIR: relative reconstruction error ||W - W_hat||_F / ||W||_F per layer against the
  unquantized model (information; a value above the plausible bound for the bit width --
  8: 0.01, 4: 0.15, 3: 0.4, 2: 1.0 -- is a warning). Non-quantized tensors are compared too.
transformers: AutoModelForCausalLM.from_pretrained(QUANT_DIR) is tried once (offline); without
  optimum/auto-gptq/gptqmodel it fails on CPU, which is reported as
  "transformers GPTQ loader: unavailable (<reason>)" and never fails the run.

--self-test builds small quantized folders from shared/testdata/models/stories260K-hf in a temp
dir (RTN, with the packers of make_gptq_fixtures.py), checks that they pass, then mutates copies
(a flipped qweight bit, a wrong g_idx, a config mismatch, ...) and checks each one is reported.
"""
import argparse
import io
import json
import math
import mmap
import os
import shutil
import struct
import sys
import tempfile
from contextlib import redirect_stdout
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_gptq_fixtures import pack_cols, pack_rows, unpack_cols, unpack_rows  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
PROJECTIONS = ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
               "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj")
REL_ERR_BOUND = {8: 0.01, 4: 0.15, 3: 0.4, 2: 1.0}


# ----------------------------------------------------------------------------------------------
# Reporting
# ----------------------------------------------------------------------------------------------

class Report:
    def __init__(self):
        self.errors = []
        self.warnings = []

    def error(self, msg):
        self.errors.append(msg)
        print(f"ERROR {msg}")

    def warn(self, msg):
        self.warnings.append(msg)
        print(f"WARN  {msg}")

    @staticmethod
    def info(msg):
        print(f"INFO  {msg}")


# ----------------------------------------------------------------------------------------------
# safetensors reading (own header parser; BF16 upcast to float32 since numpy has no bfloat16)
# ----------------------------------------------------------------------------------------------

ST_DTYPES = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "BF16": np.uint16,
             "I64": np.int64, "I32": np.int32, "I16": np.int16, "I8": np.int8, "U8": np.uint8,
             "BOOL": np.bool_}


class SafeFile:
    def __init__(self, path):
        self.path = Path(path)
        with open(self.path, "rb") as f:
            self._mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        if len(self._mm) < 8:
            raise ValueError(f"{self.path.name}: too short for a safetensors file")
        (hlen,) = struct.unpack("<Q", self._mm[:8])
        if 8 + hlen > len(self._mm):
            raise ValueError(f"{self.path.name}: header length {hlen} past end of file")
        header = json.loads(bytes(self._mm[8:8 + hlen]).decode("utf-8"))
        self.metadata = header.pop("__metadata__", None) or {}
        self.base = 8 + hlen
        self.entries = header
        spans = []
        for name, e in header.items():
            if e["dtype"] not in ST_DTYPES:
                raise ValueError(f"{self.path.name}: {name}: unsupported dtype {e['dtype']}")
            b, end = e["data_offsets"]
            n = int(np.prod(e["shape"], dtype=np.int64)) * np.dtype(ST_DTYPES[e["dtype"]]).itemsize
            if end - b != n:
                raise ValueError(f"{self.path.name}: {name}: data_offsets span {end - b} bytes, shape needs {n}")
            spans.append((b, end, name))
        spans.sort()
        pos = 0
        for b, end, name in spans:
            if b != pos:
                raise ValueError(f"{self.path.name}: {name}: data not contiguous (starts at {b}, expected {pos})")
            pos = end
        if self.base + pos != len(self._mm):
            raise ValueError(f"{self.path.name}: data ends at {self.base + pos}, file has {len(self._mm)} bytes")

    def keys(self):
        return list(self.entries)

    def dtype(self, name):
        return self.entries[name]["dtype"]

    def shape(self, name):
        return tuple(self.entries[name]["shape"])

    def get(self, name):
        e = self.entries[name]
        b, end = e["data_offsets"]
        arr = np.frombuffer(self._mm, dtype=np.dtype(ST_DTYPES[e["dtype"]]).newbyteorder("<"),
                            count=(end - b) // np.dtype(ST_DTYPES[e["dtype"]]).itemsize,
                            offset=self.base + b).reshape(e["shape"])
        if e["dtype"] == "BF16":
            return (arr.astype(np.uint32) << 16).view(np.float32)
        return np.array(arr)


class Weights:
    """name -> SafeFile over model.safetensors or an index + shards."""

    def __init__(self, folder, rep, what, base_names=("model",)):
        self.files = {}
        self.where = {}
        folder = Path(folder)
        index = None
        single = None
        for base in base_names:
            if (folder / f"{base}.safetensors").is_file():
                single = folder / f"{base}.safetensors"
                break
            if (folder / f"{base}.safetensors.index.json").is_file():
                index = folder / f"{base}.safetensors.index.json"
                break
        if single is not None:
            if single.name != "model.safetensors":
                rep.warn(f"{what}: weights in {single.name} (not model.safetensors)")
            self._open(single, rep, what)
            for k in self.files[single.name].keys():
                self.where[k] = single.name
        elif index is not None:
            idx = json.loads(index.read_text())
            wmap = idx.get("weight_map")
            if not isinstance(wmap, dict) or not wmap:
                rep.error(f"{what}: {index.name} has no weight_map")
                return
            for shard in sorted(set(wmap.values())):
                if not (folder / shard).is_file():
                    rep.error(f"{what}: shard {shard} named in {index.name} is missing")
                    continue
                self._open(folder / shard, rep, what)
            for shard, sf in self.files.items():
                for k in sf.keys():
                    if k in self.where:
                        rep.error(f"{what}: tensor {k} is in both {self.where[k]} and {shard}")
                    elif wmap.get(k) != shard:
                        rep.error(f"{what}: tensor {k} is in {shard} but the index says {wmap.get(k)}")
                    self.where.setdefault(k, shard)
            for k, shard in wmap.items():
                if shard in self.files and k not in self.files[shard].entries:
                    rep.error(f"{what}: index lists {k} in {shard}, which does not hold it")
            rep.info(f"{what}: {len(self.files)} shard(s) via {index.name}")
        else:
            rep.error(f"{what}: no model.safetensors or model.safetensors.index.json in {folder}")

    def _open(self, path, rep, what):
        try:
            sf = SafeFile(path)
        except Exception as e:  # noqa: BLE001
            rep.error(f"{what}: {path.name}: cannot parse: {e}")
            return
        try:
            from safetensors import safe_open
            with safe_open(str(path), framework="numpy") as f:
                lib_keys = set(f.keys())
            if lib_keys != set(sf.keys()):
                rep.error(f"{what}: {path.name}: safetensors library sees different tensor names")
        except Exception as e:  # noqa: BLE001
            rep.error(f"{what}: {path.name}: safetensors library cannot open it: {e}")
        self.files[path.name] = sf

    def __contains__(self, name):
        return name in self.where

    def keys(self):
        return list(self.where)

    def get(self, name):
        return self.files[self.where[name]].get(name)

    def dtype(self, name):
        return self.files[self.where[name]].dtype(name)

    def shape(self, name):
        return self.files[self.where[name]].shape(name)


# ----------------------------------------------------------------------------------------------
# Config checks
# ----------------------------------------------------------------------------------------------

QKEYS = ("bits", "group_size", "desc_act", "sym", "checkpoint_format")


def check_configs(qdir, rep):
    cfg_path = qdir / "config.json"
    if not cfg_path.is_file():
        rep.error("config.json missing")
        return None, None
    cfg = json.loads(cfg_path.read_text())
    qc = cfg.get("quantization_config")
    if not isinstance(qc, dict):
        rep.error("config.json: no quantization_config")
        return cfg, None
    q = {}
    if qc.get("quant_method") != "gptq":
        rep.error(f"config.json: quantization_config.quant_method is {qc.get('quant_method')!r}, expected 'gptq'")
    for k in QKEYS:
        if k not in qc:
            rep.error(f"config.json: quantization_config.{k} missing")
    q["bits"] = qc.get("bits")
    if q["bits"] not in (2, 3, 4, 8):
        rep.error(f"config.json: bits {q['bits']!r} not in 2/3/4/8")
    q["group_size"] = qc.get("group_size")
    if not isinstance(q["group_size"], int) or isinstance(q["group_size"], bool) or \
            not (q["group_size"] == -1 or q["group_size"] > 0):
        rep.error(f"config.json: group_size {q['group_size']!r} must be -1 or a positive integer")
    for k in ("desc_act", "sym"):
        q[k] = qc.get(k)
        if k in qc and not isinstance(q[k], bool):
            rep.error(f"config.json: {k} {q[k]!r} is not a boolean")
    q["checkpoint_format"] = qc.get("checkpoint_format")
    if q["checkpoint_format"] not in ("gptq", "gptq_v2"):
        rep.error(f"config.json: checkpoint_format {q['checkpoint_format']!r} not 'gptq' or 'gptq_v2'")
    q["modules_in_block_to_quantize"] = qc.get("modules_in_block_to_quantize")
    q["static_groups"] = qc.get("static_groups")
    rep.info("quantization_config: " + ", ".join(f"{k}={q[k]}" for k in QKEYS))

    qcp = qdir / "quantize_config.json"
    if not qcp.is_file():
        rep.error("quantize_config.json missing")
    else:
        qq = json.loads(qcp.read_text())
        for k in ("bits", "group_size"):
            if k not in qq:
                rep.error(f"quantize_config.json: {k} missing")
        for k in QKEYS:
            if k == "checkpoint_format":
                v = qq.get("checkpoint_format", qq.get("format", "gptq"))
            elif k in qq:
                v = qq[k]
            else:
                if k in ("desc_act", "sym"):
                    rep.warn(f"quantize_config.json: {k} missing (AutoGPTQ assumes sym=True, desc_act=False)")
                continue
            if v != q.get(k):
                rep.error(f"quantize_config.json: {k}={v!r} disagrees with config.json ({q.get(k)!r})")
        if qq.get("quant_method", "gptq") != "gptq":
            rep.error(f"quantize_config.json: quant_method {qq.get('quant_method')!r}")
    if not (qdir / "tokenizer.model").is_file():
        rep.error("tokenizer.model missing")
    return cfg, q


def linear_shapes(cfg):
    """module suffix -> (K = in_features, N = out_features) for LLaMA-style models."""
    H = cfg.get("hidden_size")
    I = cfg.get("intermediate_size")
    heads = cfg.get("num_attention_heads")
    kv = cfg.get("num_key_value_heads") or heads
    hd = cfg.get("head_dim") or (H // heads if H and heads else None)
    if None in (H, I, heads, hd):
        return {}
    return {"self_attn.q_proj": (H, heads * hd), "self_attn.k_proj": (H, kv * hd),
            "self_attn.v_proj": (H, kv * hd), "self_attn.o_proj": (heads * hd, H),
            "mlp.gate_proj": (H, I), "mlp.up_proj": (H, I), "mlp.down_proj": (I, H),
            "lm_head": (H, cfg.get("vocab_size"))}


def module_suffix(prefix):
    parts = prefix.split(".")
    if prefix == "lm_head":
        return "lm_head"
    return ".".join(parts[-2:])


# ----------------------------------------------------------------------------------------------
# Quantized layers
# ----------------------------------------------------------------------------------------------

def v1_zero_from_field(field, bits, mode):
    if mode == "wrap" and bits != 3:
        return (field + 1) & ((1 << bits) - 1)
    return field + 1


class QLayer:
    pass


def check_qlayer(prefix, W, q, shapes, rep, v1_mode, not32):
    """Checks one quantized layer; returns a QLayer with dequant [N, K] float32, or None."""
    bits, gs = q["bits"], q["group_size"]
    if bits not in (2, 3, 4, 8) or not isinstance(gs, int):
        return None
    ok = True
    names = {t: f"{prefix}.{t}" for t in ("qweight", "qzeros", "scales", "g_idx", "bias", "weight")}
    for t in ("qzeros", "scales", "g_idx"):
        if names[t] not in W:
            rep.error(f"{prefix}: {names[t]} missing")
            ok = False
    if not ok:
        return None
    if names["weight"] in W:
        rep.error(f"{prefix}: has both .qweight and .weight")
    dt = {t: W.dtype(names[t]) for t in ("qweight", "qzeros", "scales", "g_idx")}
    for t, want in (("qweight", "I32"), ("qzeros", "I32"), ("scales", "F16"), ("g_idx", "I32")):
        if dt[t] != want:
            rep.error(f"{names[t]}: dtype {dt[t]}, expected {want}")
            ok = False
    if not ok:
        return None
    suffix = module_suffix(prefix)
    if suffix in shapes and None not in shapes[suffix]:
        K, N = shapes[suffix]
    else:
        K = W.shape(names["g_idx"])[0] if len(W.shape(names["g_idx"])) == 1 else None
        N = W.shape(names["scales"])[-1]
        rep.warn(f"{prefix}: not a known LLaMA projection; K={K}, N={N} taken from g_idx/scales")
        if K is None:
            rep.error(f"{names['g_idx']}: not 1-D")
            return None
    G = K if gs == -1 else gs
    ngroups = -(-K // G)
    maxq = (1 << bits) - 1
    if (K * bits) % 32 or (N * bits) % 32 or (bits == 3 and (K % 32 or N % 32)):
        rep.error(f"{prefix}: K={K}, N={N} cannot be packed at {bits} bits")
        return None
    if K % 32 or N % 32:
        not32.append(f"{prefix} (K={K}, N={N})")
    want = {"qweight": (K * bits // 32, N), "qzeros": (ngroups, N * bits // 32),
            "scales": (ngroups, N), "g_idx": (K,)}
    for t, shp in want.items():
        if W.shape(names[t]) != shp:
            rep.error(f"{names[t]}: shape {list(W.shape(names[t]))}, expected {list(shp)} "
                      f"(K={K}, N={N}, bits={bits}, group_size={gs})")
            ok = False
    if not ok:
        return None

    g_idx = W.get(names["g_idx"]).astype(np.int64)
    scales = W.get(names["scales"])
    qweight = W.get(names["qweight"])
    qzeros = W.get(names["qzeros"])
    expected_g = np.arange(K) // G
    if g_idx.min() < 0 or g_idx.max() >= ngroups:
        rep.error(f"{names['g_idx']}: values in [{g_idx.min()}, {g_idx.max()}], expected [0, {ngroups})")
        return None
    if not q.get("desc_act"):
        if not np.array_equal(g_idx, expected_g):
            bad = np.flatnonzero(g_idx != expected_g)
            rep.error(f"{names['g_idx']}: desc_act is false but g_idx != arange(K)//G "
                      f"(first at k={bad[0]}: {g_idx[bad[0]]} vs {expected_g[bad[0]]}; {bad.size} differ)")
            ok = False
    else:
        counts = np.bincount(g_idx, minlength=ngroups)
        want_counts = np.bincount(expected_g, minlength=ngroups)
        if not np.array_equal(counts, want_counts):
            g = int(np.flatnonzero(counts != want_counts)[0])
            rep.error(f"{names['g_idx']}: group {g} has {counts[g]} rows, expected {want_counts[g]} "
                      f"(act-order g_idx must be a permutation of arange(K)//G)")
            ok = False
    s32 = scales.astype(np.float32)
    if not np.all(np.isfinite(s32)):
        rep.error(f"{names['scales']}: {int(np.sum(~np.isfinite(s32)))} non-finite value(s)")
        ok = False
    if np.any(s32 < 0):
        rep.error(f"{names['scales']}: {int(np.sum(s32 < 0))} negative value(s)")
        ok = False
    elif np.any(s32 == 0):
        rep.warn(f"{names['scales']}: {int(np.sum(s32 == 0))} zero value(s)")
    if names["bias"] in W:
        b = W.get(names["bias"])
        if W.dtype(names["bias"]) != "F16" or b.shape != (N,):
            rep.error(f"{names['bias']}: {W.dtype(names['bias'])} {list(b.shape)}, expected F16 [{N}]")
            ok = False
        elif not np.any(b):
            pass  # all-zero bias (TheBloke-era AutoGPTQ): accepted
        else:
            rep.info(f"{names['bias']}: non-zero bias")

    qv = unpack_rows(qweight, bits, K)                       # [K, N]
    fields = unpack_cols(qzeros, bits, N)                    # [ngroups, N]
    if q["checkpoint_format"] == "gptq_v2":
        zeros = fields
    else:
        n_all_ones = int(np.sum(fields == maxq))
        if n_all_ones:
            rep.warn(f"{names['qzeros']}: {n_all_ones} v1 field(s) equal {maxq} (a true zero of 0 stored as -1: "
                     f"kernels disagree, and the -1 corrupts the higher fields of its word); using --v1-zeros {v1_mode}")
        zeros = v1_zero_from_field(fields, bits, v1_mode)
    if q.get("sym"):
        if not np.all(zeros == (maxq + 1) // 2):
            bad = np.argwhere(zeros != (maxq + 1) // 2)[0]
            rep.error(f"{names['qzeros']}: sym is true but zero[{bad[0]}, {bad[1]}] = {zeros[tuple(bad)]} "
                      f"(expected {(maxq + 1) // 2} everywhere)")
            ok = False
    diff = (qv - zeros[g_idx]).astype(np.float32)
    deq = np.ascontiguousarray((s32[g_idx] * diff).T)        # [N, K]
    L = QLayer()
    L.prefix, L.K, L.N, L.G, L.bits, L.ok = prefix, K, N, G, bits, ok
    L.q, L.zeros, L.scales, L.g_idx, L.dequant = qv, zeros, scales, g_idx, deq
    return L


# ----------------------------------------------------------------------------------------------
# Main check
# ----------------------------------------------------------------------------------------------

def try_transformers(qdir):
    try:
        import transformers
        transformers.logging.set_verbosity_error()
        from transformers import AutoModelForCausalLM
        buf = io.StringIO()
        with redirect_stdout(buf):
            AutoModelForCausalLM.from_pretrained(str(qdir))
        return "ok"
    except Exception as e:  # noqa: BLE001
        msg = " ".join(str(e).split())
        if len(msg) > 160:
            msg = msg[:157] + "..."
        return f"unavailable ({type(e).__name__}: {msg})"


def write_dense_model(qdir, cfg, W, layers, out):
    """The quantized model as an ordinary float32 LlamaForCausalLM folder, its projections dequantized by this
    script's own numpy code: what `peft` and transformers load as "the dequantized base"."""
    from safetensors.numpy import save_file
    out.mkdir(parents=True, exist_ok=True)
    tensors = {}
    for k in W.keys():
        if any(k.startswith(p + ".") for p in layers):
            continue
        tensors[k] = np.ascontiguousarray(W.get(k).astype(np.float32))
    for p, layer in layers.items():
        tensors[p + ".weight"] = np.ascontiguousarray(layer.dequant.astype(np.float32))
    save_file(tensors, str(out / "model.safetensors"))
    dense_cfg = {k: v for k, v in cfg.items() if k != "quantization_config"}
    dense_cfg["torch_dtype"] = "float32"
    (out / "config.json").write_text(json.dumps(dense_cfg, indent=2))
    for name in ("tokenizer.model", "tokenizer_config.json", "generation_config.json"):
        if (qdir / name).is_file():
            shutil.copy(qdir / name, out / name)


def check(qdir, reference=None, fp_model=None, v1_mode="plus1", use_transformers=True, max_report=5,
          dense_out=None):
    rep = Report()
    qdir = Path(qdir)
    if not qdir.is_dir():
        rep.error(f"{qdir} is not a folder")
        return 1
    cfg, q = check_configs(qdir, rep)
    if cfg is None:
        print(f"SUMMARY: FAIL ({len(rep.errors)} error(s))")
        return 1
    base_names = ["model"]
    qcfg_file = qdir / "quantize_config.json"
    if qcfg_file.is_file():
        mb = json.loads(qcfg_file.read_text()).get("model_file_base_name")
        if mb and mb != "model":
            base_names.append(mb)
    W = Weights(qdir, rep, "quantized model", base_names)
    if not W.where:
        print(f"SUMMARY: FAIL ({len(rep.errors)} error(s))")
        return 1
    shapes = linear_shapes(cfg)
    H, V, L_ = cfg.get("hidden_size"), cfg.get("vocab_size"), cfg.get("num_hidden_layers")

    # quantized layers
    prefixes = sorted(k[: -len(".qweight")] for k in W.keys() if k.endswith(".qweight"))
    layers = {}
    not32 = []
    if q is not None and prefixes:
        for p in prefixes:
            layer = check_qlayer(p, W, q, shapes, rep, v1_mode, not32)
            if layer is not None:
                layers[p] = layer
        if not32:
            rep.warn(f"{len(not32)} quantized layer(s) with K or N not a multiple of 32, e.g. {not32[0]}: "
                     f"AutoGPTQ sizes its QuantLinear buffers as in // 32 * bits, out // 32 * bits and "
                     f"would not load them")
        rep.info(f"{len(prefixes)} quantized layer(s), {len(layers)} dequantized")
    elif not prefixes:
        rep.error("no tensor ends in .qweight")

    # non-quantized tensors and coverage of the projections
    expected = {}
    if H and V:
        expected["model.embed_tokens.weight"] = (V, H)
        expected["model.norm.weight"] = (H,)
        if not cfg.get("tie_word_embeddings", False) and "lm_head.qweight" not in W:
            expected["lm_head.weight"] = (V, H)
    for i in range(L_ or 0):
        for n in ("input_layernorm", "post_attention_layernorm"):
            expected[f"model.layers.{i}.{n}.weight"] = (H,)
    for name, shp in expected.items():
        if name not in W:
            rep.error(f"{name} missing")
        elif W.shape(name) != shp:
            rep.error(f"{name}: shape {list(W.shape(name))}, expected {list(shp)}")
    if cfg.get("tie_word_embeddings", False) and "lm_head.weight" in W:
        rep.info("lm_head.weight present although tie_word_embeddings is true")
    in_block = q.get("modules_in_block_to_quantize") if q else None
    listed = None
    if in_block:
        listed = {m for grp in in_block for m in (grp if isinstance(grp, list) else [grp])}
    plain_proj = []
    known = set(expected)
    for i in range(L_ or 0):
        for m in PROJECTIONS:
            p = f"model.layers.{i}.{m}"
            known.update(f"{p}.{t}" for t in ("qweight", "qzeros", "scales", "g_idx", "bias", "weight"))
            if f"{p}.qweight" in W:
                if listed is not None and m not in listed:
                    rep.error(f"{p} is quantized but modules_in_block_to_quantize does not list {m}")
                continue
            if f"{p}.weight" not in W:
                rep.error(f"{p}: neither .qweight nor .weight present")
                continue
            K, N = shapes.get(m, (None, None))
            if K is not None and W.shape(f"{p}.weight") != (N, K):
                rep.error(f"{p}.weight: shape {list(W.shape(f'{p}.weight'))}, expected {[N, K]}")
            if listed is not None and m in listed:
                rep.error(f"{p} is listed in modules_in_block_to_quantize but stored unquantized (.weight)")
            plain_proj.append(p)
    if plain_proj:
        msg = f"{len(plain_proj)} projection(s) kept unquantized, e.g. {plain_proj[0]}"
        if listed is None:
            rep.warn(msg + " -- quantization_config has no modules_in_block_to_quantize, so "
                     "transformers/optimum would expect them quantized")
        else:
            rep.info(msg + " (not in modules_in_block_to_quantize)")
    for p in prefixes:
        known.update(f"{p}.{t}" for t in ("qweight", "qzeros", "scales", "g_idx", "bias"))
    known.update({"lm_head.weight"})
    extra = [k for k in W.keys() if k not in known and not k.endswith("rotary_emb.inv_freq")]
    if extra:
        rep.warn(f"{len(extra)} unexpected tensor(s), e.g. {extra[:3]}")

    # reference dequantization
    if reference:
        try:
            ref = SafeFile(reference)
        except Exception as e:  # noqa: BLE001
            rep.error(f"reference {reference}: cannot read: {e}")
            ref = None
        if ref is not None:
            ref_layers = {k[: -len(".weight")] for k in ref.keys() if k.endswith(".weight")}
            for k in ref.keys():
                if not k.endswith(".weight"):
                    rep.warn(f"reference: unexpected tensor {k}")
            n_equal = 0
            for p in prefixes:
                if p not in ref_layers:
                    rep.error(f"reference: {p}.weight missing (layer is quantized in the checkpoint)")
                    continue
                if p not in layers:
                    continue
                Lq = layers[p]
                name = f"{p}.weight"
                if ref.dtype(name) != "F32" or ref.shape(name) != (Lq.N, Lq.K):
                    rep.error(f"reference {name}: {ref.dtype(name)} {list(ref.shape(name))}, "
                              f"expected F32 {[Lq.N, Lq.K]}")
                    continue
                r = ref.get(name)
                if np.array_equal(r, Lq.dequant):
                    n_equal += 1
                    continue
                bad = np.argwhere(r != Lq.dequant)
                rep.error(f"reference {name}: {len(bad)} of {r.size} values differ from the numpy dequantization")
                for n, k in bad[:max_report]:
                    g = int(Lq.g_idx[k])
                    print(f"      [n={n}, k={k}] reference {float(r[n, k])!r} numpy {float(Lq.dequant[n, k])!r} "
                          f"(q={int(Lq.q[k, n])}, zero={int(Lq.zeros[g, n])}, "
                          f"scale={float(Lq.scales[g, n])!r}, g={g})")
            for p in sorted(ref_layers - set(prefixes)):
                rep.error(f"reference: {p}.weight has no quantized layer in the checkpoint")
            rep.info(f"reference: {n_equal}/{len(prefixes)} layer(s) bit-identical")

    # reconstruction error against the fp model
    if fp_model:
        fp = Weights(fp_model, rep, "fp model")
        worst = {}
        for p, Lq in layers.items():
            name = f"{p}.weight"
            if name not in fp:
                rep.warn(f"fp model: {name} missing")
                continue
            w = fp.get(name).astype(np.float64)
            if w.shape != Lq.dequant.shape:
                rep.error(f"fp model: {name} shape {list(w.shape)} vs quantized {list(Lq.dequant.shape)}")
                continue
            nrm = np.linalg.norm(w)
            rel = float(np.linalg.norm(w - Lq.dequant.astype(np.float64)) / nrm) if nrm > 0 else float("nan")
            bound = REL_ERR_BOUND[Lq.bits]
            flag = "" if rel < bound else f"  above plausible bound {bound}"
            print(f"      rel_err {rel:.5f}  {p}{flag}")
            if rel >= bound or not math.isfinite(rel):
                rep.warn(f"{p}: relative reconstruction error {rel:.4f} >= {bound} for {Lq.bits} bits")
            worst[p] = rel
        if worst:
            vals = np.array(list(worst.values()))
            rep.info(f"fp model: relative error mean {vals.mean():.5f}, max {vals.max():.5f} "
                     f"({max(worst, key=worst.get)})")
        same = 0
        others = [k for k in W.keys() if k in fp and not any(k.startswith(p + ".") for p in prefixes)]
        for k in others:
            a, b = W.get(k), fp.get(k)
            if a.shape != b.shape:
                rep.error(f"{k}: shape {list(a.shape)} vs fp model {list(b.shape)}")
                continue
            if np.array_equal(a.astype(np.float32), b.astype(a.dtype).astype(np.float32)):
                same += 1
            else:
                d = float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64))))
                rep.warn(f"{k}: differs from the fp model beyond dtype rounding (max |diff| {d:.3g})")
        rep.info(f"fp model: {same}/{len(others)} non-quantized tensor(s) equal up to the stored dtype")

    if use_transformers:
        print(f"transformers GPTQ loader: {try_transformers(qdir)}")

    if dense_out and not rep.errors:
        write_dense_model(qdir, cfg, W, layers, Path(dense_out))
        rep.info(f"dense model written to {dense_out}")

    status = "OK" if not rep.errors else f"FAIL ({len(rep.errors)} error(s))"
    print(f"SUMMARY: {status}; {len(layers)} quantized layer(s) checked, {len(rep.warnings)} warning(s)")
    return 0 if not rep.errors else 1


# ----------------------------------------------------------------------------------------------
# Self-test
# ----------------------------------------------------------------------------------------------

def rtn_quantize(w_lin, bits, gs, sym, perm=None):
    """RTN, GPTQ-style grid, on Linear.weight [N, K] -> (q [K, N], zeros [ng, N], scales fp16, g_idx).

    perm (optional) is an act-order processing order: groups are formed over the permuted input rows
    and g_idx = (arange(K) // G)[invperm], as GPTQ with desc_act does.
    """
    N, K = w_lin.shape
    G = K if gs == -1 else gs
    ng = -(-K // G)
    maxq = (1 << bits) - 1
    W = w_lin.T.astype(np.float32)                      # [K, N]
    order = np.arange(K) if perm is None else np.asarray(perm)
    invperm = np.argsort(order)
    g_idx = ((np.arange(K) // G)[invperm]).astype(np.int32)
    scales = np.zeros((ng, N), np.float16)
    zeros = np.zeros((ng, N), np.int32)
    for g in range(ng):
        rows = W[order[g * G:(g + 1) * G]]
        xmin = np.minimum(rows.min(0), 0)
        xmax = np.maximum(rows.max(0), 0)
        if sym:
            xmax = np.maximum(np.abs(xmin), xmax)
            xmin = np.where(xmin < 0, -xmax, xmin)
        both0 = (xmin == 0) & (xmax == 0)
        xmin[both0], xmax[both0] = -1, 1
        s = ((xmax - xmin) / maxq).astype(np.float16)
        s[s == 0] = np.float16(2.0 ** -14)
        scales[g] = s
        zeros[g] = (maxq + 1) // 2 if sym else np.clip(np.round(-xmin / s.astype(np.float32)), 0, maxq)
    s_rows = scales.astype(np.float32)[g_idx]
    qv = np.clip(np.round(W / s_rows) + zeros[g_idx], 0, maxq).astype(np.int32)
    return qv, zeros, scales, g_idx


def build_quant_dir(out, fp_dir, bits, gs, sym, fmt, desc_act, modules, shards=1, zero_bias=False, seed=0):
    """Writes a quantized copy of the fp model and returns (out, reference file path)."""
    from safetensors.numpy import save_file
    fp_dir = Path(fp_dir)
    out = Path(out)
    out.mkdir(parents=True)
    cfg = json.loads((fp_dir / "config.json").read_text())
    fpw = SafeFile(fp_dir / "model.safetensors")
    rng = np.random.default_rng(seed)
    maxq = (1 << bits) - 1
    tensors, ref = {}, {}
    for name in fpw.keys():
        arr = fpw.get(name)
        p = name[: -len(".weight")]
        if name.endswith(".weight") and module_suffix(p) in modules and ".layers." in p:
            N, K = arr.shape
            perm = rng.permutation(K) if desc_act else None
            qv, zeros, scales, g_idx = rtn_quantize(arr, bits, gs, sym, perm)
            stored = zeros - 1 if fmt == "gptq" else zeros
            assert stored.min() >= 0, "v1 with a zero of 0 cannot be stored"
            tensors[f"{p}.qweight"] = pack_rows(qv, bits)
            tensors[f"{p}.qzeros"] = pack_cols(stored, bits)
            tensors[f"{p}.scales"] = scales
            tensors[f"{p}.g_idx"] = g_idx
            if zero_bias:
                tensors[f"{p}.bias"] = np.zeros(N, np.float16)
            diff = (qv - zeros[g_idx]).astype(np.float32)
            ref[name] = np.ascontiguousarray((scales.astype(np.float32)[g_idx] * diff).T)
        else:
            tensors[name] = arr
    names = sorted(tensors)
    if shards == 1:
        save_file(tensors, str(out / "model.safetensors"), metadata={"format": "pt"})
    else:
        wmap = {}
        per = -(-len(names) // shards)
        for s in range(shards):
            fn = f"model-{s + 1:05d}-of-{shards:05d}.safetensors"
            part = {k: tensors[k] for k in names[s * per:(s + 1) * per]}
            save_file(part, str(out / fn), metadata={"format": "pt"})
            wmap.update({k: fn for k in part})
        total = int(sum(v.nbytes for v in tensors.values()))
        (out / "model.safetensors.index.json").write_text(
            json.dumps({"metadata": {"total_size": total}, "weight_map": wmap}, indent=1))
    save_file(ref, str(out / "reference_dequant.safetensors"))
    qc = {"bits": bits, "group_size": gs, "damp_percent": 0.01, "desc_act": desc_act, "static_groups": False,
          "sym": sym, "true_sequential": True, "quant_method": "gptq", "checkpoint_format": fmt}
    cfg_q = dict(cfg)
    cfg_q["quantization_config"] = dict(qc, modules_in_block_to_quantize=[sorted(modules)])
    cfg_q["torch_dtype"] = "float16"
    (out / "config.json").write_text(json.dumps(cfg_q, indent=1))
    (out / "quantize_config.json").write_text(json.dumps(dict(qc, model_name_or_path=None,
                                                              model_file_base_name="model"), indent=1))
    shutil.copy(fp_dir / "tokenizer.model", out / "tokenizer.model")
    return out, out / "reference_dequant.safetensors"


def run_captured(*args, **kw):
    buf = io.StringIO()
    with redirect_stdout(buf):
        rc = check(*args, **kw)
    return rc, buf.getvalue()


def rewrite_tensor(folder, name, fn):
    """Loads every tensor of the file holding `name`, applies fn to it, writes the file back."""
    from safetensors.numpy import save_file
    folder = Path(folder)
    idx = folder / "model.safetensors.index.json"
    fname = json.loads(idx.read_text())["weight_map"][name] if idx.is_file() else "model.safetensors"
    sf = SafeFile(folder / fname)
    data = {k: sf.get(k) for k in sf.keys()}
    meta = dict(sf.metadata)
    del sf
    data[name] = fn(data[name].copy())
    save_file(data, str(folder / fname), metadata=meta or None)


def self_test(keep=None):
    fp_dir = REPO.parent / "shared" / "testdata" / "models" / "stories260K-hf"
    if not fp_dir.is_dir():
        print(f"self-test: {fp_dir} not found")
        return 1
    attn = {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj"}
    every = set(PROJECTIONS)
    tmp = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="gptq_selftest_"))
    if keep and tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True, exist_ok=True)
    failures = []

    def expect(label, rc, out, want_rc, needles=()):
        missing = [s for s in needles if s not in out]
        good = rc == want_rc and not missing
        print(f"[{'pass' if good else 'FAIL'}] {label}: exit {rc}" + (f", missing {missing}" if missing else ""))
        if not good:
            failures.append(label)
            print("      " + "\n      ".join(out.rstrip().splitlines()[-25:]))
        return out

    # Positive cases. stories260K: hidden 64, kv dim 32, intermediate 172 -> the MLP (172) packs only
    # at 8 bits, so the 2/3/4-bit cases quantize the attention projections and keep the MLP in fp32.
    cases = [
        ("A 4-bit g32 sym v1 (attention)", dict(bits=4, gs=32, sym=True, fmt="gptq", desc_act=False, modules=attn)),
        ("B 8-bit g32 asym v2 act-order sharded zero-bias (all)",
         dict(bits=8, gs=32, sym=False, fmt="gptq_v2", desc_act=True, modules=every, shards=2, zero_bias=True)),
        ("C 3-bit g-1 sym v1 (attention)", dict(bits=3, gs=-1, sym=True, fmt="gptq", desc_act=False, modules=attn)),
        ("D 2-bit g32 asym v2 act-order (attention)",
         dict(bits=2, gs=32, sym=False, fmt="gptq_v2", desc_act=True, modules=attn)),
    ]
    built = {}
    for i, (label, kw) in enumerate(cases):
        d, ref = build_quant_dir(tmp / f"case{label[0]}", fp_dir, seed=i, **kw)
        built[label[0]] = (d, ref)
        rc, out = run_captured(d, reference=ref, fp_model=fp_dir, use_transformers=(i == 0))
        needles = ["SUMMARY: OK", "bit-identical"]
        if i == 0:
            needles.append("transformers GPTQ loader: ")
            loader_line = [ln for ln in out.splitlines() if ln.startswith("transformers GPTQ loader")]
            print("      " + (loader_line[0] if loader_line else "(no loader line)"))
        expect(f"{label} passes", rc, out, 0, needles)
        errs = [ln for ln in out.splitlines() if ln.startswith("INFO  fp model: relative")]
        if errs:
            print("      " + errs[0][6:])

    # Negative cases on copies of A (and B for the sharded / act-order specific ones).
    dA, refA = built["A"]
    dB, refB = built["B"]
    qname = "model.layers.0.self_attn.q_proj"

    def mutant(src, label):
        dst = tmp / f"mutant_{label}"
        shutil.copytree(src, dst)
        return dst

    def flip(a):
        a[0, 0] ^= np.int32(1)
        return a
    d = mutant(dA, "flip")
    rewrite_tensor(d, f"{qname}.qweight", flip)
    rc, out = run_captured(d, reference=d / "reference_dequant.safetensors", use_transformers=False)
    expect("flipped qweight bit is reported", rc, out, 1, [f"reference {qname}.weight:", "[n=0, k=0]"])

    d = mutant(dA, "gidx")
    rewrite_tensor(d, "model.layers.1.self_attn.k_proj.g_idx", lambda a: a[::-1].copy())
    rc, out = run_captured(d, use_transformers=False)
    expect("non-monotone g_idx with desc_act false", rc, out, 1,
           ["model.layers.1.self_attn.k_proj.g_idx: desc_act is false"])

    d = mutant(dA, "gidx-range")
    rewrite_tensor(d, "model.layers.2.self_attn.v_proj.g_idx", lambda a: a + 5)
    rc, out = run_captured(d, use_transformers=False)
    expect("g_idx out of range", rc, out, 1, ["model.layers.2.self_attn.v_proj.g_idx: values in"])

    d = mutant(dA, "scales")
    rewrite_tensor(d, "model.layers.3.self_attn.o_proj.scales", lambda a: -a)
    rc, out = run_captured(d, use_transformers=False)
    expect("negative scales", rc, out, 1, ["model.layers.3.self_attn.o_proj.scales:"])

    d = mutant(dA, "qzeros-sym")
    rewrite_tensor(d, f"{qname}.qzeros", lambda a: a ^ np.int32(1))
    rc, out = run_captured(d, use_transformers=False)
    expect("sym zero point broken", rc, out, 1, [f"{qname}.qzeros: sym is true"])

    d = mutant(dA, "shape")
    rewrite_tensor(d, f"{qname}.scales", lambda a: a[:1].copy())
    rc, out = run_captured(d, use_transformers=False)
    expect("scales shape", rc, out, 1, [f"{qname}.scales: shape [1, 64], expected [2, 64]"])

    d = mutant(dA, "qcfg")
    qc = json.loads((d / "quantize_config.json").read_text())
    qc["bits"] = 8
    (d / "quantize_config.json").write_text(json.dumps(qc))
    rc, out = run_captured(d, use_transformers=False)
    expect("quantize_config.json disagrees", rc, out, 1, ["quantize_config.json: bits=8 disagrees"])

    d = mutant(dA, "fmt")
    cfg = json.loads((d / "config.json").read_text())
    cfg["quantization_config"]["checkpoint_format"] = "gptq_v2"
    (d / "config.json").write_text(json.dumps(cfg))
    qc = json.loads((d / "quantize_config.json").read_text())
    qc["checkpoint_format"] = "gptq_v2"
    (d / "quantize_config.json").write_text(json.dumps(qc))
    rc, out = run_captured(d, reference=d / "reference_dequant.safetensors", use_transformers=False)
    expect("v1 file declared as gptq_v2 (zeros off by one)", rc, out, 1, ["sym is true but zero", "values differ"])

    d = mutant(dA, "tok")
    (d / "tokenizer.model").unlink()
    rc, out = run_captured(d, use_transformers=False)
    expect("tokenizer.model missing", rc, out, 1, ["tokenizer.model missing"])

    d = mutant(dA, "norm")
    from safetensors.numpy import save_file
    sf = SafeFile(d / "model.safetensors")
    data = {k: sf.get(k) for k in sf.keys() if k != "model.norm.weight"}
    del sf
    save_file(data, str(d / "model.safetensors"))
    rc, out = run_captured(d, use_transformers=False)
    expect("model.norm.weight missing", rc, out, 1, ["model.norm.weight missing"])

    d = mutant(dA, "refmissing")
    sf = SafeFile(d / "reference_dequant.safetensors")
    data = {k: sf.get(k) for k in sf.keys() if not k.startswith("model.layers.4.self_attn.v_proj")}
    data["model.layers.0.mlp.up_proj.weight"] = np.zeros((172, 64), np.float32)
    del sf
    save_file(data, str(d / "reference_dequant.safetensors"))
    rc, out = run_captured(d, reference=d / "reference_dequant.safetensors", use_transformers=False)
    expect("reference missing / extra layer", rc, out, 1,
           ["reference: model.layers.4.self_attn.v_proj.weight missing",
            "reference: model.layers.0.mlp.up_proj.weight has no quantized layer"])

    d = mutant(dB, "actorder-counts")
    name = "model.layers.0.mlp.down_proj.g_idx"

    def skew(a):
        a[a == 1] = 0
        return a
    rewrite_tensor(d, name, skew)
    rc, out = run_captured(d, use_transformers=False)
    expect("act-order g_idx with wrong group sizes", rc, out, 1, [f"{name}: group 0 has"])

    d = mutant(dB, "index")
    idx = json.loads((d / "model.safetensors.index.json").read_text())
    k0 = sorted(idx["weight_map"])[0]
    idx["weight_map"][k0] = "model-00002-of-00002.safetensors" if idx["weight_map"][k0].startswith("model-00001") \
        else "model-00001-of-00002.safetensors"
    (d / "model.safetensors.index.json").write_text(json.dumps(idx))
    rc, out = run_captured(d, use_transformers=False)
    expect("shard index points to the wrong shard", rc, out, 1, [f"tensor {k0} is in"])

    d = mutant(dA, "plain-mlp-unlisted")
    cfg = json.loads((d / "config.json").read_text())
    del cfg["quantization_config"]["modules_in_block_to_quantize"]
    (d / "config.json").write_text(json.dumps(cfg))
    rc, out = run_captured(d, use_transformers=False)
    expect("fp MLP without modules_in_block_to_quantize is only a warning", rc, out, 0,
           ["WARN  15 projection(s) kept unquantized"])

    # v1 zero semantics: in a copy of the 2-bit asym v2 case D, set one qzeros field to 3 (= maxq) and
    # declare the file v1: that field reads as a stored -1 (all ones), a warning, not an error, in
    # either --v1-zeros mode.
    dD, _ = built["D"]
    d = mutant(dD, "v1-all-ones")

    def all_ones(a):
        a[0, 0] |= np.int32(3)
        return a
    rewrite_tensor(d, f"{qname}.qzeros", all_ones)
    for fn in ("config.json", "quantize_config.json"):
        c = json.loads((d / fn).read_text())
        (c["quantization_config"] if fn == "config.json" else c)["checkpoint_format"] = "gptq"
        (d / fn).write_text(json.dumps(c))
    for mode in ("plus1", "wrap"):
        rc, out = run_captured(d, v1_mode=mode, use_transformers=False)
        expect(f"v1 field == maxq is a warning (--v1-zeros {mode})", rc, out, 0,
               ["v1 field(s) equal 3", f"using --v1-zeros {mode}"])
    f = np.array([0, 1, 2, 3])
    sem_ok = (v1_zero_from_field(f, 2, "plus1").tolist() == [1, 2, 3, 4]
              and v1_zero_from_field(f, 2, "wrap").tolist() == [1, 2, 3, 0]
              and v1_zero_from_field(np.array([7]), 3, "wrap").tolist() == [8])
    expect("v1 zero = field + 1 (plus1) / (field + 1) & maxq (wrap, 2/4/8 bits)", 0 if sem_ok else 1, "", 0)
    print(f"self-test folders in {tmp}" + ("" if keep else " (removed)"))
    if not keep:
        shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print(f"SELF-TEST: FAIL ({len(failures)}): {failures}")
        return 1
    print("SELF-TEST: OK")
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("quant_dir", nargs="?")
    ap.add_argument("--reference")
    ap.add_argument("--fp-model")
    ap.add_argument("--v1-zeros", choices=("plus1", "wrap"), default="plus1")
    ap.add_argument("--no-transformers", action="store_true", help="skip the transformers loader attempt")
    ap.add_argument("--max-report", type=int, default=5, help="mismatching values printed per layer")
    ap.add_argument("--dense-out", help="also write the dequantized model as a float32 HF folder here")
    ap.add_argument("--self-test", action="store_true")
    ap.add_argument("--keep", help="self-test: build the folders here and keep them")
    args = ap.parse_args(argv)
    if args.self_test:
        return self_test(args.keep)
    if not args.quant_dir:
        ap.error("QUANT_DIR is required (or --self-test)")
    return check(args.quant_dir, args.reference, args.fp_model, args.v1_zeros,
                 not args.no_transformers, args.max_report, args.dense_out)


if __name__ == "__main__":
    sys.exit(main())
