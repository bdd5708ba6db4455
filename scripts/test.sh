#!/usr/bin/env bash
# Runs every test through ctest (unit, ui, e2e, and gpu tests, which skip without a GPU).
# Sets everything up on first use (scripts/setup.sh) and rebuilds before testing.
#   scripts/test.sh                 # all tests
#   scripts/test.sh -L unit         # extra arguments go to ctest
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
"$repo_root/scripts/setup.sh"
ctest --preset default -j "$(nproc)" "$@"
