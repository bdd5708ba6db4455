# Sourced by scripts and e2e tests that need an X display: starts a private Xvfb and waits for windows on it.
#   source scripts/lib/xvfb.sh
#   xvfb_start [WxH]      # sets DISPLAY, registers cleanup on exit; the screen is 1280x800 unless given
#   xvfb_wait_for_window "LowBit Studio" 60 || exit 1

xvfb_start() {
  command -v Xvfb >/dev/null || { echo "Xvfb is not installed; run scripts/setup.sh" >&2; return 1; }
  local display_file
  display_file="$(mktemp)"
  # -displayfd picks a free display number, so parallel test runs never collide.
  Xvfb -displayfd 3 -screen 0 "${1:-1280x800}x24" -nolisten tcp 3>"$display_file" 2>/dev/null &
  XVFB_PID=$!
  trap 'kill "$XVFB_PID" 2>/dev/null' EXIT
  local waited=0
  until [ -s "$display_file" ]; do
    sleep 0.1
    waited=$((waited + 1))
    if [ "$waited" -gt 100 ]; then echo "Xvfb did not start within 10 s" >&2; return 1; fi
  done
  export DISPLAY=":$(head -n1 "$display_file")"
  rm -f "$display_file"
}

# Succeeds once a visible (mapped) window with exactly this title exists; fails after the timeout (seconds).
# A window can exist before it is mapped (and Qt keeps hidden windows of the same title), so this waits for a
# visible one rather than checking once.
xvfb_wait_for_window() {
  local title="$1" timeout_s="${2:-60}" waited=0
  until xdotool search --onlyvisible --name "^${title}\$" >/dev/null 2>&1; do
    sleep 0.5
    waited=$((waited + 1))
    if [ "$waited" -gt $((timeout_s * 2)) ]; then
      echo "no window titled '$title' appeared on $DISPLAY within ${timeout_s} s" >&2
      return 1
    fi
  done
}

# The id of the visible window with exactly this title (for import, xdotool).
xvfb_window_id() {
  xdotool search --onlyvisible --name "^$1\$" 2>/dev/null | head -1
}
