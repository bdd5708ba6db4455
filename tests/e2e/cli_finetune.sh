#!/usr/bin/env bash
# `lowbit finetune` (EMEF), `chat` and `generate --template alpaca` on stories260K, and what bad Alpaca data
# produces: exit code 3, a message naming the file, record and field, and no run directory.
# Usage: cli_finetune.sh PATH_TO_LOWBIT TESTDATA_DIR
set -u
lowbit="$1" testdata="$2"
model="$testdata/models/stories260K-hf"
alpaca="$testdata/alpaca/alpaca_data_1k.json"
[ -d "$model" ] && [ -f "$alpaca" ] || { echo "SKIP: $model or $alpaca not found (shared test assets missing)"; exit 77; }
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
source "$(dirname "$0")/check.sh"

"$lowbit" quantize "$model" --method rtn --bits 4 --group-size 32 --device cpu --out "$scratch/int4" > /dev/null 2>&1
small=(--steps 2 --batch 4 --micro-batch 2 --cutoff 256 --eval-examples 4 --device cpu)
out="$("$lowbit" finetune "$scratch/int4" --data "$alpaca" "${small[@]}" --out "$scratch/run" 2>&1)"; rc=$?
check "finetune trains an adapter and reports data, loss, time and memory" 0 "$rc" "$out" \
  'examples, tokens min [0-9]+ / median [0-9]+ / mean [0-9.]+ / max 256; [0-9]+ truncated at 256' \
  'its prompt alone fills the cutoff of 256 tokens; raise --cutoff; left out' \
  'fine-tuned .* 2 steps .* validation loss [0-9.]+ -> [0-9.]+' 'one epoch \([0-9]+ steps of 4 examples\) ~ .* extrapolated' \
  'memory: estimated'
for file in config.json metrics.jsonl data_report.txt adapter/adapter_model.safetensors; do
  [ -f "$scratch/run/$file" ] || { echo "FAIL: run directory lacks $file"; failures=$((failures + 1)); }
done

out="$("$lowbit" finetune "$scratch/int4" --data "$alpaca" --cutoff 512 --micro-batch 1 --device cuda --estimate 2>&1)"; rc=$?
check "finetune --estimate plans a GPU run without a GPU" 0 "$rc" "$out" 'memory estimate for training on cuda: ' \
  '[0-9]+ trainable adapter parameters' 'settings: \{.*"cutoff":512'

bad() {  # bad NAME CONTENT PATTERN...
  local name="$1" content="$2"; shift 2
  printf '%b' "$content" > "$scratch/$name"
  out="$("$lowbit" finetune "$scratch/int4" --data "$scratch/$name" "${small[@]}" --out "$scratch/bad-$name" 2>&1)"; rc=$?
  check "bad data: $name" 3 "$rc" "$out" "$@"
  [ ! -e "$scratch/bad-$name" ] || { echo "FAIL: $name left a run directory"; failures=$((failures + 1)); }
}
bad empty.json '' 'empty.json: is empty'
bad broken.json '[{"instruction": "a", "output": "b"},\n {"instruction": "c" "output": "d"}]' \
  'broken.json: is not valid JSON: line 2, column 29: syntax error while parsing object'
bad fields.json '[{"instruction": "a"}, {"prompt": "b", "output": "c"}]' \
  'fields.json: has no usable record \(record 0, field "output": is missing; record 1, field "instruction": is missing\)' \
  '--instruction-field'
bad latin1.json '[{"instruction": "caf\xe9", "output": "x"}]' 'latin1.json: is not valid UTF-8: line 1, column 22'
bad latin1.jsonl '{"instruction": "caf\xe9", "output": "x"}\n' 'latin1.jsonl: has no usable record \(line 1: is not valid UTF-8'

# A huge record (3 MB) among normal ones is cut at the cutoff and the run goes on.
python3 - "$alpaca" "$scratch/huge.json" <<'PY'
import json, sys
records = json.load(open(sys.argv[1], encoding="utf-8"))[:40]
records.insert(3, {"instruction": "Write a long story.", "input": "", "output": "Once upon a time. " * 170000})
json.dump(records, open(sys.argv[2], "w"))
PY
out="$("$lowbit" finetune "$scratch/int4" --data "$scratch/huge.json" "${small[@]}" --out "$scratch/huge" 2>&1)"; rc=$?
check "a 3 MB record is cut at the cutoff and the run goes on" 0 "$rc" "$out" '41 examples|truncated at 256' 'fine-tuned'

out="$("$lowbit" generate "$scratch/int4" --adapters "$scratch/run/adapter" --template alpaca --prompt "Name a colour." \
  --greedy --max-new-tokens 24 --device cpu 2>/dev/null)"; rc=$?
check "generate --template alpaca wraps the prompt" 0 "$rc" "$out" '^Below is an instruction' '### Instruction:' \
  '^Name a colour\.$' '^### Response:$'

out="$(printf 'Tell me a story.\n/reset\n\nWhat is a cat?\n/quit\nnot read\n' | \
  "$lowbit" chat "$scratch/int4" --adapters "$scratch/run/adapter" --greedy --max-new-tokens 16 --device cpu 2>&1)"; rc=$?
check "chat answers piped messages, forgets on /reset, stops at /quit" 0 "$rc" "$out" '^> Tell me a story\.$' \
  '^\(conversation forgotten\)$' '^> What is a cat\?$' 'template: Alpaca'
grep -q 'not read' <<<"$out" && { echo "FAIL: chat read past /quit"; failures=$((failures + 1)); }

[ "$failures" -eq 0 ] || { echo "$failures check(s) failed"; exit 1; }
