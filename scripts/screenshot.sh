#!/usr/bin/env bash
# Screenshots of LowBit Studio under Xvfb, started the way a user starts it (scripts/run.sh).
#   scripts/screenshot.sh [OUT_DIR]        # writes OUT_DIR/main-window.png and OUT_DIR/about-system.png
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out_dir="${1:-$repo_root/build/screenshots}"
mkdir -p "$out_dir"
source "$repo_root/scripts/lib/xvfb.sh"
xvfb_start
QT_QPA_PLATFORM=xcb "$repo_root/scripts/run.sh" &
app_pid=$!
trap 'kill "$app_pid" 2>/dev/null; kill "$XVFB_PID" 2>/dev/null' EXIT
xvfb_wait_for_window "LowBit Studio" 600
sleep 1
import -window "$(xwininfo -name 'LowBit Studio' | awk '/Window id/ {print $4}')" "$out_dir/main-window.png"
echo "wrote $out_dir/main-window.png"

# Help → System information, typed as a user would (Alt+H, then S).
xdotool search --name '^LowBit Studio$' windowfocus --sync key --delay 200 alt+h s
xvfb_wait_for_window "About LowBit Studio" 30
sleep 3  # the system check runs on a worker thread; give it time to fill the page
import -window "$(xwininfo -name 'About LowBit Studio' | awk '/Window id/ {print $4}')" "$out_dir/about-system.png"
echo "wrote $out_dir/about-system.png"
