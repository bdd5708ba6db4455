#!/usr/bin/env bash
# Starts lowbit-studio under Xvfb (a real X server, not the offscreen platform) and checks that its main window
# appears and is mapped, then closes it. Usage: gui_starts.sh PATH_TO_LOWBIT_STUDIO
set -u
studio="$1"
source "$(dirname "$0")/../../scripts/lib/xvfb.sh"
xvfb_start || exit 1
QT_QPA_PLATFORM=xcb "$studio" >/tmp/lowbit-studio-e2e.$$.log 2>&1 &
studio_pid=$!
trap 'kill "$studio_pid" 2>/dev/null; kill "$XVFB_PID" 2>/dev/null; rm -f /tmp/lowbit-studio-e2e.$$.log' EXIT
if ! xvfb_wait_for_window "LowBit Studio" 60; then
  echo "FAIL: the main window did not appear; lowbit-studio printed:"; cat /tmp/lowbit-studio-e2e.$$.log
  exit 1
fi
if ! kill -0 "$studio_pid" 2>/dev/null; then echo "FAIL: lowbit-studio exited"; exit 1; fi
geometry="$(xwininfo -name "LowBit Studio" | grep -E 'Width|Height' | tr -s ' ' | tr '\n' ' ')"
echo "ok: main window 'LowBit Studio' is mapped on $DISPLAY ($geometry)"
