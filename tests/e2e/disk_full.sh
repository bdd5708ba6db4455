#!/usr/bin/env bash
# A disk that fills during every write of `lowbit quantize`, `correct` and `finetune` (stories260K): the output
# folder is on a small tmpfs, filled beforehand so that only FREE bytes are left, for FREE from nothing to more
# than the run needs. Each case must end with exit 0 (it fitted) or 4 with the operating system's reason; leave no
# "*.tmp" file or ".partial" folder; leave its inputs untouched; and, once space is freed, finish (quantize again,
# or resume the run) with a result byte-identical to an uninterrupted run's. Prints one table row per command.
# Skipped where this user may not mount a tmpfs. Usage: disk_full.sh PATH_TO_LOWBIT TESTDATA_DIR
set -u
lowbit="$1" testdata="$2"
model="$testdata/models/stories260K-hf"
text="$testdata/train_text/tinystories_val_sample.txt"
alpaca="$testdata/alpaca/alpaca_data_1k.json"
[ -d "$model" ] && [ -f "$text" ] && [ -f "$alpaca" ] || { echo "SKIP: shared test assets missing"; exit 77; }
scratch="$(mktemp -d)"
disk="$scratch/disk"
mkdir -p "$disk"
cleanup() { mountpoint -q "$disk" 2>/dev/null && umount "$disk"; rm -rf "$scratch"; }
trap cleanup EXIT
mount -t tmpfs -o size=16M tmpfs "$disk" 2>/dev/null || { echo "SKIP: cannot mount a tmpfs here"; exit 77; }
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

quantize=(quantize "$model" --bits 4 --group-size 32 --calib "$text" --seqlen 128 --nsamples 16 --device cpu)
correct=(correct "$scratch/q4" --teacher "$model" --calib "$text" --steps 4 --seqlen 64 --samples 8 --micro-batch 2
         --rank 4 --eval-every 2 --checkpoint-every 1 --eval-windows 2 --device cpu)
finetune=(finetune "$scratch/q4" --data "$alpaca" --steps 4 --batch 4 --micro-batch 2 --cutoff 128 --eval-examples 4
          --checkpoint-every 1 --device cpu)
"$lowbit" "${quantize[@]}" --out "$scratch/q4" > /dev/null 2>&1 || { fail "reference quantize"; exit 1; }
"$lowbit" "${correct[@]}" --out "$scratch/correct-ref" > /dev/null 2>&1 || { fail "reference correct"; exit 1; }
"$lowbit" "${finetune[@]}" --out "$scratch/finetune-ref" > /dev/null 2>&1 || { fail "reference finetune"; exit 1; }
inputs_sum() { cat "$model"/* "$scratch/q4"/* "$text" "$alpaca" | sha256sum; }
inputs_before="$(inputs_sum)"

leave_free() {  # leave_free BYTES: fills the tmpfs so that about BYTES stay free
  rm -f "$disk/filler"
  local avail; avail=$(df --output=avail -B1 "$disk" | tail -1)
  local fill=$(( avail - $1 ))
  [ "$fill" -le 0 ] || fallocate -l "$fill" "$disk/filler" 2>/dev/null || head -c "$fill" /dev/zero > "$disk/filler" 2>/dev/null
}

table=()
cases() {  # cases NAME FOOTPRINT_BYTES REFERENCE_FILE RESULT_RELATIVE_PATH COMMAND...
  local name="$1" footprint="$2" reference_file="$3" result="$4"; shift 4
  local full=0 fitted=0 identical=0 tried=0
  for free in 0 4096 65536 $((footprint / 10)) $((footprint / 4)) $((footprint / 2)) $((footprint * 3 / 4)) \
              $((footprint * 9 / 10)) $((footprint * 2)); do
    tried=$((tried + 1))
    local out="$disk/$name"
    rm -rf "$out" "$out.partial"
    leave_free "$free"
    local log; log="$("$lowbit" "$@" --out "$out" 2>&1)"; local rc=$?
    case "$rc" in
      0) fitted=$((fitted + 1)) ;;
      4) full=$((full + 1))
         grep -q 'No space left on device' <<<"$log" ||
           { fail "$name with $free bytes free: exit 4 without the system's reason"; echo "$log" | tail -3; } ;;
      *) fail "$name with $free bytes free: exit $rc (expected 0, or 4 for a full disk)"; echo "$log" | tail -5 ;;
    esac
    local leftovers; leftovers="$(find "$disk" -name '*.tmp' -o -name '*.partial' | head -3)"
    [ -z "$leftovers" ] || fail "$name with $free bytes free left half-written files: $leftovers"
    rm -f "$disk/filler"
    local finish_rc=0
    if [ -f "$out/$result" ]; then :
    elif [ "$name" = quantize ]; then
      [ ! -e "$out" ] || fail "$name with $free bytes free left $out without its model"
      "$lowbit" "$@" --out "$out" > "$scratch/finish.log" 2>&1 || finish_rc=$?
    elif [ -f "$out/config.json" ]; then
      "$lowbit" resume "$out" --device cpu > "$scratch/finish.log" 2>&1 || finish_rc=$?
    else
      rm -rf "$out"  # nothing of the run was kept: it starts again
      "$lowbit" "$@" --out "$out" > "$scratch/finish.log" 2>&1 || finish_rc=$?
    fi
    if [ "$finish_rc" -ne 0 ]; then fail "$name with $free bytes free: finishing after freeing space exited $finish_rc";
      tail -5 "$scratch/finish.log"; continue; fi
    if cmp -s "$reference_file" "$out/$result"; then identical=$((identical + 1));
    else fail "$name with $free bytes free: the finished result differs from the uninterrupted run's"; fi
  done
  table+=("$(printf '| %-8s | %9d | %5d | %11d | %6d | %d of %d |' "$name" "$footprint" "$tried" "$full" "$fitted" \
    "$identical" "$tried")")
}
footprint() { du -sb "$1" | cut -f1; }
cases quantize "$(footprint "$scratch/q4")" "$scratch/q4/model.safetensors" model.safetensors "${quantize[@]}"
cases correct "$(footprint "$scratch/correct-ref")" "$scratch/correct-ref/adapter/adapter_model.safetensors" \
  adapter/adapter_model.safetensors "${correct[@]}"
cases finetune "$(footprint "$scratch/finetune-ref")" "$scratch/finetune-ref/adapter/adapter_model.safetensors" \
  adapter/adapter_model.safetensors "${finetune[@]}"
[ "$(inputs_sum)" = "$inputs_before" ] || fail "an input file changed"

echo
echo "| command  | footprint | cases | disk full (4) | fitted | byte-identical after freeing space |"
echo "|----------|----------:|------:|--------------:|-------:|------------------------------------|"
printf '%s\n' "${table[@]}"
[ "$failures" -eq 0 ] || { echo "$failures check(s) failed"; exit 1; }
