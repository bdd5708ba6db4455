#!/usr/bin/env bash
# ctest fixture: imports SmolLM2-135M-Instruct's GGUF (from PyPI, scripts/setup.sh) with `lowbit import` as F32
# (exact: the tests compare with transformers' fp32 GGUF loader), again whenever lowbit or the file is newer.
# Usage: import_smollm2.sh PATH_TO_LOWBIT GGUF OUT_DIR
set -euo pipefail
lowbit="$1" gguf="$2" out="$3"
[ -f "$gguf" ] || { echo "SKIP: $gguf not found (scripts/setup.sh downloads it from PyPI)"; exit 77; }
if [ -f "$out/model.safetensors" ] && [ "$out/model.safetensors" -nt "$lowbit" ] && [ "$out/model.safetensors" -nt "$gguf" ]; then
  echo "up to date: $out"; exit 0
fi
rm -rf "$out" "$out.partial"
mkdir -p "$(dirname "$out")"
"$lowbit" import "$gguf" --dtype f32 --out "$out"
"$lowbit" info "$out"
