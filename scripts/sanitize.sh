#!/usr/bin/env bash
# The engine, the CLI and their unit tests built with AddressSanitizer + UndefinedBehaviorSanitizer (the sanitize
# preset; gcc, no UI, LibTorch uninstrumented), then run: a memory error or undefined behaviour fails the test.
#   scripts/sanitize.sh              # -L unit
#   scripts/sanitize.sh -L model     # other ctest arguments
# Not part of .ci/run: the instrumented build takes most of an hour on a 2-core machine.
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
scripts/setup.sh >/dev/null  # the Debian packages and .venv (LibTorch) the build needs
cmake --preset sanitize
cmake --build --preset sanitize
[ $# -eq 0 ] && set -- -L unit
ctest --preset sanitize -j "$(nproc)" "$@"
