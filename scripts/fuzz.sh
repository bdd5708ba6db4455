#!/usr/bin/env bash
# Fuzzes every file parser (tests/fuzz) with libFuzzer, AddressSanitizer and UndefinedBehaviorSanitizer, then
# prints one table: per harness, executions, seconds, corpus size and crashes.
#   scripts/fuzz.sh            # 60 s per harness
#   scripts/fuzz.sh 600        # 600 s per harness (the figure issue notes quote)
#   FUZZ_ONLY=fuzz_gguf scripts/fuzz.sh 30
#   FUZZ_JOBS=2 scripts/fuzz.sh 600   # two harnesses at a time (one per core)
# Seeds come from ../shared/testdata (scripts/make_fuzz_seeds.py); the growing corpus stays in build/fuzz/corpus,
# so later runs go on from it. A crash leaves its input in build/fuzz/findings/<harness>/; copy it to
# tests/fuzz/regressions/<harness>/ (ctest replays that folder in every build) and fix the parser.
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
seconds="${1:-60}"
testdata="${LOWBIT_TESTDATA:-$repo_root/../shared/testdata}"
build="$repo_root/build/fuzz"

command -v clang++ >/dev/null || { echo "fuzz: needs clang (apt install clang; scripts/setup.sh installs it)" >&2; exit 1; }
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz
harnesses=(fuzz_safetensors_header fuzz_model_config fuzz_chat_template fuzz_tokenizer_config fuzz_tokenizer_json
           fuzz_gguf fuzz_instruction_data fuzz_metrics_line)
[ -n "${FUZZ_ONLY:-}" ] && read -r -a harnesses <<<"$FUZZ_ONLY"

seeds="$build/seeds"
rm -rf "$seeds"
if [ -d "$testdata" ]; then
  python3 scripts/make_fuzz_seeds.py "$seeds" "$testdata"
else
  echo "fuzz: $testdata is absent; starting from the regression inputs only" >&2
fi

# One harness: its row of the table goes to $build/$harness.row.
fuzz_one() {
  local harness="$1"
  local corpus="$build/corpus/$harness" findings="$build/findings/$harness" log="$build/$harness.log"
  mkdir -p "$corpus" "$findings" "$seeds/$harness"
  local inputs=("$corpus" "$seeds/$harness")
  [ -d "tests/fuzz/regressions/$harness" ] && inputs+=("tests/fuzz/regressions/$harness")
  echo "== $harness: $seconds s"
  local start status=0
  start=$(date +%s)
  # -rss_limit_mb: a parser that lets a small file allocate gigabytes is a finding, as is one that takes 10 s.
  ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=0" UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
    "$build/tests/fuzz/$harness" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -print_final_stats=1 -artifact_prefix="$findings/" "${inputs[@]}" >"$log" 2>&1 || status=$?
  local elapsed=$(( $(date +%s) - start ))
  local runs crashes
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1 || true)
  crashes=$(find "$findings" -type f | wc -l)
  if [ "$status" -ne 0 ] && [ "$crashes" -eq 0 ]; then crashes=1; fi
  printf '| %-24s | %12s | %7s | %8s | %7s |\n' "$harness" "${runs:-?}" "$elapsed" \
    "$(find "$corpus" -type f | wc -l)" "$crashes" > "$build/$harness.row"
  if [ "$crashes" -ne 0 ]; then
    echo "fuzz: $harness found a problem (exit $status); the log is $log, inputs in $findings" >&2
    grep -m 5 -E 'ERROR|SUMMARY|terminate|what\(\)' "$log" >&2 || true
  fi
}

# FUZZ_JOBS harnesses at a time (default 1: the executions of one harness do not depend on the others).
jobs_at_once="${FUZZ_JOBS:-1}"
running=0
for harness in "${harnesses[@]}"; do
  fuzz_one "$harness" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs_at_once" ]; then wait -n || true; running=$((running - 1)); fi
done
wait || true

echo
echo "| harness                  |   executions | seconds | corpus   | crashes |"
echo "|--------------------------|-------------:|--------:|---------:|--------:|"
total_crashes=0
for harness in "${harnesses[@]}"; do
  cat "$build/$harness.row"
  total_crashes=$((total_crashes + $(awk -F'|' '{gsub(/ /, "", $6); print $6}' "$build/$harness.row")))
done
[ "$total_crashes" -eq 0 ]
