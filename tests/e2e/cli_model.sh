#!/usr/bin/env bash
# `lowbit info`, `generate`, `eval` and `bench generate` on the real stories260K model, and their errors on bad
# input (exit codes from `lowbit --help`). Usage: cli_model.sh PATH_TO_LOWBIT TESTDATA_DIR
set -u
lowbit="$1" testdata="$2"
model="$testdata/models/stories260K-hf"
text="$testdata/train_text/tinystories_val_sample.txt"
[ -d "$model" ] || { echo "SKIP: $model not found (shared test assets missing)"; exit 77; }
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
source "$(dirname "$0")/check.sh"

out="$("$lowbit" info "$model" 2>&1)"; rc=$?
check "info" 0 "$rc" "$out" 'LlamaForCausalLM, 5 layers, hidden 64' '8 heads, 4 key/value heads \(GQA\)' \
  'Parameters: +260032 ' 'embeddings tied' 'Quantization: +none' 'F32'

out="$("$lowbit" generate "$model" --prompt "Once upon a time" --greedy --max-new-tokens 30 --device cpu 2>/dev/null)"; rc=$?
check "generate --greedy continues with llama2.c's story" 0 "$rc" "$out" \
  '^Once upon a time, there was a little girl named Lily\. She loved to play outside'

out="$("$lowbit" generate "$model" --prompt "The cat" --max-new-tokens 20 --seed 3 --temperature 0.9 --top-k 20 --top-p 0.9 --device cpu 2>&1)"; rc=$?
check "generate with sampling reports its seed and speed" 0 "$rc" "$out" 'seed 3\]' 'decode [0-9.]+ tokens/s'

out="$("$lowbit" eval "$model" --text "$text" --seqlen 512 --max-windows 16 --batch-size 8 --device cpu 2>&1)"; rc=$?
check "eval prints the PPL last" 0 "$rc" "$out" 'protocol gptq, seqlen 512, 16 windows' '^PPL [0-9]+\.[0-9]+$'
[ "$(tail -n1 <<<"$out" | cut -c1-4)" = "PPL " ] || { echo "FAIL: the PPL is not the last line"; failures=$((failures + 1)); }

out="$("$lowbit" eval "$model" --text "$text" --protocol int21 --seqlen 256 --stride 128 --max-windows 8 --device cpu 2>&1)"; rc=$?
check "eval --protocol int21" 0 "$rc" "$out" 'protocol int21, seqlen 256, stride 128, 8 windows' '^PPL '

out="$("$lowbit" bench generate "$model" --prompt-tokens 64 --new-tokens 32 --repeats 1 --device cpu 2>&1)"; rc=$?
check "bench generate" 0 "$rc" "$out" '^lowbit +[0-9.]+ +[0-9.]+$'

out="$("$lowbit" quantize "$model" --method rtn --bits 4 --group-size 32 --device cpu --out "$scratch/rtn4" 2>&1)"; rc=$?
check "quantize --method rtn" 0 "$rc" "$out" 'RTN 4-bit, group 32' 'bits per weight'
out="$("$lowbit" quantize "$model" --bits 4 --group-size 32 --calib "$text" --device cpu --out "$scratch/rtn4" 2>&1)"; rc=$?
check "quantize refuses an existing output folder" 3 "$rc" "$out" 'rtn4: already exists'

correct_options=(--teacher "$model" --calib "$text" --steps 4 --seqlen 64 --samples 8 --micro-batch 2 --rank 4
                 --eval-every 2 --checkpoint-every 2 --eval-windows 2 --device cpu)
out="$("$lowbit" correct "$scratch/rtn4" "${correct_options[@]}" --out "$scratch/run" 2>&1)"; rc=$?
check "correct trains an adapter and writes a run directory" 0 "$rc" "$out" 'corrected .* 4 steps' 'held-out PPL' \
  'memory estimate for training on cpu: [0-9.]+ [MG]iB' 'memory: estimated [0-9.]+ [MG]iB'
for file in config.json metrics.jsonl teacher_cache.safetensors adapter/adapter_config.json \
            checkpoints/step-000002/optimizer.pt; do
  [ -f "$scratch/run/$file" ] || { echo "FAIL: run directory lacks $file"; failures=$((failures + 1)); }
done
out="$("$lowbit" eval "$scratch/rtn4" --adapters "$scratch/run/adapter" --text "$text" --seqlen 512 --max-windows 4 --device cpu 2>&1)"; rc=$?
check "eval with the corrected adapter" 0 "$rc" "$out" '^PPL '
grep -q '"state": "finished"' "$scratch/run/run_state.json" || { echo "FAIL: run_state.json does not say finished"; failures=$((failures + 1)); }
# A run that crashed after its step-2 checkpoint (adapter and later checkpoints never written) resumes from its
# folder alone and ends exactly where the uninterrupted run did: the same adapter, byte for byte.
cp -r "$scratch/run" "$scratch/crashed"
rm -rf "$scratch/crashed/adapter" "$scratch/crashed/checkpoints/step-000004"
sed -i 's/"finished"/"running"/; s/"pid": [0-9]*/"pid": 999999999/' "$scratch/crashed/run_state.json"
out="$("$lowbit" resume "$scratch/crashed" --device cpu 2>&1)"; rc=$?
check "resume continues a crashed run from its last checkpoint" 0 "$rc" "$out" 'resuming Correct \(LREC\)' \
  'resuming from .*step-000002' 'finished the run in'
cmp -s "$scratch/run/adapter/adapter_model.safetensors" "$scratch/crashed/adapter/adapter_model.safetensors" ||
  { echo "FAIL: the resumed run's adapter differs from the uninterrupted run's"; failures=$((failures + 1)); }
out="$("$lowbit" resume "$scratch/run" 2>&1)"; rc=$?
check "resume refuses a finished run" 3 "$rc" "$out" 'is finished: its adapter is saved'
out="$("$lowbit" resume "$scratch" 2>&1)"; rc=$?
check "resume explains a folder that is not a run" 3 "$rc" "$out" 'has no config.json'
out="$("$lowbit" correct "$scratch/rtn4" "${correct_options[@]}" --lr 1e6 --out "$scratch/diverged" 2>&1)"; rc=$?
check "a diverging run stops with step, learning rate and last checkpoint" 3 "$rc" "$out" 'training diverged at step' \
  'learning rate' 'last good checkpoint'
grep -q '"state": "failed"' "$scratch/diverged/run_state.json" && grep -q 'training diverged' "$scratch/diverged/run_state.json" ||
  { echo "FAIL: a diverged run's run_state.json does not say failed and why"; failures=$((failures + 1)); }

out="$("$lowbit" correct "$scratch/rtn4" --teacher "$model" --calib "$text" --device cuda --rank 32 --seqlen 2048 \
  --estimate 2>&1)"; rc=$?
check "correct --estimate plans a GPU run without a GPU and trains nothing" 0 "$rc" "$out" \
  'memory estimate for training on cuda: [0-9.]+ [MG]iB \(weights' 'trainable adapter parameters' \
  'settings: \{.*"lora_rank":32,.*"seqlen":2048'

printf 'caf\xe9\n' > "$scratch/latin1.txt"
out="$("$lowbit" eval "$model" --text "$scratch/latin1.txt" --device cpu 2>&1)"; rc=$?
check "non-UTF-8 text is an input error" 3 "$rc" "$out" 'latin1.txt: is not valid UTF-8: line 1, byte offset 3'

out="$("$lowbit" eval "$model" --text "$scratch/none.txt" --device cpu 2>&1)"; rc=$?
check "missing text file is an input error" 3 "$rc" "$out" 'none.txt: does not exist'

out="$("$lowbit" generate "$scratch" --prompt hi 2>&1)"; rc=$?
check "a folder without a model is an input error" 3 "$rc" "$out" 'has no config.json'

out="$("$lowbit" eval "$model" --text "$text" --seqlen banana 2>&1)"; rc=$?
check "a bad number is a usage error" 2 "$rc" "$out" "--seqlen must be an integer from 2 to"

out="$("$lowbit" eval "$model" --text "$text" --protocol wikitext 2>&1)"; rc=$?
check "an unknown protocol is a usage error" 2 "$rc" "$out" "--protocol must be one of gptq, int21"

if "$lowbit" --version | grep -q '^GPU: no CUDA device'; then
  out="$("$lowbit" generate "$model" --prompt hi --device cuda 2>&1)"; rc=$?
  check "--device cuda without a GPU is a resource error" 4 "$rc" "$out" 'no usable CUDA device' '--device cpu'
fi

[ "$failures" -eq 0 ] || { echo "$failures check(s) failed"; exit 1; }
