#!/usr/bin/env bash
# One command for the GPU machine: build with the `gpu` preset, run the GPU tests (a missing GPU is a failure
# here, not a skip), run the benchmarks, and print a short table last.
#   scripts/gpu_check.sh
set -uo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
export LOWBIT_REQUIRE_GPU=1
rows=()
row() { rows+=("$(printf '%-28s %-6s %s' "$1" "$2" "$3")"); }

nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv,noheader 2>&1 | sed 's/^/gpu: /'

start=$SECONDS
if LOWBIT_PRESET=gpu scripts/setup.sh > build-gpu.log 2>&1; then
  row "build (gpu preset)" "ok" "$((SECONDS - start)) s"
else
  tail -40 build-gpu.log
  row "build (gpu preset)" "FAIL" "see build-gpu.log"
  printf '\n%s\n' "${rows[@]}"
  exit 1
fi

start=$SECONDS
ctest --preset gpu 2>&1 | tee ctest-gpu.log | tail -25
summary="$(grep -E 'tests passed|tests failed' ctest-gpu.log | tail -1)"
if grep -q '100% tests passed' ctest-gpu.log; then row "ctest -L gpu" "ok" "$summary ($((SECONDS - start)) s)"; else
  row "ctest -L gpu" "FAIL" "$summary"; fi

version="$(build/gpu/app/lowbit --version 2>&1)"
echo "$version"
gpu_line="$(grep -m1 '^GPU' <<<"$version")"
row "lowbit --version" "$([ -n "$gpu_line" ] && echo ok || echo FAIL)" "$gpu_line"

# Benchmarks join this table as they land (lowbit bench kernels, lowbit bench generate).
# The training measurements build a 13.5 GB random 7B-shaped model and take several minutes each, so they run
# when asked: LOWBIT_GPU_CHECK_TRAINING=1 scripts/gpu_check.sh (or scripts/lrec_7b.sh / scripts/emef_table.sh).
if [ "${LOWBIT_GPU_CHECK_TRAINING:-0}" = 1 ]; then
  export LOWBIT_PRESET=gpu
  start=$SECONDS
  if scripts/lrec_7b.sh build/gpu/lrec_7b 2>&1 | tee lrec-7b.log | tail -5; then
    row "LREC 7B INT2 r32 seq 2048" "ok" "$(grep -m1 'time per step' lrec-7b.log | sed 's/^ *//') ($((SECONDS - start)) s)"
  else row "LREC 7B INT2 r32 seq 2048" "FAIL" "see lrec-7b.log"; fi
  start=$SECONDS
  if EMEF_MICRO_BATCHES="1" EMEF_FP16_MODEL=build/gpu/lrec_7b/fp16 scripts/emef_table.sh build/gpu/lrec_7b-emef 2>&1 | tee emef-table.log | tail -8; then
    row "EMEF 7B table (mb 1)" "ok" "$(grep -E '^int4 ' emef-table.log | head -1) ($((SECONDS - start)) s)"
  else row "EMEF 7B table (mb 1)" "FAIL" "see emef-table.log"; fi
fi

printf '\n== gpu_check summary ==\n'
printf '%s\n' "${rows[@]}"
