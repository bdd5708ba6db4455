#!/usr/bin/env bash
# The reliability probe's findings, each reproduced through the CLI on stories260K: two writers raced LOOPS times
# with random delays, a run killed before its first checkpoint, damaged checkpoints, bad environments that used to
# be "unexpected error (please report it)", and one reading of a run's state. Usage:
#   probe_findings.sh PATH_TO_LOWBIT TESTDATA_DIR [LOOPS]
set -u
lowbit="$1" testdata="$2" loops="${3:-20}"
model="$testdata/models/stories260K-hf"
text="$testdata/train_text/tinystories_val_sample.txt"
alpaca="$testdata/alpaca/alpaca_data_1k.json"
[ -d "$model" ] && [ -f "$text" ] && [ -f "$alpaca" ] || { echo "SKIP: shared test assets missing"; exit 77; }
scratch="$(mktemp -d)"
cleanup() {
  kill -9 $(jobs -p) 2>/dev/null
  mountpoint -q "$scratch/ro" 2>/dev/null && umount "$scratch/ro"
  rm -rf "$scratch"
}
trap cleanup EXIT
source "$(dirname "$0")/check.sh"
random_delay() { printf '0.%03d' $(( RANDOM % 500 )); }

"$lowbit" quantize "$model" --method rtn --bits 4 --group-size 32 --device cpu --out "$scratch/q4" > /dev/null 2>&1
correct=(correct "$scratch/q4" --teacher "$model" --calib "$text" --steps 4 --seqlen 64 --samples 8 --micro-batch 2
         --rank 4 --eval-every 2 --checkpoint-every 1 --eval-windows 2 --device cpu)
finetune=(finetune "$scratch/q4" --data "$alpaca" --steps 12 --batch 4 --micro-batch 2 --cutoff 128 --eval-examples 4
          --device cpu)
out="$("$lowbit" "${correct[@]}" --out "$scratch/reference" 2>&1)"; rc=$?
check "correct runs" 0 "$rc" "$out" 'corrected'
[ "$(grep -c '^wrote adapter' <<<"$out")" -eq 1 ] && echo "ok: 'wrote adapter' is printed once" ||
  { echo "FAIL: 'wrote adapter' is printed $(grep -c '^wrote adapter' <<<"$out") times"; failures=$((failures + 1)); }
reference_adapter="$scratch/reference/adapter/adapter_model.safetensors"

# 2. Two writers into one folder, LOOPS times each, the second started 0–500 ms after the first: exactly one
# succeeds, the other is refused with exit 3 and says why (the holder's pid while it runs).
race() {  # race NAME FIRST_COMMAND... -- SECOND_COMMAND...
  local name="$1"; shift
  local first=() second=()
  while [ "$1" != "--" ]; do first+=("$1"); shift; done; shift
  second=("$@")
  local ok=0 refused_with_pid=0
  for i in $(seq "$loops"); do
    prepare_race "$i"
    "$lowbit" "${first[@]}" > "$scratch/a.log" 2>&1 &
    local a=$!
    sleep "$(random_delay)"
    "$lowbit" "${second[@]}" > "$scratch/b.log" 2>&1; local rc_b=$?
    wait "$a"; local rc_a=$?
    if [ $((rc_a + rc_b)) -eq 3 ] && [ $((rc_a * rc_b)) -eq 0 ]; then
      ok=$((ok + 1))
      grep -q "pid $a)" "$scratch/b.log" && refused_with_pid=$((refused_with_pid + 1))
    else
      echo "FAIL: $name race $i: exits $rc_a and $rc_b (one 0 and one 3 expected)"; tail -3 "$scratch/a.log" "$scratch/b.log"
      failures=$((failures + 1))
    fi
  done
  echo "ok: $name: $ok of $loops races had one writer and one refusal ($refused_with_pid refused with the holder's pid)"
}
prepare_race() { rm -rf "$scratch/race" "$scratch/race.partial"; }
race "two finetunes" "${finetune[@]}" --out "$scratch/race" -- "${finetune[@]}" --out "$scratch/race"
race "two quantizations" quantize "$model" --bits 4 --group-size 32 --calib "$text" --seqlen 128 --nsamples 16 \
  --device cpu --out "$scratch/race" -- quantize "$model" --method rtn --bits 8 --device cpu --out "$scratch/race"
prepare_race() {  # a run stopped after its second checkpoint, resumed twice at once
  rm -rf "$scratch/race"; cp -r "$scratch/reference" "$scratch/race"
  rm -rf "$scratch/race/adapter" "$scratch/race/checkpoints/step-000003" "$scratch/race/checkpoints/step-000004"
  sed -i 's/"finished"/"running"/; s/"pid": [0-9]*/"pid": 999999999/' "$scratch/race/run_state.json"
}
race "two resumes" resume "$scratch/race" --device cpu -- resume "$scratch/race" --device cpu

# 4. Killed before its first checkpoint (only its settings written): resume trains from step 0, to the same adapter.
mkdir -p "$scratch/early"
cp "$scratch/reference/config.json" "$scratch/early/"
echo '{"state": "running", "pid": 999999999}' > "$scratch/early/run_state.json"
echo '{}' > "$scratch/early/run_state.json.tmp"; : > "$scratch/early/teacher_cache.safetensors.tmp"
out="$("$lowbit" resume "$scratch/early" --device cpu 2>&1)"; rc=$?
check "a run killed before its first checkpoint resumes from step 0" 0 "$rc" "$out" 'training again from step 0'
cmp -s "$reference_adapter" "$scratch/early/adapter/adapter_model.safetensors" && echo "ok: ... to the same adapter" ||
  { echo "FAIL: the adapter differs"; failures=$((failures + 1)); }
[ -z "$(find "$scratch/early" -name '*.tmp')" ] && echo "ok: stale *.tmp files are cleared" ||
  { echo "FAIL: stale *.tmp files are left"; failures=$((failures + 1)); }

# 5. A damaged newest checkpoint is passed over; "step-abc" is not a checkpoint.
cp -r "$scratch/reference" "$scratch/damaged"
rm -rf "$scratch/damaged/adapter" "$scratch/damaged/checkpoints/step-000004"
head -c 1000 "$scratch/reference/checkpoints/step-000003/optimizer.pt" > "$scratch/damaged/checkpoints/step-000003/optimizer.pt"
mkdir -p "$scratch/damaged/checkpoints/step-abc"; echo '{}' > "$scratch/damaged/checkpoints/step-abc/trainer_state.json"
sed -i 's/"finished"/"running"/; s/"pid": [0-9]*/"pid": 999999999/' "$scratch/damaged/run_state.json"
out="$("$lowbit" resume "$scratch/damaged" --device cpu 2>&1)"; rc=$?
check "resume passes over a truncated optimizer.pt and a step-abc folder" 0 "$rc" "$out" \
  'step-000003 cannot be loaded .*trying the checkpoint before it' 'resuming from .*step-000002'
cmp -s "$reference_adapter" "$scratch/damaged/adapter/adapter_model.safetensors" && echo "ok: ... to the same adapter" ||
  { echo "FAIL: the adapter differs"; failures=$((failures + 1)); }

# 5. Bad environments and values: exit 3 or 4 with what to do, never "unexpected error".
expect() {  # expect WHAT RC PATTERN COMMAND...
  local what="$1" want="$2" pattern="$3"; shift 3
  out="$("$lowbit" "$@" 2>&1)"; rc=$?
  check "$what" "$want" "$rc" "$out" "$pattern"
  if grep -q 'unexpected error' <<<"$out"; then echo "FAIL: $what: reported as an unexpected error"; failures=$((failures + 1)); fi
}
mkdir -p "$scratch/ro"
if mount -t tmpfs -o size=1M,ro tmpfs "$scratch/ro" 2>/dev/null; then
  expect "quantize into a read-only folder fails before any work" 3 "does not let this program create files there" \
    quantize "$model" --method rtn --bits 4 --device cpu --out "$scratch/ro/q"
else
  echo "SKIP (part): cannot mount a read-only tmpfs here"
fi
: > "$scratch/a-file"
expect "--out under a file" 3 "is a file, not a folder" quantize "$model" --method rtn --bits 4 --device cpu \
  --out "$scratch/a-file/q"
expect "finetune --out an existing file" 3 "a-file: is a file, not a folder" "${finetune[@]}" --out "$scratch/a-file"
ln -s loop-b "$scratch/loop-a"; ln -s loop-a "$scratch/loop-b"
expect "a model folder that is a loop of links" 3 "loop-a" info "$scratch/loop-a"
head -c 4096 /dev/zero > "$scratch/nul.txt"
expect "calibration text of NUL bytes" 3 "nul.txt: holds a NUL byte at offset 0" \
  quantize "$model" --bits 4 --calib "$scratch/nul.txt" --seqlen 128 --device cpu --out "$scratch/nul-q"
edited() {  # edited NAME PYTHON_ON_c
  mkdir -p "$scratch/$1"; cp "$model/model.safetensors" "$model/tokenizer.model" "$scratch/$1/"
  python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); exec(sys.argv[3]); json.dump(c, open(sys.argv[2], "w"))' \
    "$model/config.json" "$scratch/$1/config.json" "$2"
}
edited half 'c["hidden_size"] = 64.5'; expect "hidden_size 64.5" 3 "'hidden_size' must be a whole number" info "$scratch/half"
edited theta 'c["rope_theta"] = 0'; expect "rope_theta 0" 3 "'rope_theta' is 0" info "$scratch/theta"
edited head 'c["head_dim"] = 0'; expect "head_dim 0" 3 "'head_dim' is 0" info "$scratch/head"

# 6. One reading of a run's state: killed after its adapter was saved, before its last state write, it is finished
# to resume and to the app.
cp -r "$scratch/reference" "$scratch/late"
sed -i 's/"finished"/"running"/; s/"pid": [0-9]*/"pid": 999999999/' "$scratch/late/run_state.json"
expect "resume reads a run killed after its adapter as finished" 3 "is finished" resume "$scratch/late"
# (The app reads the same with train::inspect_run_status: RunStatus.AdapterSavedMeansFinishedWhateverTheStateFileSays.)

[ "$failures" -eq 0 ] || { echo "$failures check(s) failed"; exit 1; }
