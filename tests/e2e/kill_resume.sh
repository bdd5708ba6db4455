#!/usr/bin/env bash
# SIGKILL at random moments: `lowbit quantize`, `correct` and `finetune` on stories260K are killed KILLS times each
# (default 20) at a moment drawn uniformly over the lines an uninterrupted run prints (calibration, teacher cache,
# steps, checkpoint and adapter writes), then finished the way a user would: quantize is run again, a run is resumed
# (`lowbit resume`), or started again when nothing of it was kept. Checked every time: no folder is left that
# loads but is wrong, and the final model or adapter is byte-identical to the uninterrupted run's.
# Prints one table row per command. Usage: kill_resume.sh PATH_TO_LOWBIT TESTDATA_DIR [KILLS] [SEED]
set -u
lowbit="$1" testdata="$2" kills="${3:-20}"
RANDOM="${4:-20261204}"
model="$testdata/models/stories260K-hf"
text="$testdata/train_text/tinystories_val_sample.txt"
alpaca="$testdata/alpaca/alpaca_data_1k.json"
[ -d "$model" ] && [ -f "$text" ] && [ -f "$alpaca" ] || { echo "SKIP: shared test assets missing"; exit 77; }
scratch="$(mktemp -d)"
trap 'kill -9 $(jobs -p) 2>/dev/null; rm -rf "$scratch"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

quantize=(quantize "$model" --bits 4 --group-size 32 --calib "$text" --seqlen 128 --nsamples 16 --device cpu)
correct=(correct "$scratch/q4" --teacher "$model" --calib "$text" --steps 6 --seqlen 64 --samples 8 --micro-batch 2
         --rank 4 --eval-every 2 --checkpoint-every 1 --eval-windows 2 --device cpu)
finetune=(finetune "$scratch/q4" --data "$alpaca" --steps 6 --batch 4 --micro-batch 2 --cutoff 128 --eval-examples 4
          --checkpoint-every 1 --device cpu)

now_ms() { date +%s%3N; }
# An uninterrupted run of each: the reference result and the time over which kill moments are drawn.
reference() {  # reference NAME OUT COMMAND...
  local name="$1" out="$2"; shift 2
  local start; start=$(now_ms)
  "$lowbit" "$@" --out "$out" > "$scratch/$name.ref.log" 2>&1 || { cat "$scratch/$name.ref.log"; fail "$name reference run"; exit 1; }
  echo $(( $(now_ms) - start ))
}
quantize_ms=$(reference quantize "$scratch/q4" "${quantize[@]}")
"$lowbit" "${quantize[@]}" --out "$scratch/q4-again" > /dev/null 2>&1
cmp -s "$scratch/q4/model.safetensors" "$scratch/q4-again/model.safetensors" || fail "quantize is not reproducible byte for byte"
correct_ms=$(reference correct "$scratch/correct-ref" "${correct[@]}")
finetune_ms=$(reference finetune "$scratch/finetune-ref" "${finetune[@]}")

# What the folder shows right after the kill: the moment it was killed in, as far as the files tell.
moment_of() {  # moment_of OUT
  local out="$1"
  if [ -f "$out/adapter/adapter_model.safetensors" ]; then echo "after the adapter"
  elif [ -f "$out/model.safetensors" ]; then echo "after the model"
  elif [ -d "$out.partial" ] && [ ! -e "$out" ]; then echo "writing the model"
  elif [ ! -e "$out" ]; then echo "before any file"
  elif compgen -G "$out/checkpoints/step-*" > /dev/null; then echo "during steps"
  elif [ -f "$out/config.json" ]; then echo "before the first checkpoint"
  else echo "before its settings"; fi
}

table=()
trial() {  # trial NAME REFERENCE_FILE RESULT_RELATIVE_PATH DURATION_MS COMMAND...
  local name="$1" reference_file="$2" result="$3" duration="$4"; shift 4
  local reference_lines; reference_lines=$(wc -l < "$scratch/$name.ref.log")
  declare -A moments=()
  local identical=0
  for i in $(seq "$kills"); do
    local out="$scratch/$name-$i"
    # The moment: after a random number of the lines the uninterrupted run printed (its progress through
    # calibration, caching, steps and writes, whatever the machine's load), then 0–90 ms more.
    local lines=$(( RANDOM % (reference_lines + 1) ))
    local delay="$lines lines"
    : > "$out.killed.log"
    "$lowbit" "$@" --out "$out" >> "$out.killed.log" 2>&1 &
    local pid=$!
    while kill -0 "$pid" 2>/dev/null && [ "$(wc -l < "$out.killed.log")" -lt "$lines" ]; do sleep 0.01; done
    sleep "0.0$(( RANDOM % 10 ))"
    kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
    local moment; moment="$(moment_of "$out")"
    moments["$moment"]=$(( ${moments["$moment"]:-0} + 1 ))
    # A folder that is there must be either complete and right, or recognisably unfinished.
    if [ "$name" = quantize ] && [ -e "$out" ]; then
      "$lowbit" info "$out" > /dev/null 2>&1 || fail "$name #$i: a killed quantization left $out, which does not load"
    fi
    local finish_log="$out.finish.log" rc=0
    if [ "$name" = quantize ]; then
      [ -e "$out" ] || { "$lowbit" "$@" --out "$out" > "$finish_log" 2>&1 || rc=$?; }
    elif [ -f "$out/config.json" ]; then
      if [ ! -f "$out/$result" ]; then "$lowbit" resume "$out" --device cpu > "$finish_log" 2>&1 || rc=$?; fi
    else
      "$lowbit" "$@" --out "$out" > "$finish_log" 2>&1 || rc=$?
    fi
    if [ "$rc" -ne 0 ]; then fail "$name #$i (killed after ${delay}, $moment): finishing exited $rc"; cat "$finish_log"; continue; fi
    [ ! -e "$out.partial" ] || fail "$name #$i: $out.partial is left over"
    if cmp -s "$reference_file" "$out/$result"; then identical=$((identical + 1));
    else fail "$name #$i (killed after ${delay}, $moment): the result differs from the uninterrupted run's"; fi
    rm -rf "$out" "$out.partial"
  done
  local seen=""
  for m in "${!moments[@]}"; do seen+="${seen:+; }$m ${moments[$m]}"; done
  table+=("$(printf '| %-8s | %5d | %7d ms | %s | %d of %d |' "$name" "$kills" "$duration" "$seen" "$identical" "$kills")")
}

trial quantize "$scratch/q4/model.safetensors" model.safetensors "$quantize_ms" "${quantize[@]}"
trial correct "$scratch/correct-ref/adapter/adapter_model.safetensors" adapter/adapter_model.safetensors "$correct_ms" "${correct[@]}"
trial finetune "$scratch/finetune-ref/adapter/adapter_model.safetensors" adapter/adapter_model.safetensors "$finetune_ms" "${finetune[@]}"

echo
echo "| command  | kills | run length | killed (as the folder showed it)          | byte-identical result |"
echo "|----------|------:|-----------:|-------------------------------------------|-----------------------|"
printf '%s\n' "${table[@]}"
[ "$failures" -eq 0 ] || { echo "$failures check(s) failed"; exit 1; }
