#!/usr/bin/env bash
# ctest fixture: (re)makes the transformers reference outputs when the script changed since the last run.
# Usage: make_fixtures.sh PYTHON SCRIPT TESTDATA_DIR OUT_DIR
set -euo pipefail
python="$1" script="$2" testdata="$3" out="$4"
if [ -f "$out/done.json" ] && [ "$out/done.json" -nt "$script" ]; then
  echo "transformers fixtures up to date in $out"
  exit 0
fi
if ! "$python" -c 'import transformers, sentencepiece, safetensors' 2>/dev/null; then
  echo "SKIP: $python has no transformers/sentencepiece/safetensors (run scripts/setup.sh); tests comparing with"
  echo "      transformers will be skipped"
  exit 0
fi
rm -rf "$out"
HF_HUB_OFFLINE=1 "$python" "$script" --testdata "$testdata" --out "$out"
