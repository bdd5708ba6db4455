#!/usr/bin/env bash
# Files made to hurt and two writers at once, through the CLI as a user meets them: every case ends with exit 3
# and a message that names the file or folder and what to do; no crash, no folder written by two processes.
# Usage: hostile_files.sh PATH_TO_LOWBIT TESTDATA_DIR
set -u
lowbit="$1" testdata="$2"
model="$testdata/models/stories260K-hf"
alpaca="$testdata/alpaca/alpaca_data_1k.json"
[ -d "$model" ] && [ -f "$alpaca" ] || { echo "SKIP: $model or $alpaca not found (shared test assets missing)"; exit 77; }
scratch="$(mktemp -d)"
trap 'kill -9 $(jobs -p) 2>/dev/null; rm -rf "$scratch"' EXIT
source "$(dirname "$0")/check.sh"

# The probe's model.safetensors: a header of 200,000 nested objects (1.4 MB). It crashed `info` with SIGSEGV.
mkdir -p "$scratch/nested"
cp "$model/config.json" "$model/tokenizer.model" "$scratch/nested/"
python3 - "$scratch/nested/model.safetensors" <<'PY'
import struct, sys
header = ('{"a":' * 200000 + "1" + "}" * 200000).encode()
header += b" " * (-len(header) % 8)
open(sys.argv[1], "wb").write(struct.pack("<Q", len(header)) + header)
PY
out="$("$lowbit" info "$scratch/nested" 2>&1)"; rc=$?
check "info on a header of 200,000 nested objects" 3 "$rc" "$out" \
  'model.safetensors: the header nests objects or lists more than 8 levels deep'
out="$("$lowbit" generate "$scratch/nested" --prompt hi --max-new-tokens 2 --device cpu 2>&1)"; rc=$?
check "generate on the same folder" 3 "$rc" "$out" 'the header nests objects or lists'

edited_config() {  # edited_config NAME PYTHON_EXPRESSION_ON_c
  mkdir -p "$scratch/$1"
  cp "$model/model.safetensors" "$model/tokenizer.model" "$scratch/$1/"
  python3 - "$model/config.json" "$scratch/$1/config.json" "$2" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
exec(sys.argv[3])
json.dump(c, open(sys.argv[2], "w"))
PY
}
edited_config huge 'c["hidden_size"] = 10**12'
out="$("$lowbit" info "$scratch/huge" 2>&1)"; rc=$?
check "info refuses hidden_size 10^12 instead of printing 7390 TiB" 3 "$rc" "$out" \
  "field 'hidden_size' is 1000000000000, outside 1 to 131072"
edited_config eps 'c["rms_norm_eps"] = -1'
out="$("$lowbit" generate "$scratch/eps" --prompt hi --max-new-tokens 2 --device cpu 2>&1)"; rc=$?
check "generate refuses rms_norm_eps -1 instead of sampling NaN" 3 "$rc" "$out" "field 'rms_norm_eps' is -1"

# Two finetunes into one --out: the second is refused with the first one's pid while the first runs on.
"$lowbit" quantize "$model" --method rtn --bits 4 --group-size 32 --device cpu --out "$scratch/int4" > /dev/null 2>&1
long=(--steps 40 --batch 4 --micro-batch 2 --cutoff 128 --eval-examples 4 --device cpu)
"$lowbit" finetune "$scratch/int4" --data "$alpaca" "${long[@]}" --out "$scratch/run" > "$scratch/first.log" 2>&1 &
first=$!
for _ in $(seq 200); do [ -f "$scratch/run/.lowbit.lock" ] && break; sleep 0.05; done
out="$("$lowbit" finetune "$scratch/int4" --data "$alpaca" "${long[@]}" --out "$scratch/run" 2>&1)"; rc=$?
check "a second finetune into a folder being written is refused with the holder's pid" 3 "$rc" "$out" \
  "run: is in use: a run is being written there by another LowBit process \(pid $first\)"
out="$("$lowbit" resume "$scratch/run" --device cpu 2>&1)"; rc=$?
check "so is a resume of the run while it goes on" 3 "$rc" "$out" "is in use: .*\(pid $first\)"
wait "$first"; rc=$?
check "the first finetune finishes undisturbed" 0 "$rc" "$(cat "$scratch/first.log")" 'fine-tuned .* 40 steps'
[ "$(grep -c '"step": 1,' "$scratch/run/metrics.jsonl")" -le 1 ] ||
  { echo "FAIL: metrics.jsonl holds a step twice"; failures=$((failures + 1)); }

# A holder killed with SIGKILL holds nothing: the kernel released its lock.
"$lowbit" finetune "$scratch/int4" --data "$alpaca" "${long[@]}" --out "$scratch/killed" > /dev/null 2>&1 &
victim=$!
for _ in $(seq 200); do [ -f "$scratch/killed/.lowbit.lock" ] && break; sleep 0.05; done
sleep 1
kill -9 "$victim"; wait "$victim" 2>/dev/null
out="$("$lowbit" resume "$scratch/killed" --device cpu 2>&1)"
if grep -q 'is in use' <<<"$out"; then echo "FAIL: a killed run's folder is still locked"; failures=$((failures + 1));
else echo "ok: a killed run's folder is not locked"; fi

# Two quantizations into one --out: one model is written, the other process is refused (never both "succeed").
"$lowbit" quantize "$model" --bits 4 --group-size 32 --calib "$testdata/eval/wikitext2/wiki.test.tokens" --seqlen 256 --device cpu \
  --out "$scratch/q" > "$scratch/qa.log" 2>&1 &
qa=$!
"$lowbit" quantize "$model" --method rtn --bits 8 --group-size 32 --device cpu --out "$scratch/q" > "$scratch/qb.log" 2>&1 &
qb=$!
wait "$qa"; rc_a=$?; wait "$qb"; rc_b=$?
if [ $((rc_a + rc_b)) -eq 3 ] && [ $((rc_a * rc_b)) -eq 0 ]; then
  echo "ok: of two quantizations into one folder, one wrote it and the other was refused (exits $rc_a, $rc_b)"
  grep -hE 'in use|appeared while|already exists' "$scratch/qa.log" "$scratch/qb.log" > /dev/null ||
    { echo "FAIL: the refusal does not say why"; cat "$scratch/qa.log" "$scratch/qb.log"; failures=$((failures + 1)); }
  "$lowbit" info "$scratch/q" > /dev/null 2>&1 || { echo "FAIL: the written model does not load"; failures=$((failures + 1)); }
else
  echo "FAIL: two quantizations into one folder exited $rc_a and $rc_b"; cat "$scratch/qa.log" "$scratch/qb.log"
  failures=$((failures + 1))
fi

# A run started with relative paths resumes from any directory, and refuses another model put at the same path.
mkdir -p "$scratch/rel"
(cd "$scratch/rel" && "$lowbit" quantize "$model" --method rtn --bits 4 --group-size 32 --device cpu --out q > /dev/null 2>&1 &&
  "$lowbit" correct q --teacher "$model" --calib "$testdata/train_text/tinystories_val_sample.txt" --steps 4 --seqlen 64 \
    --samples 8 --micro-batch 2 --rank 4 --eval-every 2 --checkpoint-every 2 --eval-windows 2 --device cpu --out run \
    > /dev/null 2>&1)
rm -rf "$scratch/rel/run/adapter" "$scratch/rel/run/checkpoints/step-000004"
out="$(cd / && "$lowbit" resume "$scratch/rel/run" --device cpu 2>&1)"; rc=$?
check "a run started with relative paths resumes from another directory" 0 "$rc" "$out" 'resuming from .*step-000002'
rm -rf "$scratch/rel/run/adapter" "$scratch/rel/run/checkpoints/step-000004" "$scratch/rel/q"
"$lowbit" quantize "$model" --method rtn --bits 8 --group-size 32 --device cpu --out "$scratch/rel/q" > /dev/null 2>&1
out="$("$lowbit" resume "$scratch/rel/run" --device cpu 2>&1)"; rc=$?
check "resume refuses another model put where the run's was" 3 "$rc" "$out" \
  "run: was started from another model than the one now at .*/rel/q \(student_dir\)"

[ "$failures" -eq 0 ] || { echo "$failures check(s) failed"; exit 1; }
