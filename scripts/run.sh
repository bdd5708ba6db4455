#!/usr/bin/env bash
# Starts LowBit Studio. With arguments, runs the `lowbit` command line instead:
#   scripts/run.sh                      # the desktop app
#   scripts/run.sh --page Chat          # the desktop app, opened on one page
#   scripts/run.sh --version            # lowbit --version
#   scripts/run.sh quantize MODEL ...   # any lowbit command
# Sets everything up on first use (scripts/setup.sh), and rebuilds when sources changed.
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="$repo_root/build/default"

if [ ! -x "$repo_root/.venv/bin/python" ] || [ ! -f "$build_dir/CMakeCache.txt" ]; then
  "$repo_root/scripts/setup.sh" >&2
else
  if ! build_output="$(cmake --build --preset default 2>&1)"; then echo "$build_output" >&2; exit 1; fi
fi

if [ $# -gt 0 ] && [ "$1" != "--page" ]; then
  exec "$build_dir/app/lowbit" "$@"
fi
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ] && [ -z "${QT_QPA_PLATFORM:-}" ]; then
  echo "run.sh: no display found (DISPLAY and WAYLAND_DISPLAY are unset); start it from a desktop session," >&2
  echo "        or use the command line: scripts/run.sh --help" >&2
  exit 2
fi
exec "$build_dir/app/lowbit-studio" "$@"
