#!/usr/bin/env bash
# The LREC table (like the paper's Table 2) on a small model: FP32 / GPTQ / GPTQ+LREC perplexity at INT4, INT3,
# INT2 on held-out text, with adapter size and effective bits, plus the INT2 loss ablation (KL only, CE only).
#   scripts/lrec_table.sh [MODEL] [TEXT] [OUT_DIR]        (defaults: stories260K and the TinyStories sample)
# The text is split once: the first 80 % calibrates GPTQ and trains LREC, the last 20 % is only evaluated.
# LREC runs as `lowbit correct` does by default (teacher cached as top-64 log-probs, gradient checkpointing); the
# ablation adds the online teacher (full distribution) for comparison.
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
lowbit="$repo_root/build/default/app/lowbit"
model="${1:-$repo_root/../shared/testdata/models/stories260K-hf}"
text="${2:-$repo_root/../shared/testdata/train_text/tinystories_val_sample.txt}"
out="${3:-$repo_root/build/lrec_table}"
rank="${LREC_RANK:-4}" steps="${LREC_STEPS:-150}" lr="${LREC_LR:-1e-3}"
rm -rf "$out" && mkdir -p "$out"
lines=$(wc -l < "$text")
head -n $((lines * 8 / 10)) "$text" > "$out/calibration.txt"
tail -n +$((lines * 8 / 10 + 1)) "$text" > "$out/held_out.txt"

ppl() { "$lowbit" eval "$@" --text "$out/held_out.txt" --seqlen 512 --batch-size 8 --device cpu 2>/dev/null | awk '/^PPL/ {print $2}'; }
lrec() {  # lrec NAME QUANT PRESET [extra correct options]
  local name="$1" quant="$2" preset="$3"; shift 3
  "$lowbit" correct "$quant" --teacher "$model" --calib "$out/calibration.txt" --out "$out/$name" --preset "$preset" \
    --rank "$rank" --alpha $((rank * 4)) --lr "$lr" --warmup 10 --steps "$steps" --micro-batch 4 --seqlen 256 \
    --samples 256 --eval-every "$steps" --checkpoint-every "$steps" --device cpu "$@" > "$out/$name.log" 2>&1
}
fp=$(ppl "$model")
printf 'protocol gptq, seqlen 512, held-out last 20%% of %s; LoRA r=%s on all projections, %s steps, lr %s\n' \
  "$(basename "$text")" "$rank" "$steps" "$lr"
printf '%-6s %10s %10s %12s %14s %12s %10s\n' bits FP32 GPTQ GPTQ+LREC "gap closed" adapter "eff. bits"
for bits in 4 3 2; do
  quant="$out/int$bits"
  "$lowbit" quantize "$model" --bits "$bits" --group-size -1 --act-order --calib "$out/calibration.txt" \
    --nsamples 128 --seqlen 512 --device cpu --out "$quant" > "$out/quantize$bits.log" 2>&1
  q=$(ppl "$quant")
  lrec "lrec$bits" "$quant" "int$bits"
  c=$(ppl "$quant" --adapters "$out/lrec$bits/adapter")
  adapter_bytes=$(stat -c %s "$out/lrec$bits/adapter/adapter_model.safetensors")
  bpw=$(grep -oE '[0-9.]+ bits per weight' "$out/quantize$bits.log" | cut -d' ' -f1)
  # Effective bits per projection weight: the quantized projections plus the adapter counted at 16 bits
  # (it is stored as fp32; half its bytes are what fp16 would take).
  weights=$(python3 -c "import json; c = json.load(open('$model/config.json')); h = c['hidden_size']; \
hd = c.get('head_dim') or h // c['num_attention_heads']; kv = c.get('num_key_value_heads', c['num_attention_heads']); \
print(c['num_hidden_layers'] * (2 * h * c['num_attention_heads'] * hd + 2 * h * kv * hd + 3 * h * c['intermediate_size']))")
  eff=$(python3 -c "print(f'{$bpw + $adapter_bytes / 2 * 8 / $weights:.2f}')")
  closed=$(python3 -c "print(f'{100*($q-$c)/($q-$fp):.0f} %')")
  printf '%-6s %10.4f %10.4f %12.4f %14s %10sK %10s\n' "INT$bits" "$fp" "$q" "$c" "$closed" $((adapter_bytes / 2 / 1024)) "$eff"
done
echo "INT2 ablation (same settings):"
lrec "kl-only" "$out/int2" int2 --ce-weight 0
lrec "ce-only" "$out/int2" int2 --kl-weight 0
lrec "online" "$out/int2" int2 --teacher-top-k 0
printf '  KL only   %.4f\n  CE only   %.4f\n  KL + CE   %.4f\n' "$(ppl "$out/int2" --adapters "$out/kl-only/adapter")" \
  "$(ppl "$out/int2" --adapters "$out/ce-only/adapter")" "$(ppl "$out/int2" --adapters "$out/lrec2/adapter")"
printf '  KL + CE, online teacher (full distribution instead of the top-64 cache)   %.4f\n' \
  "$(ppl "$out/int2" --adapters "$out/online/adapter")"
