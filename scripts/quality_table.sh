#!/usr/bin/env bash
# The correction quality table: GPTQ INT2 g64, INT3 g128, INT4 g128 (act-order, calibrated on C4) × {no correction,
# LREC (KL + CE, the INT2.1 paper), RILQ (hidden-state MSE + CE, AAAI 2025)}, then an INT2 rank sweep for both
# recipes. Evaluated on text never used for calibration: WikiText-2 test under both protocols (gptq: disjoint
# windows; int21: the INT2.1 paper's sliding windows) and PTB test. Also effective bits (adapter at 16 bits),
# training time and peak memory of each correction.
#   scripts/quality_table.sh [MODEL] [OUT_DIR]      (default: SmolLM2-135M-Instruct as ctest imports it)
# Both recipes see the same calibration windows and the same token budget (steps × accumulation × micro-batch ×
# seqlen) and LoRA r 16 on all projections; each keeps its own loss weights, α and early stopping. The budgets
# below fit a 2-core machine in about an hour; raise them through the environment on a GPU:
#   QT_SEQLEN (256) QT_WINDOWS (64 calibration windows) QT_STEPS (32) QT_ACCUMULATION (2) QT_EVAL_WINDOWS (16)
#   QT_RANKS ("4 8 16 32") QT_DEVICE (cpu) QT_LR_SCALE (10)
# QT_ONLY=sweep runs just the rank sweep (every rank in QT_RANKS, 16 included), on OUT_DIR/int2 when an earlier
# run left it there, so that a sweep point can be added or repeated without redoing the whole table.
# QT_LR_SCALE multiplies each recipe's own learning rate (LREC 3e-5 / 2e-5 / 1e-5 for 2 / 3 / 4 bits, RILQ 1e-4, as
# `lowbit correct --estimate` reports them): those are tuned for thousands of steps on 7B models, and in a budget of 32 steps
# they barely move a 135M model (INT2, 12 steps: held-out PPL 2.6e5 → 2.0e5 at LREC's, 2.1e5 at RILQ's; at 10×
# 2.3e4 and 1.1e4). Set it to 1 for the recipes exactly as the wizard runs them.
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
lowbit="$repo_root/build/default/app/lowbit"
testdata="$repo_root/../shared/testdata"
model="${1:-$repo_root/build/default/models/SmolLM2-135M-Instruct}"
out="${2:-$repo_root/build/quality_table}"
seqlen="${QT_SEQLEN:-256}" windows="${QT_WINDOWS:-64}" steps="${QT_STEPS:-32}" accumulation="${QT_ACCUMULATION:-2}"
eval_windows="${QT_EVAL_WINDOWS:-16}" ranks="${QT_RANKS:-4 8 16 32}" device="${QT_DEVICE:-cpu}"
lr_scale="${QT_LR_SCALE:-10}" only="${QT_ONLY:-all}"
calibration="$testdata/eval/c4/c4_demo.jsonl"
wikitext="$testdata/eval/wikitext2/wiki.test.raw.nonempty-crlf"
ptb="$testdata/eval/ptb/ptb.test.txt"
for needed in "$lowbit" "$model/config.json" "$calibration" "$wikitext" "$ptb"; do
  [ -e "$needed" ] || { echo "quality_table: $needed is missing (build first; scripts/setup.sh fetches SmolLM2, ctest imports it)" >&2; exit 3; }
done
case "$only" in
  all) rm -rf "$out" && mkdir -p "$out" ;;
  sweep) mkdir -p "$out" ;;
  *) echo "quality_table: QT_ONLY is '$only'; use 'all' (the default) or 'sweep'" >&2; exit 2 ;;
esac

# ppl MODEL_DIR PROTOCOL TEXT [--adapters DIR]
ppl() {
  local dir="$1" protocol="$2" text="$3"; shift 3
  "$lowbit" eval "$dir" --text "$text" --protocol "$protocol" --seqlen 512 --max-windows "$eval_windows" \
    --batch-size 4 --device "$device" "$@" 2>/dev/null | awk '/^PPL/ {printf "%.2f", $2}'
}
# Three numbers: WikiText-2 gptq, WikiText-2 int21, PTB gptq; the options (--adapters DIR) come last.
evaluate_with() { local dir="$1"; shift; printf '%s %s %s' "$(ppl "$dir" gptq "$wikitext" "$@")" \
  "$(ppl "$dir" int21 "$wikitext" "$@")" "$(ppl "$dir" gptq "$ptb" "$@")"; }
recipe_lr() {  # recipe_lr QUANT PRESET RECIPE: the learning rate the recipe starts with, as `lowbit correct` sets it
  "$lowbit" correct "$1" --teacher "$model" --calib "$calibration" --preset "$2" --loss "$3" --device "$device" \
    --estimate | sed -n 's/^settings: //p' | python3 -c 'import json, sys; print(json.load(sys.stdin)["lr"])'
}
correct() {  # correct NAME QUANT BITS RECIPE RANK
  local name="$1" quant="$2" bits="$3" recipe="$4" rank="$5"
  local preset="int$(( bits > 4 ? 4 : bits ))"
  local lr; lr=$(python3 -c "print(f'{$(recipe_lr "$quant" "$preset" "$recipe") * $lr_scale:g}')")
  local started; started=$(date +%s)
  rm -rf "${out:?}/$name"  # this script's own earlier run of the same point
  "$lowbit" correct "$quant" --teacher "$model" --calib "$calibration" --out "$out/$name" --preset "$preset" \
    --loss "$recipe" --rank "$rank" $([ "$recipe" = lrec ] && echo --alpha $((rank * 4))) --lr "$lr" --steps "$steps" \
    --accumulation "$accumulation" --micro-batch 1 --seqlen "$seqlen" --samples "$windows" --eval-windows 8 \
    --eval-every $(( steps / 4 > 0 ? steps / 4 : 1 )) --checkpoint-every "$steps" --device "$device" \
    > "$out/$name.log" 2>&1
  echo $(( $(date +%s) - started )) > "$out/$name.seconds"
}
peak_memory() {  # the run's largest RAM or GPU memory, from its metrics.jsonl
  python3 - "$1/metrics.jsonl" <<'PY'
import json, sys
peak = 0
for line in open(sys.argv[1]):
    record = json.loads(line)
    peak = max(peak, record.get("vram/peak_bytes", 0), record.get("ram/used_bytes", 0))
print(f"{peak / 2**20:.0f} MiB")
PY
}
projection_weights=$(python3 -c "import json; c = json.load(open('$model/config.json')); h = c['hidden_size']; \
hd = c.get('head_dim') or h // c['num_attention_heads']; kv = c.get('num_key_value_heads', c['num_attention_heads']); \
print(c['num_hidden_layers'] * (2 * h * c['num_attention_heads'] * hd + 2 * h * kv * hd + 3 * h * c['intermediate_size']))")
effective_bits() {  # effective_bits QUANT_LOG [ADAPTER_DIR]
  local bpw; bpw=$(grep -oE '[0-9.]+ bits per weight' "$1" | head -1 | cut -d' ' -f1)
  local adapter_bytes=0
  [ -n "${2:-}" ] && adapter_bytes=$(stat -c %s "$2/adapter_model.safetensors")
  python3 -c "print(f'{$bpw + $adapter_bytes / 2 * 8 / $projection_weights:.2f}')"
}
closed() {  # closed FP GPTQ CORRECTED: the log-PPL gap closed
  python3 -c "import math; print(f'{(math.log($2) - math.log($3)) / (math.log($2) - math.log($1)):.2f}')"
}
row() { printf '%-22s %9s %9s %9s %7s %6s %8s %9s\n' "$@"; }

quantize() {  # quantize BITS GROUP: GPTQ with act-order, calibrated on the same windows as the corrections
  "$lowbit" quantize "$model" --bits "$1" --group-size "$2" --act-order --calib "$calibration" \
    --nsamples "$windows" --seqlen "$seqlen" --device "$device" --out "$out/int$1" > "$out/quantize$1.log" 2>&1
}
quality_table() {
  printf 'model %s; calibration %s (%s windows × %s tokens); LoRA r 16 on all projections; %s steps × %s micro-batches; each recipe at %s × its learning rate\n' \
    "$(basename "$model")" "$(basename "$calibration")" "$windows" "$seqlen" "$steps" "$accumulation" "$lr_scale"
  printf 'evaluation: the first %s windows of 512 tokens; WikiText-2 test (gptq and int21 protocols), PTB test\n' "$eval_windows"
  row "" "wiki gptq" "wiki int21" "ptb" "closed" "bits" "time" "peak"
  read -r fp_wiki fp_wiki21 fp_ptb <<< "$(evaluate_with "$model")"
  row "full precision" "$fp_wiki" "$fp_wiki21" "$fp_ptb" "" "16" "" ""
  for spec in "2 64" "3 128" "4 128"; do
    read -r bits group <<< "$spec"
    quant="$out/int$bits"
    quantize "$bits" "$group"
    read -r q_wiki q_wiki21 q_ptb <<< "$(evaluate_with "$quant")"
    row "GPTQ INT$bits g$group" "$q_wiki" "$q_wiki21" "$q_ptb" "0" "$(effective_bits "$out/quantize$bits.log")" "" ""
    for recipe in lrec rilq; do
      correct "$recipe$bits" "$quant" "$bits" "$recipe" 16
      read -r c_wiki c_wiki21 c_ptb <<< "$(evaluate_with "$quant" --adapters "$out/$recipe$bits/adapter")"
      row "  + ${recipe^^}" "$c_wiki" "$c_wiki21" "$c_ptb" "$(closed "$fp_wiki" "$q_wiki" "$c_wiki")" \
        "$(effective_bits "$out/quantize$bits.log" "$out/$recipe$bits/adapter")" "$(cat "$out/$recipe$bits.seconds") s" \
        "$(peak_memory "$out/$recipe$bits")"
      [ "$bits" = 2 ] && int2_ppl[$recipe]="$c_wiki"
    done
    [ "$bits" = 2 ] && int2_ppl[none]="$q_wiki"
  done
}
rank_sweep() {
  echo "INT2 g64 rank sweep (WikiText-2, gptq protocol; log-PPL gap closed):"
  printf '%-6s %16s %16s\n' rank LREC RILQ
  for rank in $ranks; do
    line=$(printf '%-6s' "$rank")
    for recipe in lrec rilq; do
      if [ "$only" = all ] && [ "$rank" = 16 ]; then c="${int2_ppl[$recipe]}"; else
        correct "$recipe-r$rank" "$out/int2" 2 "$recipe" "$rank"
        c=$(ppl "$out/int2" gptq "$wikitext" --adapters "$out/$recipe-r$rank/adapter")
      fi
      line="$line $(printf '%9s (%s)' "$c" "$(closed "$fp_wiki" "${int2_ppl[none]}" "$c")")"
    done
    echo "$line"
  done
}

declare -A int2_ppl
if [ "$only" = all ]; then
  quality_table
else
  [ -e "$out/int2/config.json" ] && [ -e "$out/quantize2.log" ] || quantize 2 64
  fp_wiki=$(ppl "$model" gptq "$wikitext")
  int2_ppl[none]=$(ppl "$out/int2" gptq "$wikitext")
  printf 'model %s; full precision %s, GPTQ INT2 g64 %s (WikiText-2, gptq protocol)\n' "$(basename "$model")" \
    "$fp_wiki" "${int2_ppl[none]}"
fi
rank_sweep
