#!/usr/bin/env python3
"""Reference outputs from transformers' own GGUF loader, for tests/core/test_gguf.cpp (the GGUF importer).

Usage:
    make_gguf_fixtures.py --out OUTDIR [--testdata DIR] [--smollm2 GGUF]      make the fixtures
    make_gguf_fixtures.py check-tokenizer --folder DIR --expected IDS.json --report REPORT.json
    make_gguf_fixtures.py compare-logits --folder DIR --fixtures OUTDIR/smollm2

Fixtures (OUTDIR/done.json is written last):

  synthetic/quants.gguf   a tiny llama (hidden 256, 2 layers, the stories260K vocabulary) whose matrices use every
                          type the importer reads: Q2_K Q3_K Q4_K Q5_K Q6_K Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 BF16 F16 F32,
                          random blocks with sane float16 scales (seed 1234). blk.1.ffn_down is Q8_0 with scales
                          near 1000, i.e. values up to ~127000: beyond float16, to exercise the F32 fallback.
  synthetic/qwen2.gguf    a tiny qwen2 (hidden 64, q/k/v biases, tied embeddings, the starcoder byte-level
                          vocabulary with pre-tokenizer "qwen2").
  <model>/reference.safetensors   transformers' state dict, float32 (AutoModelForCausalLM.from_pretrained(dir,
                          gguf_file=...)); lm_head.weight left out when the embeddings are tied
  <model>/config.json     that model's config (to_dict())
  <name>/ids.json         {"texts": [...], "transformers": [[ids]...] or null, "llama.cpp": [[ids]...] or null}
                          ids without BOS/EOS; texts = llama.cpp's 47 tokenizer test strings + 30 WikiText-2 lines
  smollm2/logits.safetensors   input_ids [1, T] and float32 logits [1, T, vocab] of the GGUF-loaded model

Models: stories260k, tiny_random, quants, qwen2, smollm2 (when --smollm2 exists). Tokenizers: those plus the
vocab-only GGUFs spm (ggml-vocab-llama-spm), phi3 (ggml-vocab-phi-3), starcoder (ggml-vocab-starcoder).
"""

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

SEP = "\n__ggml_vocab_test__\n"


def read_llamacpp_tests(inp: Path):
    texts = inp.read_text(encoding="utf-8").split(SEP)
    if texts and texts[-1] == "":
        texts.pop()
    out = inp.with_name(inp.name[: -len(".inp")] + ".out")
    ids = None
    if out.exists():
        lines = out.read_text(encoding="utf-8").split("\n")
        ids = [[int(t) for t in line.split()] for line in lines[: len(texts)]]
        assert len(ids) == len(texts), (inp, len(ids), len(texts))
    return texts, ids


def wikitext_lines(testdata: Path, n=30):
    path = testdata / "eval/wikitext2/wiki.test.raw.nonempty-crlf"
    if not path.exists():
        return []
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.strip().startswith("="):
            lines.append(line)
        if len(lines) >= n:
            break
    return lines


# ------------------------------------------------------------------------------------------------- synthetic GGUFs

def random_blocks(rng, qtype, rows, cols):
    """Random quantized blocks for a [rows, cols] matrix with float16 scales in a sane range."""
    import numpy as np
    from gguf import GGML_QUANT_SIZES, GGMLQuantizationType as T

    block, size = GGML_QUANT_SIZES[qtype]
    nb = rows * cols // block
    data = rng.integers(0, 256, size=(nb, size), dtype=np.uint8)

    def put(offset, lo, hi):
        values = rng.uniform(lo, hi, size=nb).astype(np.float16)
        data[:, offset:offset + 2] = values.view(np.uint8).reshape(nb, 2)

    d_offsets = {T.Q4_0: [0], T.Q4_1: [0], T.Q5_0: [0], T.Q5_1: [0], T.Q8_0: [0], T.Q2_K: [80], T.Q3_K: [108],
                 T.Q4_K: [0], T.Q5_K: [0], T.Q6_K: [208]}
    m_offsets = {T.Q4_1: 2, T.Q5_1: 2, T.Q2_K: 82, T.Q4_K: 2, T.Q5_K: 2}
    for off in d_offsets[qtype]:
        put(off, -0.02, 0.02)
    if qtype in m_offsets:
        put(m_offsets[qtype], -0.01, 0.01)
    return data.reshape(rows, cols // block * size)


def add_matrix(writer, rng, name, rows, cols, qtype, scale=None):
    import numpy as np
    from gguf import GGMLQuantizationType as T
    from gguf import quants

    if qtype == T.F32:
        writer.add_tensor(name, rng.normal(0, 0.05, size=(rows, cols)).astype(np.float32))
    elif qtype == T.F16:
        writer.add_tensor(name, rng.normal(0, 0.05, size=(rows, cols)).astype(np.float16))
    elif qtype == T.BF16:
        values = rng.normal(0, 0.05, size=(rows, cols)).astype(np.float32)
        writer.add_tensor(name, quants.quantize(values, T.BF16), raw_dtype=T.BF16)
    else:
        blocks = random_blocks(rng, qtype, rows, cols)
        if scale is not None:  # overwrite d with large scales (Q8_0 only)
            nb = blocks.size // 34
            b = blocks.reshape(nb, 34)
            b[:, 0:2] = rng.uniform(scale * 0.5, scale, size=nb).astype(np.float16).view(np.uint8).reshape(nb, 2)
        writer.add_tensor(name, blocks, raw_dtype=qtype)


def copy_tokenizer(writer, source_path):
    from gguf import GGUFReader

    reader = GGUFReader(str(source_path))
    f = reader.fields

    def strings(key):
        field = f[key]
        return [bytes(field.parts[i]).decode("utf-8") for i in field.data]

    def values(key):
        field = f[key]
        return [field.parts[i][0].item() for i in field.data]

    writer.add_tokenizer_model(bytes(f["tokenizer.ggml.model"].parts[-1]).decode())
    writer.add_token_list(strings("tokenizer.ggml.tokens"))
    if "tokenizer.ggml.scores" in f:
        writer.add_token_scores(values("tokenizer.ggml.scores"))
    writer.add_token_types(values("tokenizer.ggml.token_type"))
    if "tokenizer.ggml.merges" in f:
        writer.add_token_merges(strings("tokenizer.ggml.merges"))
    for key, add in [("tokenizer.ggml.bos_token_id", writer.add_bos_token_id),
                     ("tokenizer.ggml.eos_token_id", writer.add_eos_token_id),
                     ("tokenizer.ggml.unknown_token_id", writer.add_unk_token_id)]:
        if key in f:
            add(int(f[key].parts[-1][0]))
    return len(strings("tokenizer.ggml.tokens"))


def make_quants_gguf(path: Path, testdata: Path):
    import numpy as np
    from gguf import GGUFWriter, GGMLQuantizationType as T

    rng = np.random.default_rng(1234)
    hidden, ffn, n_head, n_kv, layers = 256, 512, 4, 2, 2
    head_dim = hidden // n_head
    w = GGUFWriter(str(path), "llama")
    w.add_name("lowbit-quants-test")
    w.add_context_length(512)
    w.add_embedding_length(hidden)
    w.add_block_count(layers)
    w.add_feed_forward_length(ffn)
    w.add_rope_dimension_count(head_dim)
    w.add_head_count(n_head)
    w.add_head_count_kv(n_kv)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_rope_freq_base(10000.0)
    vocab = copy_tokenizer(w, testdata / "models/stories260K/stories260K.gguf")
    add_matrix(w, rng, "token_embd.weight", vocab, hidden, T.Q8_0)
    add_matrix(w, rng, "output.weight", vocab, hidden, T.Q6_K)
    w.add_tensor("output_norm.weight", (1 + rng.normal(0, 0.1, size=hidden)).astype(np.float32))
    types = [
        dict(q=T.Q2_K, k=T.Q3_K, v=T.Q4_K, o=T.Q5_K, gate=T.Q6_K, up=T.Q4_0, down=T.Q4_1),
        dict(q=T.Q5_0, k=T.Q5_1, v=T.Q8_0, o=T.BF16, gate=T.F16, up=T.F32, down=T.Q8_0),
    ]
    for layer, t in enumerate(types):
        p = f"blk.{layer}."
        w.add_tensor(p + "attn_norm.weight", (1 + rng.normal(0, 0.1, size=hidden)).astype(np.float32))
        w.add_tensor(p + "ffn_norm.weight", (1 + rng.normal(0, 0.1, size=hidden)).astype(np.float32))
        add_matrix(w, rng, p + "attn_q.weight", n_head * head_dim, hidden, t["q"])
        add_matrix(w, rng, p + "attn_k.weight", n_kv * head_dim, hidden, t["k"])
        add_matrix(w, rng, p + "attn_v.weight", n_kv * head_dim, hidden, t["v"])
        add_matrix(w, rng, p + "attn_output.weight", hidden, n_head * head_dim, t["o"])
        add_matrix(w, rng, p + "ffn_gate.weight", ffn, hidden, t["gate"])
        add_matrix(w, rng, p + "ffn_up.weight", ffn, hidden, t["up"])
        add_matrix(w, rng, p + "ffn_down.weight", hidden, ffn, t["down"], scale=1000.0 if layer == 1 else None)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def make_qwen2_gguf(path: Path, testdata: Path):
    import numpy as np
    from gguf import GGUFWriter, GGMLQuantizationType as T

    rng = np.random.default_rng(4321)
    hidden, ffn, n_head, n_kv, layers = 64, 128, 4, 2, 2
    head_dim = hidden // n_head
    w = GGUFWriter(str(path), "qwen2")
    w.add_name("lowbit-qwen2-test")
    w.add_context_length(1024)
    w.add_embedding_length(hidden)
    w.add_block_count(layers)
    w.add_feed_forward_length(ffn)
    w.add_head_count(n_head)
    w.add_head_count_kv(n_kv)
    w.add_layer_norm_rms_eps(1e-6)
    w.add_rope_freq_base(1000000.0)
    vocab = copy_tokenizer(w, testdata / "tokenizers/llama.cpp/ggml-vocab-starcoder.gguf")
    w.add_tokenizer_pre("qwen2")
    add_matrix(w, rng, "token_embd.weight", vocab, hidden, T.F16)
    w.add_tensor("output_norm.weight", (1 + rng.normal(0, 0.1, size=hidden)).astype(np.float32))
    types = dict(q=T.F32, k=T.F16, v=T.Q8_0, o=T.Q4_0, gate=T.Q5_1, up=T.F16, down=T.F32)
    for layer in range(layers):
        p = f"blk.{layer}."
        w.add_tensor(p + "attn_norm.weight", (1 + rng.normal(0, 0.1, size=hidden)).astype(np.float32))
        w.add_tensor(p + "ffn_norm.weight", (1 + rng.normal(0, 0.1, size=hidden)).astype(np.float32))
        add_matrix(w, rng, p + "attn_q.weight", n_head * head_dim, hidden, types["q"])
        add_matrix(w, rng, p + "attn_k.weight", n_kv * head_dim, hidden, types["k"])
        add_matrix(w, rng, p + "attn_v.weight", n_kv * head_dim, hidden, types["v"])
        w.add_tensor(p + "attn_q.bias", rng.normal(0, 0.1, size=n_head * head_dim).astype(np.float32))
        w.add_tensor(p + "attn_k.bias", rng.normal(0, 0.1, size=n_kv * head_dim).astype(np.float32))
        w.add_tensor(p + "attn_v.bias", rng.normal(0, 0.1, size=n_kv * head_dim).astype(np.float32))
        add_matrix(w, rng, p + "attn_output.weight", hidden, n_head * head_dim, types["o"])
        add_matrix(w, rng, p + "ffn_gate.weight", ffn, hidden, types["gate"])
        add_matrix(w, rng, p + "ffn_up.weight", ffn, hidden, types["up"])
        add_matrix(w, rng, p + "ffn_down.weight", hidden, ffn, types["down"])
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


# ------------------------------------------------------------------------------------------------------ fixtures

def dump_model(name: str, gguf: Path, out: Path, tie_key="tie_word_embeddings"):
    import torch
    from safetensors.torch import save_file
    from transformers import AutoModelForCausalLM

    from gguf import GGUFReader

    # llama.cpp writes -1 (u32 4294967295) for "no padding token"; transformers takes it as an id and fails.
    fields = GGUFReader(str(gguf)).fields
    extra = {}
    if "tokenizer.ggml.padding_token_id" in fields:
        pad = int(fields["tokenizer.ggml.padding_token_id"].parts[-1][0])
        if pad >= len(fields["tokenizer.ggml.tokens"].data):
            extra["pad_token_id"] = None
    model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, torch_dtype=torch.float32,
                                                 **extra)
    model.eval()
    folder = out / name
    folder.mkdir(parents=True, exist_ok=True)
    config = model.config.to_dict()
    tensors = {}
    for key, value in model.state_dict().items():
        if key == "lm_head.weight" and config.get(tie_key):
            continue
        tensors[key] = value.detach().to(torch.float32).contiguous().clone()
    save_file(tensors, str(folder / "reference.safetensors"))
    (folder / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True, default=str))
    return model


def dump_ids(name: str, gguf: Path, out: Path, texts, llamacpp_ids):
    from transformers import AutoTokenizer

    folder = out / name
    folder.mkdir(parents=True, exist_ok=True)
    hf_ids = None
    error = None
    try:
        tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        hf_ids = [tok(text, add_special_tokens=False)["input_ids"] for text in texts]
    except Exception as e:  # architectures transformers' GGUF tokenizer does not support
        error = f"{type(e).__name__}: {e}"
    doc = {"gguf": str(gguf), "texts": texts, "transformers": hf_ids, "transformers_error": error,
           "llama.cpp": llamacpp_ids}
    (folder / "ids.json").write_text(json.dumps(doc, ensure_ascii=False))


def make_fixtures(args):
    import torch

    torch.manual_seed(0)
    torch.set_num_threads(2)
    out = Path(args.out)
    testdata = Path(args.testdata)
    if out.exists():
        shutil.rmtree(out)
    (out / "synthetic").mkdir(parents=True)
    make_quants_gguf(out / "synthetic/quants.gguf", testdata)
    make_qwen2_gguf(out / "synthetic/qwen2.gguf", testdata)

    inp_texts, _ = read_llamacpp_tests(testdata / "tokenizers/ggml-vocab-llama-spm.gguf.inp")
    texts = inp_texts + wikitext_lines(testdata)

    models = {
        "stories260k": testdata / "models/stories260K/stories260K.gguf",
        "tiny_random": testdata / "models/llama-2-tiny-random/llama-2-tiny-random.gguf",
        "quants": out / "synthetic/quants.gguf",
        "qwen2": out / "synthetic/qwen2.gguf",
    }
    if args.smollm2 and Path(args.smollm2).exists():
        models["smollm2"] = Path(args.smollm2)
    made = {}
    for name, gguf in models.items():
        if not gguf.exists():
            print(f"skipping {name}: {gguf} not found")
            continue
        model = dump_model(name, gguf, out)
        dump_ids(name, gguf, out, texts, None)
        made[name] = str(gguf)
        if name == "smollm2":
            from safetensors.torch import save_file
            from transformers import AutoTokenizer

            tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
            ids = tok("The capital of France is Paris. The capital of Germany is", return_tensors="pt",
                      add_special_tokens=False)["input_ids"]
            with torch.no_grad():
                logits = model(ids).logits.float().contiguous()
            save_file({"input_ids": ids.contiguous(), "logits": logits}, str(out / name / "logits.safetensors"))
        del model

    vocabs = {
        "spm": testdata / "tokenizers/ggml-vocab-llama-spm.gguf",
        "phi3": testdata / "tokenizers/llama.cpp/ggml-vocab-phi-3.gguf",
        "starcoder": testdata / "tokenizers/llama.cpp/ggml-vocab-starcoder.gguf",
    }
    for name, gguf in vocabs.items():
        if not gguf.exists():
            continue
        inp = Path(str(gguf) + ".inp")
        texts_v, ids_v = read_llamacpp_tests(inp)
        dump_ids(name, gguf, out, texts_v, ids_v)
        made[name] = str(gguf)

    import gguf as gguf_pkg
    import transformers
    versions = {"torch": torch.__version__, "transformers": transformers.__version__,
                "gguf": getattr(gguf_pkg, "__version__", "?")}
    (out / "done.json").write_text(json.dumps({"versions": versions, "made": made}, indent=2))


# ------------------------------------------------------------------------------------------- checks for the tests

def check_tokenizer(args):
    """Encodes the texts of an ids.json with FOLDER/tokenizer.json (HF tokenizers) and with AutoTokenizer(FOLDER);
    reports how many agree with transformers' GGUF tokenizer and with llama.cpp."""
    from tokenizers import Tokenizer
    from transformers import AutoTokenizer

    expected = json.loads(Path(args.expected).read_text(encoding="utf-8"))
    texts = expected["texts"]
    tok = Tokenizer.from_file(str(Path(args.folder) / "tokenizer.json"))
    ours = [tok.encode(text, add_special_tokens=False).ids for text in texts]
    auto = AutoTokenizer.from_pretrained(args.folder)
    ours_auto = [auto(text, add_special_tokens=False)["input_ids"] for text in texts]
    report = {"n_texts": len(texts), "auto_tokenizer_agrees": sum(a == b for a, b in zip(ours, ours_auto))}
    for key in ("transformers", "llama.cpp"):
        ref = expected.get(key)
        if ref is None:
            report[key] = None
            continue
        agree = [a == b for a, b in zip(ours, ref)]
        digits = [any(c.isdigit() for c in text) for text in texts]
        report[key] = {
            "agree": sum(agree),
            "agree_without_digits": sum(a for a, d in zip(agree, digits) if not d),
            "n_without_digits": sum(1 for d in digits if not d),
            "mismatches": [{"index": i, "text": texts[i], "ours": ours[i], "reference": ref[i]}
                           for i, a in enumerate(agree) if not a][:10],
        }
    # The bos token the folder's tokenizer adds, for the add_bos_token check.
    with_special = auto("hello", add_special_tokens=True)["input_ids"]
    plain = auto("hello", add_special_tokens=False)["input_ids"]
    report["adds_bos"] = len(with_special) > len(plain) and with_special[0] == auto.bos_token_id
    Path(args.report).write_text(json.dumps(report, ensure_ascii=False, indent=1))
    print(json.dumps({k: (v if not isinstance(v, dict) else {kk: vv for kk, vv in v.items() if kk != "mismatches"})
                      for k, v in report.items()}))


def compare_logits(args):
    """Loads FOLDER (our import) with transformers in float32 and compares its logits with the GGUF-loaded ones."""
    import torch
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM

    ref = load_file(str(Path(args.fixtures) / "logits.safetensors"))
    model = AutoModelForCausalLM.from_pretrained(args.folder, torch_dtype=torch.float32)
    model.eval()
    with torch.no_grad():
        logits = model(ref["input_ids"]).logits.float()
    diff = (logits - ref["logits"]).abs().max().item()
    scale = ref["logits"].abs().max().item()
    result = {"max_abs_diff": diff, "max_abs_logit": scale, "relative": diff / scale}
    print(json.dumps(result))
    if args.report:
        Path(args.report).write_text(json.dumps(result))


def main():
    here = Path(__file__).resolve().parent
    if len(sys.argv) > 1 and sys.argv[1] == "check-tokenizer":
        p = argparse.ArgumentParser()
        p.add_argument("--folder", required=True)
        p.add_argument("--expected", required=True)
        p.add_argument("--report", required=True)
        check_tokenizer(p.parse_args(sys.argv[2:]))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "compare-logits":
        p = argparse.ArgumentParser()
        p.add_argument("--folder", required=True)
        p.add_argument("--fixtures", required=True)
        p.add_argument("--report")
        compare_logits(p.parse_args(sys.argv[2:]))
        return
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True)
    p.add_argument("--testdata", default=str(here.parent.parent / "shared/testdata"))
    p.add_argument("--smollm2", default=None)
    make_fixtures(p.parse_args())


if __name__ == "__main__":
    main()
