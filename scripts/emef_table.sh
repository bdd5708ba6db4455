#!/usr/bin/env bash
# The paper's Table 1 for LowBit: peak VRAM and time per Alpaca epoch of LoRA fine-tuning (r 8 on q_proj/v_proj,
# seqlen 256) for FP16+LoRA and INT8/INT4/INT3/INT2 EMEF at micro-batch 1, 24 and 48, on a LLaMA-7B-shaped model
# with random weights (values do not matter for time and memory; shapes do).
#   scripts/emef_table.sh [OUT_DIR]              on the GPU machine: measures (3 steps per cell)
#   EMEF_ESTIMATE_ONLY=1 scripts/emef_table.sh    anywhere: the memory estimates only, from the config files
# Environment: EMEF_LAYERS (32), EMEF_DEVICE (cuda), EMEF_MICRO_BATCHES ("1 24 48"), EMEF_STEPS (3),
# EMEF_FP16_MODEL (an existing 7B-shaped fp16 model folder to reuse).
# Time per epoch is extrapolated from the measured steps to Alpaca's 52,002 records (marked so in the table).
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${LOWBIT_BUILD:-$repo_root/build/${LOWBIT_PRESET:-default}}"
lowbit="$build/app/lowbit"
python="$repo_root/.venv/bin/python"
testdata="$repo_root/../shared/testdata"
out="${1:-$build/emef_table}"
layers="${EMEF_LAYERS:-32}" device="${EMEF_DEVICE:-cuda}" steps="${EMEF_STEPS:-3}"
micro_batches="${EMEF_MICRO_BATCHES:-1 24 48}"
tokenizer="$testdata/models/stories260K-hf/tokenizer.model"  # its 512 ids are valid ids of the 32000-token model
mkdir -p "$out"

if [ "${EMEF_ESTIMATE_ONLY:-0}" = 1 ]; then
  # Config files only: what `lowbit finetune --estimate` needs.
  "$python" - "$out" "$layers" <<'PY'
import json, os, sys
out, layers = sys.argv[1], int(sys.argv[2])
base = dict(architectures=["LlamaForCausalLM"], model_type="llama", hidden_size=4096, intermediate_size=11008,
            num_attention_heads=32, num_key_value_heads=32, num_hidden_layers=layers, vocab_size=32000,
            max_position_embeddings=2048, rms_norm_eps=1e-6, rope_theta=10000.0, tie_word_embeddings=False,
            torch_dtype="float16", bos_token_id=1, eos_token_id=2)
for name, bits in [("fp16", None), ("int8", 8), ("int4", 4), ("int3", 3), ("int2", 2)]:
    os.makedirs(f"{out}/{name}", exist_ok=True)
    config = dict(base)
    if bits:
        config["quantization_config"] = dict(quant_method="gptq", bits=bits, group_size=128, desc_act=False,
                                             sym=True, true_sequential=True, checkpoint_format="gptq")
    json.dump(config, open(f"{out}/{name}/config.json", "w"), indent=1)
PY
  echo "LLaMA-7B shape ($layers layers), LoRA r 8 on q_proj/v_proj, seqlen 256, gradient checkpointing:"
  echo "ESTIMATE (lowbit finetune --estimate; not measured), allocator peak without the CUDA context (~0.5 GiB)"
  printf '%-8s' model; for mb in $micro_batches; do printf '%16s' "micro-batch $mb"; done; echo
  for name in fp16 int8 int4 int3 int2; do
    printf '%-8s' "$name"
    for mb in $micro_batches; do
      est=$("$lowbit" finetune "$out/$name" --cutoff 256 --micro-batch "$mb" --batch "$mb" \
        --device cuda --estimate | sed -n 's/^memory estimate for training on cuda: \([0-9.]* [KMG]iB\).*/\1/p')
      printf '%16s' "$est"
    done
    echo
  done
  exit 0
fi

text="$testdata/train_text/tinystories_val_sample.txt"
[ -f "$tokenizer" ] && [ -f "$text" ] || { echo "emef_table: needs $tokenizer and $text" >&2; exit 1; }
# Records long enough that every example fills the 256-token cutoff (trained on inputs: every token counts).
"$python" - "$text" "$out/long.json" <<'PY'
import json, sys
words = open(sys.argv[1], encoding="utf-8").read().split()
records = [{"instruction": "Continue the story.", "input": "", "output": " ".join(words[i:i + 400])}
           for i in range(0, 400 * 600, 400)]
json.dump(records, open(sys.argv[2], "w"))
PY
# EMEF_FP16_MODEL: reuse a 7B-shaped fp16 model already made (e.g. by scripts/lrec_7b.sh).
if [ -n "${EMEF_FP16_MODEL:-}" ] && [ ! -e "$out/fp16" ]; then ln -s "$(cd "$EMEF_FP16_MODEL" && pwd)" "$out/fp16"; fi
[ -d "$out/fp16" ] || "$python" "$repo_root/scripts/make_random_llama.py" "$out/fp16" --shape 7b --layers "$layers" \
  --tokenizer "$tokenizer"
for bits in 8 4 3 2; do
  [ -d "$out/int$bits" ] || "$lowbit" quantize "$out/fp16" --bits "$bits" --group-size 128 --method rtn \
    --device "$device" --out "$out/int$bits" > "$out/quantize$bits.log" 2>&1
done
echo "LLaMA-7B-shaped random model ($layers layers), LoRA r 8 q_proj/v_proj, seqlen 256, gradient checkpointing,"
echo "$steps steps per cell; peak VRAM measured (allocator peak, CUDA context not included); time per epoch"
echo "EXTRAPOLATED from the measured steps to Alpaca's 52,002 records"
printf '%-8s %-12s %14s %14s %12s %18s\n' model micro-batch "VRAM peak" "VRAM estimate" "s/step" "epoch (extrap.)"
for name in fp16 int8 int4 int3 int2; do
  for mb in $micro_batches; do
    run="$out/run-$name-$mb"; rm -rf "$run"
    if ! "$lowbit" finetune "$out/$name" --data "$out/long.json" --train-on-inputs --cutoff 256 --micro-batch "$mb" \
        --batch "$mb" --steps "$steps" --eval-examples 1 --val 1 --eval-every 1000 --checkpoint-every 1000 \
        --device "$device" --out "$run" > "$run.log" 2>&1; then
      printf '%-8s %-12s %14s\n' "$name" "$mb" "FAIL (see $run.log)"; continue
    fi
    peak=$(sed -n 's/^VRAM: estimated \(.*\), measured peak \(.*\)$/\2/p' "$run.log")
    estimate=$(sed -n 's/^VRAM: estimated \(.*\), measured peak \(.*\)$/\1/p' "$run.log")
    [ -n "$peak" ] || peak="n/a ($device)"
    [ -n "$estimate" ] || estimate=$(sed -n 's/^memory: estimated \([0-9.]* [KMG]iB\).*/\1/p' "$run.log")
    per_step=$(sed -n 's/^time per step \([0-9.]*\) s.*/\1/p' "$run.log")
    epoch=$(python3 -c "s = $per_step * 52002 / $mb; print(f'{s / 3600:.1f} h')")
    printf '%-8s %-12s %14s %14s %12s %18s\n' "$name" "$mb" "$peak" "$estimate" "$per_step" "$epoch"
  done
done
