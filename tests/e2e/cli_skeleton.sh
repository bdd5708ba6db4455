#!/usr/bin/env bash
# The `lowbit` command line: --version facts, --help, the subcommand skeleton, and usage errors.
# Usage: cli_skeleton.sh PATH_TO_LOWBIT
set -u
lowbit="$1"
source "$(dirname "$0")/check.sh"

out="$("$lowbit" --version 2>&1)"; rc=$?
check "--version" 0 "$rc" "$out" '^lowbit [0-9]+\.[0-9]+\.[0-9]+$' '^LibTorch: 2\.11\.0' '^LowBit CUDA kernels: ' \
  '^NVIDIA driver: ' '^GPU( [0-9]+: .+, compute capability [0-9]+\.[0-9]+, [0-9.]+ GiB free of [0-9.]+ GiB|: no CUDA device)'

out="$("$lowbit" --help 2>&1)"; rc=$?
check "--help" 0 "$rc" "$out" '^Usage: lowbit' '^  info ' '^  generate ' '^  eval ' '^  quantize ' '^  correct ' \
  '^  finetune ' '^  chat ' '^  download ' '^  export ' '^  bench ' 'Exit codes' '6 network error'

out="$("$lowbit" 2>&1)"; rc=$?
check "no arguments prints usage and fails" 2 "$rc" "$out" '^Usage: lowbit'

out="$("$lowbit" frobnicate 2>&1)"; rc=$?
check "unknown command" 2 "$rc" "$out" "unknown command 'frobnicate'" "lowbit --help"

out="$("$lowbit" finetune 2>&1)"; rc=$?
check "finetune without a model is a usage error" 2 "$rc" "$out" 'MODEL'
out="$("$lowbit" chat 2>&1)"; rc=$?
check "chat without a model is a usage error" 2 "$rc" "$out" 'MODEL'
out="$("$lowbit" export some-model --to hf --type q4_0 --out x 2>&1)"; rc=$?
check "export: an option of the other format is a usage error" 2 "$rc" "$out" '--type is for --to gguf'
# The kernel benchmark on the CPU path at a small shape: every bit width, the fused decode kernel (1, 16 rows)
# and the dequantize path (64 rows), each checked against the fp32 product before it is timed.
out="$("$lowbit" bench kernels --device cpu --shapes 256x512,544x96 --rows 1,16,64 --bits 2,3,4,8 --repeats 2 2>&1)"; rc=$?
check "bench kernels on the CPU" 0 "$rc" "$out" '^kernel benchmark: cpu, float32 activations' \
  '^256x512 +1 +2 +fused ' '^256x512 +16 +3 +fused ' '^256x512 +64 +8 +deq ' '^544x96 +1 +4 +fused ' '\[24/24\]$'
out="$("$lowbit" bench kernels --device cpu --bits 5 2>&1)"; rc=$?
check "bench kernels: an unsupported bit width is a usage error" 2 "$rc" "$out" '--bits takes 2, 3, 4 or 8'
out="$("$lowbit" bench kernels --device cpu --shapes 100x512 --bits 3 2>&1)"; rc=$?
check "bench kernels: a shape the format cannot hold is a usage error" 2 "$rc" "$out" 'cannot be stored at 3 bits'
out="$("$lowbit" bench kernels --device cpu --dtype float16 2>&1)"; rc=$?
check "bench kernels: half precision on the CPU is a usage error" 2 "$rc" "$out" 'compute in float32'
for command in info generate eval quantize correct finetune chat bench download export; do
  out="$("$lowbit" "$command" --help 2>&1)"; rc=$?
  check "$command --help" 0 "$rc" "$out" "^Usage: lowbit $command"
done

[ "$failures" -eq 0 ] || { echo "$failures check(s) failed"; exit 1; }
