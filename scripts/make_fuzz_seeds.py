#!/usr/bin/env python3
"""Seed corpora for the libFuzzer harnesses (tests/fuzz), made from the real test assets in ../shared/testdata,
cut down to a few KB each so the fuzzers mutate quickly. Standard library only.

    scripts/make_fuzz_seeds.py OUT_DIR TESTDATA_DIR      # writes OUT_DIR/<harness>/<seed>
"""
import json
import struct
import sys
from pathlib import Path


def write(out: Path, harness: str, name: str, data: bytes) -> None:
    folder = out / harness
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)


def safetensors_bytes(tensors: dict, metadata: dict) -> bytes:
    header, data = {"__metadata__": metadata}, b""
    for name, (dtype, shape, payload) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(payload)]}
        data += payload
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


def stories_header_as_small_file(model: Path) -> bytes:
    """The real stories260K header, each tensor shrunk to [2, 2] so the seed is small but shaped like a model."""
    raw = model.read_bytes()
    (length,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + length])
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        tensors[name] = ("F32", [2, 2], struct.pack("<4f", 0.5, -1.0, 2.0, 0.0))
    return safetensors_bytes(tensors, header.get("__metadata__", {"format": "pt"}))


def gguf_string(text: str) -> bytes:
    encoded = text.encode()
    return struct.pack("<Q", len(encoded)) + encoded


def gguf_bytes() -> bytes:
    """A small GGUF v3: metadata of every value type (nested arrays included), a vocabulary, two tensors."""
    kv = []

    def add(key, type_id, payload):
        kv.append(gguf_string(key) + struct.pack("<I", type_id) + payload)

    add("general.architecture", 8, gguf_string("llama"))
    add("general.name", 8, gguf_string("fuzz seed"))
    add("general.alignment", 4, struct.pack("<I", 32))
    add("llama.context_length", 4, struct.pack("<I", 256))
    add("llama.embedding_length", 4, struct.pack("<I", 8))
    add("llama.block_count", 4, struct.pack("<I", 1))
    add("llama.feed_forward_length", 4, struct.pack("<I", 16))
    add("llama.attention.head_count", 4, struct.pack("<I", 2))
    add("llama.attention.layer_norm_rms_epsilon", 6, struct.pack("<f", 1e-5))
    add("llama.rope.freq_base", 6, struct.pack("<f", 10000.0))
    add("tokenizer.ggml.model", 8, gguf_string("llama"))
    tokens = ["<unk>", "<s>", "</s>", "\u2581a", "\u2581b", "ab"]
    add("tokenizer.ggml.tokens", 9, struct.pack("<IQ", 8, len(tokens)) + b"".join(gguf_string(t) for t in tokens))
    add("tokenizer.ggml.scores", 9, struct.pack("<IQ", 6, len(tokens)) + struct.pack(f"<{len(tokens)}f", *range(len(tokens))))
    add("tokenizer.ggml.token_type", 9, struct.pack("<IQ", 5, len(tokens)) + struct.pack(f"<{len(tokens)}i", 2, 3, 3, 1, 1, 1))
    add("tokenizer.ggml.bos_token_id", 4, struct.pack("<I", 1))
    add("tokenizer.ggml.add_bos_token", 7, struct.pack("<B", 1))
    add("fuzz.nested", 9, struct.pack("<IQ", 9, 1) + struct.pack("<IQ", 0, 2) + bytes([1, 2]))
    add("fuzz.i64", 11, struct.pack("<q", -5))
    add("fuzz.f64", 12, struct.pack("<d", 0.25))
    tensors = [("token_embd.weight", [8, 6], 0), ("output_norm.weight", [8], 1)]  # F32, F16
    infos, data = b"", b""
    for name, dims, ggml_type in tensors:
        count = 1
        for d in dims:
            count *= d
        data += b"\0" * (-len(data) % 32)
        infos += gguf_string(name) + struct.pack("<I", len(dims)) + struct.pack(f"<{len(dims)}Q", *dims)
        infos += struct.pack("<IQ", ggml_type, len(data))
        data += bytes(count * (4 if ggml_type == 0 else 2))
    head = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kv)) + b"".join(kv) + infos
    head += b"\0" * (-len(head) % 32)
    return head + data


def small_tokenizer_json(path: Path, keep: int) -> bytes:
    """A real tokenizer.json with its vocabulary cut to the first `keep` ids and the merges that stay inside it."""
    tok = json.loads(path.read_text(encoding="utf-8"))
    model = tok.get("model", {})
    vocab = model.get("vocab")
    if isinstance(vocab, dict):
        model["vocab"] = {t: i for t, i in vocab.items() if i < keep}
        kept = set(model["vocab"])
        merges = []
        for merge in model.get("merges", []):
            parts = merge.split(" ") if isinstance(merge, str) else merge
            if len(parts) == 2 and parts[0] in kept and parts[1] in kept and parts[0] + parts[1] in kept:
                merges.append(merge)
        model["merges"] = merges
    elif isinstance(vocab, list):
        model["vocab"] = vocab[:keep]
    tok["added_tokens"] = [t for t in tok.get("added_tokens", []) if t.get("id", 0) < keep][:8]
    return json.dumps(tok, ensure_ascii=False).encode()


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    out, testdata = Path(sys.argv[1]), Path(sys.argv[2])
    stories = testdata / "models" / "stories260K-hf"
    smollm2 = testdata / "tokenizers" / "smollm2-135m-instruct"

    write(out, "fuzz_safetensors_header", "stories260K", stories_header_as_small_file(stories / "model.safetensors"))
    write(out, "fuzz_safetensors_header", "every_dtype", safetensors_bytes(
        {"a": ("F16", [2], b"\0\x3c\0\x40"), "b": ("BF16", [1], b"\x80\x3f"), "c": ("I64", [], bytes(8)),
         "d": ("BOOL", [3], b"\1\0\1"), "e": ("U8", [0, 4], b"")}, {"format": "pt"}))

    for name in ("config.json", "generation_config.json"):
        write(out, "fuzz_model_config", "stories260K_" + name, (stories / name).read_bytes())
    write(out, "fuzz_model_config", "llama3_config.json", json.dumps({
        "architectures": ["LlamaForCausalLM"], "vocab_size": 128256, "hidden_size": 4096, "intermediate_size": 14336,
        "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8, "rope_theta": 500000.0,
        "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                         "original_max_position_embeddings": 8192},
        "rms_norm_eps": 1e-5, "bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009],
        "tie_word_embeddings": False, "torch_dtype": "bfloat16"}).encode())
    write(out, "fuzz_model_config", "adapter_config.json", json.dumps({
        "peft_type": "LORA", "r": 16, "lora_alpha": 32, "lora_dropout": 0.05, "target_modules": ["q_proj", "v_proj"],
        "base_model_name_or_path": "models/q4", "bias": "none", "task_type": "CAUSAL_LM"}).encode())

    for template in sorted((testdata / "chat_templates").glob("*.jinja")) + [smollm2 / "chat_template.jinja"]:
        write(out, "fuzz_chat_template", template.stem, template.read_bytes())

    for folder in (stories, smollm2, testdata / "tokenizers" / "tinyllama"):
        config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
        config.pop("added_tokens_decoder", None)
        if folder == smollm2:
            config["chat_template"] = (smollm2 / "chat_template.jinja").read_text(encoding="utf-8")
        write(out, "fuzz_tokenizer_config", folder.name, json.dumps(config).encode())

    write(out, "fuzz_tokenizer_json", "smollm2_bpe", small_tokenizer_json(smollm2 / "tokenizer.json", 400))
    write(out, "fuzz_tokenizer_json", "tinyllama_spm_bpe", small_tokenizer_json(testdata / "tokenizers" / "tinyllama" / "tokenizer.json", 400))

    write(out, "fuzz_gguf", "small_llama", gguf_bytes())

    records = json.loads((testdata / "alpaca" / "alpaca_tiny.json").read_text(encoding="utf-8"))[:4]
    for record in records:
        record.pop("text", None)
    write(out, "fuzz_instruction_data", "alpaca_json", b"\0" + json.dumps(records).encode())
    write(out, "fuzz_instruction_data", "alpaca_jsonl", b"\1" + "\n".join(json.dumps(r) for r in records).encode())
    write(out, "fuzz_instruction_data", "c4_text_jsonl", b"\1" + b'{"text": "One document."}\n{"text": "Two."}\n')

    write(out, "fuzz_metrics_line", "train", b'{"step": 12, "train/loss": 2.31, "train/lr": 0.0002, "perf/tokens_per_s": 812.5, "vram/peak_bytes": 1048576}')
    write(out, "fuzz_metrics_line", "earlier", b'{"step": 3, "loss": 4.5, "lr": 1e-4, "vram/peak_bytes": 0}')
    return 0


if __name__ == "__main__":
    sys.exit(main())
