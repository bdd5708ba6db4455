#!/usr/bin/env python3
"""Reference fixtures for GPTQ checkpoint packing (AutoGPTQ / GPTQModel / transformers layout).

Usage:
    make_gptq_fixtures.py --out DIR

An independent numpy implementation of the packed GPTQ tensors (research note
quantization-peers-and-formats.md, section 6), written to test the C++ packer/unpacker against.
Only numpy and safetensors are used. The run is deterministic (seeded with numpy's SeedSequence
from the file's parameters), so re-running gives byte-identical files.

Conventions (per quantized nn.Linear(in=K, out=N), G = group size, ngroups = ceil(K / G)):
  q        int32 [K, N]          quantized value of input row k, output column n, in [0, maxq]
  zeros    int32 [ngroups, N]    true zero points, in [0, maxq]
  g_idx    int32 [K]             group of input row k
  scales   fp16  [ngroups, N]
  qweight  int32 [K*bits/32, N]  q packed along the input dim (rows)
  qzeros   int32 [ngroups, N*bits/32]  zero points packed along the output dim (columns)
  W[k, n] = float32(scales[g_idx[k], n]) * float32(q[k, n] - zero[g_idx[k], n])
            (W is the transpose of nn.Linear.weight; the product is exact in float32 because a
             fp16 scale has an 11-bit significand and |q - zero| < 2^9)

Packing, LSB first, little-endian int32 words. Every bit width is the same rule: the values of one
column (or row, for qzeros) are laid one after the other into a bit stream, value i at stream bits
[bits*i, bits*i + bits), and the stream is cut into 32-bit words (word w = stream bits 32w..32w+31).
  bits 2/4/8: value k lies in word k // f at shift bits*(k % f), f = 32 / bits.
  bits 3: 32 values per 3 words; value 10 straddles words 0/1 (bits[1:0] at word0 bits 30-31,
          bit 2 at word1 bit 0), value 21 straddles words 1/2 (bit 0 at word1 bit 31, bits[2:1] at
          word2 bits 0-1), exactly the AutoGPTQ layout. Needs K % 32 == 0 (N % 32 == 0 for qzeros).
The packers below are cross-checked against two other formulations written from the spec text:
the element formula `(qweight[k // f, n] >> (bits*(k % f))) & maxq` for 2/4/8 bits, and, for 3
bits, a literal port of AutoGPTQ's packing loop and of its `wf` shift table with the two fix-ups.

Zero-point storage:
  v2 ("gptq_v2", GPTQModel)   stores the true zero.
  v1 ("gptq", AutoGPTQ/TheBloke) stores zero - 1; readers add 1 back. The v1 fixtures therefore use
  zeros drawn from [1, maxq] (written as `zeros_v1`) so that zero - 1 >= 0 and no word is corrupted
  by a -1 (all ones) field, and no stored field equals maxq (where kernels disagree, see
  check_gptq_checkpoint.py).

Files (DIR/):
  pack_{bits}bit_K{K}_N{N}_G{G}_{variant}.safetensors
      bits in {2, 3, 4, 8}; (K, N, G) in {(128, 96, 32), (128, 96, 128) = group_size -1,
      (64, 32, 32)}; variant `mono` (g_idx[k] = k // G) or `actorder` (perm = seeded random
      permutation of K, invperm = argsort(perm), g_idx = (arange(K) // G)[invperm], as GPTQ's
      desc_act produces; rows of q/qweight stay in original input order).
      tensors: q, zeros, zeros_v1, g_idx, scales, qweight, qzeros_v2 (= pack(zeros)),
               qzeros_v1 (= pack(zeros_v1 - 1)), dequant (with zeros), dequant_v1 (with zeros_v1)
      metadata: one key "fixture" = JSON {bits, K, N, group_size (the G of the name; -1 cases have
      G == K), variant, seed, formula} (a single key so that the header is byte-reproducible)
  pack_{bits}bit_sym.safetensors
      K = 64, N = 64, G = 32, mono g_idx, every zero = (maxq + 1) / 2 (symmetric quantization);
      same tensor names (zeros_v1 == zeros, dequant_v1 == dequant). The script checks that every
      qzeros_v1 word is the documented constant (4-bit 0x77777777, 2-bit 0x55555555,
      8-bit 0x7F7F7F7F, 3-bit: all fields 3 -> words 0xDB6DB6DB, 0xB6DB6DB6, 0x6DB6DB6D repeating)
      and that qzeros_v2 words are 0x88888888 / 0xAAAAAAAA / 0x80808080 / (3-bit, fields of 4)
      0x24924924, 0x49249249, 0x92492492.
  done.json (written last): list of files, per-file sha256, versions, conventions.
"""
import argparse
import hashlib
import json
import os
import sys
from pathlib import Path

import numpy as np
import safetensors
from safetensors.numpy import load_file, save_file

BITS = (2, 3, 4, 8)
SHAPES = ((128, 96, 32), (128, 96, 128), (64, 32, 32))  # (K, N, G); G == K is group_size -1
VARIANTS = ("mono", "actorder")
SYM_SHAPE = (64, 64, 32)
BASE_SEED = 0x6C6F7762  # "lowb"

# Documented symmetric v1 qzeros words (research note 6.3); 3-bit: all fields 3.
SYM_V1_WORDS = {4: [0x77777777], 2: [0x55555555], 8: [0x7F7F7F7F]}
SYM_V2_WORDS = {4: [0x88888888], 2: [0xAAAAAAAA], 8: [0x80808080]}
# Per-word constant that turns v1 qzeros into v2 qzeros when no stored field is maxq (note 6.3).
V1_TO_V2_ADD = {4: 0x11111111, 2: 0x55555555, 8: 0x01010101}


# ----------------------------------------------------------------------------------------------
# Packing (vectorised, bit-stream formulation)
# ----------------------------------------------------------------------------------------------

def _block(bits):
    """(values, words) per packing block: 32/bits values in 1 word, or 32 values in 3 words."""
    if bits in (2, 4, 8):
        return 32 // bits, 1
    if bits == 3:
        return 32, 3
    raise ValueError(f"unsupported bits {bits}")


def pack_rows(values, bits):
    """Pack int values [K, N] (each in [0, 2^bits)) along axis 0 -> int32 [K*bits/32, N]."""
    values = np.asarray(values)
    if values.ndim != 2:
        raise ValueError("pack_rows expects a 2-D array")
    maxq = (1 << bits) - 1
    if values.size and (values.min() < 0 or values.max() > maxq):
        raise ValueError(f"values out of range [0, {maxq}] for {bits}-bit packing")
    nvals, nwords = _block(bits)
    K, N = values.shape
    if K % nvals:
        raise ValueError(f"{bits}-bit packing needs the packed dim ({K}) to be a multiple of {nvals}")
    v = values.astype(np.uint64).reshape(K // nvals, nvals, N)
    words = np.zeros((K // nvals, nwords, N), dtype=np.uint64)
    for i in range(nvals):
        w, s = divmod(bits * i, 32)           # value i occupies stream bits [bits*i, bits*i+bits)
        words[:, w, :] |= (v[:, i, :] << np.uint64(s)) & np.uint64(0xFFFFFFFF)
        if s + bits > 32:                     # straddles into the next word (3-bit only)
            words[:, w + 1, :] |= v[:, i, :] >> np.uint64(32 - s)
    return words.astype(np.uint32).reshape(K // nvals * nwords, N).view(np.int32)


def unpack_rows(packed, bits, count=None):
    """Inverse of pack_rows: int32 [K*bits/32, N] -> int32 [K, N] (count = K, optional check)."""
    packed = np.asarray(packed)
    if packed.dtype != np.int32 or packed.ndim != 2:
        raise ValueError("unpack_rows expects a 2-D int32 array")
    maxq = np.uint64((1 << bits) - 1)
    nvals, nwords = _block(bits)
    R, N = packed.shape
    if R % nwords:
        raise ValueError(f"{bits}-bit packed rows ({R}) must be a multiple of {nwords}")
    words = packed.view(np.uint32).astype(np.uint64).reshape(R // nwords, nwords, N)
    out = np.empty((R // nwords, nvals, N), dtype=np.uint64)
    for i in range(nvals):
        w, s = divmod(bits * i, 32)
        v = words[:, w, :] >> np.uint64(s)
        if s + bits > 32:
            v |= words[:, w + 1, :] << np.uint64(32 - s)
        out[:, i, :] = v & maxq
    out = out.reshape(R // nwords * nvals, N).astype(np.int32)
    if count is not None and out.shape[0] != count:
        raise ValueError(f"unpacked {out.shape[0]} rows, expected {count}")
    return out


def pack_cols(values, bits):
    """Pack int values [G, N] along axis 1 (qzeros layout) -> int32 [G, N*bits/32]."""
    return np.ascontiguousarray(pack_rows(np.asarray(values).T, bits).T)


def unpack_cols(packed, bits, count=None):
    """Inverse of pack_cols: int32 [G, N*bits/32] -> int32 [G, N]."""
    return np.ascontiguousarray(unpack_rows(np.ascontiguousarray(np.asarray(packed).T), bits, count).T)


def dequantize(q, zeros, scales, g_idx):
    """W [K, N] float32 = float32(scales[g_idx]) * float32(q - zeros[g_idx])."""
    g_idx = np.asarray(g_idx).astype(np.int64)
    diff = (q.astype(np.int32) - zeros.astype(np.int32)[g_idx]).astype(np.float32)
    return scales.astype(np.float32)[g_idx] * diff


# ----------------------------------------------------------------------------------------------
# Independent formulations used only for cross-checks
# ----------------------------------------------------------------------------------------------

def unpack_rows_formula(packed, bits):
    """2/4/8 bits: value(k, n) = (qweight[k // f, n] >> (bits*(k % f))) & maxq (spec 6.2)."""
    f = 32 // bits
    u = packed.view(np.uint32)
    k = np.arange(u.shape[0] * f)
    return ((u[k // f, :] >> (bits * (k % f))[:, None].astype(np.uint32)) & ((1 << bits) - 1)).astype(np.int32)


def pack_rows_autogptq_loop(values, bits):
    """Literal port of AutoGPTQ QuantLinear.pack's row loop (uint32 accumulation)."""
    intweight = np.asarray(values).astype(np.uint32)
    K, N = intweight.shape
    qweight = np.zeros((K // 32 * bits, N), dtype=np.uint32)
    i = 0
    row = 0
    while row < qweight.shape[0]:
        if bits in (2, 4, 8):
            for j in range(i, i + 32 // bits):
                qweight[row] |= intweight[j] << np.uint32(bits * (j - i))
            i += 32 // bits
            row += 1
        elif bits == 3:
            for j in range(i, i + 10):
                qweight[row] |= intweight[j] << np.uint32(3 * (j - i))
            i += 10
            qweight[row] |= intweight[i] << np.uint32(30)
            row += 1
            qweight[row] |= (intweight[i] >> np.uint32(2)) & np.uint32(1)
            i += 1
            for j in range(i, i + 10):
                qweight[row] |= intweight[j] << np.uint32(3 * (j - i) + 1)
            i += 10
            qweight[row] |= intweight[i] << np.uint32(31)
            row += 1
            qweight[row] |= (intweight[i] >> np.uint32(1)) & np.uint32(0x3)
            i += 1
            for j in range(i, i + 10):
                qweight[row] |= intweight[j] << np.uint32(3 * (j - i) + 2)
            i += 10
            row += 1
        else:
            raise ValueError(bits)
    return qweight.view(np.int32)


def unpack_rows_3bit_wf(packed):
    """AutoGPTQ's 3-bit unpack: wf shift table [0,3..30,0], [0,1,4..28,31], [0,2,5..29,0] + fix-ups."""
    wf = np.array([[0, 3, 6, 9, 12, 15, 18, 21, 24, 27, 30, 0],
                   [0, 1, 4, 7, 10, 13, 16, 19, 22, 25, 28, 31],
                   [0, 2, 5, 8, 11, 14, 17, 20, 23, 26, 29, 0]], dtype=np.uint32)
    u = packed.view(np.uint32)
    R, N = u.shape
    w = u.reshape(R // 3, 3, 1, N) >> wf[None, :, :, None]         # [T, 3, 12, N]
    w[:, 0, 10] = (w[:, 0, 10] & 0x3) | ((w[:, 1, 0] << 2) & 0x4)
    w[:, 1, 11] = (w[:, 1, 11] & 0x1) | ((w[:, 2, 0] << 1) & 0x6)
    w = w & 0x7
    vals = np.concatenate([w[:, 0, :11], w[:, 1, 1:12], w[:, 2, 1:11]], axis=1)  # [T, 32, N]
    return vals.reshape(R // 3 * 32, N).astype(np.int32)


def sym_3bit_words(field):
    """The 3 words of a 32-value 3-bit block whose fields all equal `field` (via a Python int)."""
    stream = sum(field << (3 * i) for i in range(32))
    return [(stream >> (32 * w)) & 0xFFFFFFFF for w in range(3)]


def check_roundtrip(values, bits, axis):
    """Assert unpack(pack(x)) == x and agreement with the independent formulations."""
    if axis == 0:
        packed = pack_rows(values, bits)
        assert packed.dtype == np.int32 and packed.shape == (values.shape[0] * bits // 32, values.shape[1])
        assert np.array_equal(unpack_rows(packed, bits), values)
        assert np.array_equal(packed, pack_rows_autogptq_loop(values, bits))
        if bits == 3:
            assert np.array_equal(unpack_rows_3bit_wf(packed), values)
        else:
            assert np.array_equal(unpack_rows_formula(packed, bits), values)
    else:
        packed = pack_cols(values, bits)
        assert packed.dtype == np.int32 and packed.shape == (values.shape[0], values.shape[1] * bits // 32)
        assert np.array_equal(unpack_cols(packed, bits), values)
        check_roundtrip(np.ascontiguousarray(values.T), bits, 0)
    return packed


# ----------------------------------------------------------------------------------------------
# Fixture generation
# ----------------------------------------------------------------------------------------------

def make_g_idx(K, G, variant, rng):
    base = np.arange(K, dtype=np.int32) // G
    if variant == "mono":
        return base
    perm = rng.permutation(K)          # processing order (argsort of diag(H) in GPTQ)
    invperm = np.argsort(perm)
    g_idx = base[invperm].astype(np.int32)
    return g_idx


def make_case(bits, K, N, G, variant, seed, sym=False):
    rng = np.random.default_rng(seed)
    maxq = (1 << bits) - 1
    ngroups = -(-K // G)
    q = rng.integers(0, maxq + 1, size=(K, N)).astype(np.int32)
    if sym:
        zeros = np.full((ngroups, N), (maxq + 1) // 2, dtype=np.int32)
        zeros_v1 = zeros.copy()
    else:
        zeros = rng.integers(0, maxq + 1, size=(ngroups, N)).astype(np.int32)
        zeros_v1 = rng.integers(1, maxq + 1, size=(ngroups, N)).astype(np.int32)
    scales = rng.uniform(2.0 ** -10, 0.25, size=(ngroups, N)).astype(np.float16)
    scales[scales <= 0] = np.float16(2.0 ** -10)
    g_idx = make_g_idx(K, G, variant, rng)

    # invariants of g_idx
    assert g_idx.min() >= 0 and g_idx.max() < ngroups
    counts = np.bincount(g_idx, minlength=ngroups)
    assert np.array_equal(counts, np.bincount(np.arange(K) // G, minlength=ngroups))
    if variant == "actorder" and G < K:
        assert np.any(np.diff(g_idx) < 0), "act-order g_idx should be non-monotone"

    qweight = check_roundtrip(q, bits, 0)
    qzeros_v2 = check_roundtrip(zeros, bits, 1)
    qzeros_v1 = check_roundtrip(zeros_v1 - 1, bits, 1)
    # v1 fields are zero - 1 in [0, maxq - 1]: never the ambiguous all-ones field
    assert unpack_cols(qzeros_v1, bits).max() < maxq
    assert np.array_equal(unpack_cols(qzeros_v1, bits) + 1, zeros_v1)
    if bits in V1_TO_V2_ADD:
        # research note 6.3: v1 -> v2 is a per-word add when no field is maxq
        conv = (qzeros_v1.view(np.uint32).astype(np.uint64) + V1_TO_V2_ADD[bits]) & 0xFFFFFFFF
        assert np.array_equal(conv.astype(np.uint32).view(np.int32), pack_cols(zeros_v1, bits))

    dequant = dequantize(q, zeros, scales, g_idx)
    dequant_v1 = dequantize(q, zeros_v1, scales, g_idx)
    # exactness of the float32 product (fp16 scale * small integer) against float64
    d64 = scales.astype(np.float64)[g_idx] * (q - zeros[g_idx]).astype(np.float64)
    assert np.array_equal(dequant.astype(np.float64), d64)

    tensors = {
        "q": q, "zeros": zeros, "zeros_v1": zeros_v1, "g_idx": g_idx, "scales": scales,
        "qweight": qweight, "qzeros_v2": qzeros_v2, "qzeros_v1": qzeros_v1,
        "dequant": dequant, "dequant_v1": dequant_v1,
    }
    meta = {"bits": str(bits), "K": str(K), "N": str(N), "group_size": str(G),
            "variant": "sym" if sym else variant, "seed": str(seed),
            "formula": "float32(scales[g_idx]) * float32(q - zeros[g_idx]); v1 stores zeros_v1 - 1"}
    return tensors, meta


def check_sym_words(tensors, bits):
    v1 = tensors["qzeros_v1"].view(np.uint32)
    v2 = tensors["qzeros_v2"].view(np.uint32)
    if bits == 3:
        exp_v1 = sym_3bit_words(3)
        exp_v2 = sym_3bit_words(4)
        assert exp_v2 == [0x24924924, 0x49249249, 0x92492492], [hex(x) for x in exp_v2]
        assert exp_v1 == [0xDB6DB6DB, 0xB6DB6DB6, 0x6DB6DB6D], [hex(x) for x in exp_v1]
        assert np.all(unpack_cols(tensors["qzeros_v1"], 3) == 3)
    else:
        exp_v1, exp_v2 = SYM_V1_WORDS[bits], SYM_V2_WORDS[bits]
    period = len(exp_v1)
    for c in range(v1.shape[1]):
        assert np.all(v1[:, c] == exp_v1[c % period]), (bits, c, hex(int(v1[0, c])))
        assert np.all(v2[:, c] == exp_v2[c % period]), (bits, c, hex(int(v2[0, c])))


def seed_for(*parts):
    ss = np.random.SeedSequence([BASE_SEED] + [int(p) for p in parts])
    return int(ss.generate_state(1, dtype=np.uint32)[0])


def write(out, name, tensors, meta, produced):
    path = out / name
    # One metadata key holding sorted JSON: safetensors keeps metadata in a hash map, so several keys
    # would come out in a random order and the files would not be byte-identical between runs.
    save_file(tensors, str(path), metadata={"fixture": json.dumps(meta, sort_keys=True)})
    back = load_file(str(path))
    assert set(back) == set(tensors)
    for k, v in tensors.items():
        assert back[k].dtype == v.dtype and np.array_equal(back[k], v), (name, k)
    produced.append({"file": name, "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                     **{k: meta[k] for k in ("bits", "K", "N", "group_size", "variant")}})


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, type=Path)
    args = ap.parse_args(argv)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    done = out / "done.json"
    if done.exists():
        done.unlink()

    produced = []
    variant_id = {"mono": 0, "actorder": 1, "sym": 2}
    for bits in BITS:
        for K, N, G in SHAPES:
            for variant in VARIANTS:
                seed = seed_for(bits, K, N, G, variant_id[variant])
                tensors, meta = make_case(bits, K, N, G, variant, seed)
                write(out, f"pack_{bits}bit_K{K}_N{N}_G{G}_{variant}.safetensors", tensors, meta, produced)
        K, N, G = SYM_SHAPE
        seed = seed_for(bits, K, N, G, variant_id["sym"])
        tensors, meta = make_case(bits, K, N, G, "mono", seed, sym=True)
        check_sym_words(tensors, bits)
        write(out, f"pack_{bits}bit_sym.safetensors", tensors, meta, produced)

    info = {
        "generator": "scripts/make_gptq_fixtures.py",
        "numpy": np.__version__,
        "safetensors": safetensors.__version__,
        "python": sys.version.split()[0],
        "base_seed": BASE_SEED,
        "conventions": {
            "dequant": "float32(scales[g_idx[k], n]) * float32(q[k, n] - zeros[g_idx[k], n]), [K, N] = Linear.weight.T",
            "qweight": "int32 [K*bits/32, N], values packed along K, LSB first; bits 3: 32 values / 3 words",
            "qzeros_v2": "int32 [ngroups, N*bits/32], true zeros packed along N",
            "qzeros_v1": "int32 [ngroups, N*bits/32], (zeros_v1 - 1) packed along N; zeros_v1 in [1, maxq]",
            "g_idx_actorder": "perm = rng.permutation(K); g_idx = (arange(K) // G)[argsort(perm)]",
            "group_size_-1": "files with G == K (K128_N96_G128) are the group_size -1 case (1 group)",
        },
        "files": produced,
    }
    tmp = out / "done.json.tmp"
    tmp.write_text(json.dumps(info, indent=1) + "\n")
    os.replace(tmp, done)
    print(f"wrote {len(produced)} fixture files + done.json to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
