#!/usr/bin/env bash
# ctest fixture: (re)makes reference outputs with a Python script when the script changed since the last run.
# Usage: make_fixtures.sh PYTHON SCRIPT OUT_DIR [SCRIPT ARGS...]   (the script is called with --out OUT_DIR)
set -euo pipefail
python="$1" script="$2" out="$3"
shift 3
if [ -f "$out/done.json" ] && [ "$out/done.json" -nt "$script" ]; then
  echo "fixtures up to date in $out"
  exit 0
fi
if ! "$python" -c 'import numpy, safetensors, sentencepiece, transformers' 2>/dev/null; then
  echo "SKIP: $python lacks numpy/safetensors/sentencepiece/transformers (run scripts/setup.sh); tests comparing"
  echo "      with the Python references will be skipped"
  exit 0
fi
rm -rf "$out"
HF_HUB_OFFLINE=1 "$python" "$script" --out "$out" "$@"
