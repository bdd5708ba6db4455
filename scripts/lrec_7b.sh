#!/usr/bin/env bash
# Peak VRAM and time per step of LREC on a LLaMA-7B-shaped INT2 model with random weights (r 32 on all
# projections, seqlen 2048, micro-batch 1, cached teacher, gradient checkpointing): the issue-6 measurement for
# the GPU machine. Values of random weights do not matter for time and memory; shapes do.
#   scripts/lrec_7b.sh [OUT_DIR]
# Environment: LREC7B_DEVICE (cuda), LREC7B_LAYERS (32), LREC7B_SEQLEN (2048), LREC7B_STEPS (6).
# Needs about 14 GB of disk for the fp16 teacher and 16 GB of GPU memory while the teacher cache is written.
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${LOWBIT_BUILD:-$repo_root/build/${LOWBIT_PRESET:-default}}"
lowbit="$build/app/lowbit"
python="$repo_root/.venv/bin/python"
testdata="$repo_root/../shared/testdata"
out="${1:-$build/lrec_7b}"
device="${LREC7B_DEVICE:-cuda}" layers="${LREC7B_LAYERS:-32}" seqlen="${LREC7B_SEQLEN:-2048}" steps="${LREC7B_STEPS:-6}"
text="$testdata/train_text/tinystories_val_sample.txt"
# The small TinyStories tokenizer stands in for LLaMA's: its 512 ids are valid ids of the 32000-token model.
tokenizer="$testdata/models/stories260K-hf/tokenizer.model"
[ -f "$text" ] && [ -f "$tokenizer" ] || { echo "lrec_7b: needs $text and $tokenizer (../shared/testdata)" >&2; exit 1; }
rm -rf "$out" && mkdir -p "$out"

"$python" "$repo_root/scripts/make_random_llama.py" "$out/fp16" --shape 7b --layers "$layers" --tokenizer "$tokenizer"
"$lowbit" quantize "$out/fp16" --bits 2 --group-size 128 --method rtn --device "$device" --out "$out/int2" \
  > "$out/quantize.log" 2>&1 || { tail -20 "$out/quantize.log"; exit 1; }
"$lowbit" correct "$out/int2" --estimate --teacher "$out/fp16" --calib "$text" --out "$out/run" --preset int2 \
  --seqlen "$seqlen" --micro-batch 1 --device "$device" | tee "$out/estimate.txt"
start=$SECONDS
"$lowbit" correct "$out/int2" --teacher "$out/fp16" --calib "$text" --out "$out/run" --preset int2 \
  --seqlen "$seqlen" --micro-batch 1 --samples $((steps + 2)) --eval-windows 1 --steps "$steps" \
  --eval-every "$steps" --checkpoint-every "$steps" --device "$device" > "$out/correct.log" 2>&1 \
  || { tail -20 "$out/correct.log"; exit 1; }
wall=$((SECONDS - start))
"$python" - "$out/run/metrics.jsonl" "$out/correct.log" "$layers" "$seqlen" "$wall" <<'PY'
import json, re, sys
metrics, log, layers, seqlen, wall = sys.argv[1:]
steps = [json.loads(l) for l in open(metrics) if "\"train/tokens_per_s\"" in l]
later = steps[1:] or steps  # the first step includes CUDA/cuBLAS warm-up
per_step = sum(int(seqlen) / s["train/tokens_per_s"] for s in later) / len(later)
peak = max(s.get("vram/peak_bytes", 0) for s in steps) / 2**30  # absent on the CPU
memory = next((l.strip() for l in open(log) if l.startswith(("VRAM:", "memory:"))), "")
print(f"LREC 7B-shaped INT2 ({layers} layers), r 32 all projections, seqlen {seqlen}, micro-batch 1, cached teacher:")
print(f"  time per step {per_step:.2f} s (mean of steps 2..{len(steps)}), peak VRAM while training {peak:.2f} GiB")
print(f"  {memory}")
print(f"  whole run (teacher cache included) {wall} s")
PY
