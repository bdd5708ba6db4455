#!/usr/bin/env bash
# Runs every test through ctest (unit, ui, e2e, and gpu tests, which skip without a GPU).
# Sets everything up on first use (scripts/setup.sh), rebuilds, and packages (scripts/package.sh) before testing.
#   scripts/test.sh                 # all tests
#   scripts/test.sh -L unit         # extra arguments go to ctest
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
"$repo_root/scripts/setup.sh"
# The .deb and .run, so that e2e.packages tests them as a user gets them (skipped when nothing changed).
LOWBIT_SETUP_DONE=1 "$repo_root/scripts/package.sh" --no-test
ctest --preset default -j "$(nproc)" "$@"
