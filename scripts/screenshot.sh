#!/usr/bin/env bash
# Screenshots of LowBit Studio under Xvfb, started the way a user starts it (scripts/run.sh).
#   scripts/screenshot.sh [OUT_DIR [--walk]]   # --walk: only the walk; writes into OUT_DIR: main-window.png, about-system.png, wizard.png (model
#     page), wizard-settings.png (presets, memory/time estimate, commands), lrec-dashboard.png (a real LREC run on
#     stories260K), runs.png (the Runs page after a restart), chat.png and chat-compare.png (INT2 beside INT2 + LREC),
#     first-start.png (what the app says at start on a machine without a usable NVIDIA GPU, if it is one), and
#     walk/*.png: a new user's path through the whole pipeline (see "The walk" below)
# Everything at 1366x768, the common laptop screen.
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out_dir="${1:-$repo_root/build/screenshots}"
mkdir -p "$out_dir"
source "$repo_root/scripts/lib/xvfb.sh"
xvfb_start 1366x768
# The app's settings are those of a returning user (model folders added, the Correct form and the chat filled
# in), in a private config folder; a 2-bit GPTQ stories260K is made for the LREC run and the chat.
testdata="$repo_root/../shared/testdata"
model="$testdata/models/stories260K-hf"
text="$testdata/train_text/tinystories_val_sample.txt"
[ -d "$model" ] || { echo "screenshot: $model missing (../shared/testdata)" >&2; exit 1; }
work="$(mktemp -d)"
export XDG_CONFIG_HOME="$work/config"
export XDG_DATA_HOME="$work/data"  # where New run puts its runs (and the models library's imports)
mkdir -p "$XDG_CONFIG_HOME/LowBit"
"$repo_root/scripts/run.sh" quantize "$model" --bits 2 --group-size 32 --calib "$text" --nsamples 32 \
  --seqlen 256 --device cpu --out "$work/int2" > "$work/quantize.log" 2>&1
cat > "$XDG_CONFIG_HOME/LowBit/LowBit Studio.conf" <<CONF
[models]
folders=$testdata/models, $work
[correct]
correctStudent=$work/int2
correctTeacher=$model
correctCalibration=$text
correctRunDir=$work/lrec
[runs]
recent=$work/lrec
[chat]
model=$work/int2
adapters=
model2=$work/int2
adapters2=$work/lrec/adapter
columns=1
maxTokens=60
temperature=0.7
[wizard]
model=$model
calibration=$text
alpaca=$testdata/alpaca/alpaca_data_1k.json
bits=2
steps=200
epochs=3
CONF
# At every start the app checks the driver and GPU; on a machine without a usable GPU it says so in a notice,
# which is photographed the first time and closed (Return) every time.
dismiss_first_start_notice() {  # $1: where to save a picture of it (optional)
  if xvfb_wait_for_window "Before you start — LowBit Studio" 15; then
    sleep 1
    if [ -n "${1:-}" ]; then
      import -window "$(xvfb_window_id "Before you start — LowBit Studio")" "$1"
      echo "wrote $1"
    fi
    # The notice is window-modal and has the focus; Return presses its OK.
    xdotool windowactivate --sync "$(xvfb_window_id "Before you start — LowBit Studio")" 2>/dev/null || true
    xdotool key Return
    sleep 1
  fi
}
app_pid=""
trap 'kill "$app_pid" 2>/dev/null || true; kill "$XVFB_PID" 2>/dev/null || true' EXIT
if [ "${2:-}" != "--walk" ]; then
QT_QPA_PLATFORM=xcb "$repo_root/scripts/run.sh" &
app_pid=$!
xvfb_wait_for_window "LowBit Studio" 600
dismiss_first_start_notice "$out_dir/first-start.png"
sleep 1
import -window "$(xvfb_window_id "LowBit Studio")" "$out_dir/main-window.png"
echo "wrote $out_dir/main-window.png"

# Help → System information, typed as a user would (Alt+H, then S).
xdotool search --name '^LowBit Studio$' windowfocus --sync key --delay 200 alt+h s
xvfb_wait_for_window "About LowBit Studio" 30
sleep 3  # the system check runs on a worker thread; give it time to fill the page
import -window "$(xvfb_window_id "About LowBit Studio")" "$out_dir/about-system.png"
echo "wrote $out_dir/about-system.png"

# File → New run…: the returning user's model is filled in and checked; Next, Next, Next to the settings page
# with its presets, memory/time estimate and commands.
xdotool search --name '^LowBit Studio$' windowfocus --sync key --delay 200 Escape ctrl+n
xvfb_wait_for_window "New run — LowBit Studio" 30
sleep 3
wizard_window="$(xvfb_window_id "New run — LowBit Studio")"
import -window "$wizard_window" "$out_dir/wizard.png"
echo "wrote $out_dir/wizard.png"
for _ in 1 2 3; do
  xdotool search --name '^New run — LowBit Studio$' windowfocus --sync key alt+n
  sleep 3
done
sleep 4
import -window "$wizard_window" "$out_dir/wizard-settings.png"
echo "wrote $out_dir/wizard-settings.png"
kill "$app_pid" 2>/dev/null || true; wait "$app_pid" 2>/dev/null || true

# A real LREC run on stories260K from the Correct page, and a chat with its result.
QT_QPA_PLATFORM=xcb "$repo_root/scripts/run.sh" --page Correct &
app_pid=$!
xvfb_wait_for_window "LowBit Studio" 120
dismiss_first_start_notice
sleep 1
xdotool search --name '^LowBit Studio$' windowfocus --sync key ctrl+Return   # Start
sleep 25  # teacher cache, then some training steps
import -window "$(xvfb_window_id "LowBit Studio")" "$out_dir/lrec-dashboard.png"
echo "wrote $out_dir/lrec-dashboard.png"
for _ in $(seq 240); do [ -f "$work/lrec/adapter/adapter_model.safetensors" ] && break; sleep 1; done
kill "$app_pid" 2>/dev/null || true; wait "$app_pid" 2>/dev/null || true

# The app started again: the Runs page shows the LREC run re-attached from its folder.
QT_QPA_PLATFORM=xcb "$repo_root/scripts/run.sh" --page Runs &
app_pid=$!
xvfb_wait_for_window "LowBit Studio" 120
dismiss_first_start_notice
sleep 2
import -window "$(xvfb_window_id "LowBit Studio")" "$out_dir/runs.png"
echo "wrote $out_dir/runs.png"
kill "$app_pid" 2>/dev/null || true; wait "$app_pid" 2>/dev/null || true

chat_exchange() {  # $1: the PNG to write
  QT_QPA_PLATFORM=xcb "$repo_root/scripts/run.sh" --page Chat &
  app_pid=$!
  xvfb_wait_for_window "LowBit Studio" 120
  dismiss_first_start_notice
  sleep 1
  xdotool search --name '^LowBit Studio$' windowfocus --sync key ctrl+l
  sleep 10  # the message box is enabled once a model has loaded
  # (xdotool drops the first keystroke of each letter on a fresh Xvfb: type the message once, erase it, type it.)
  xdotool search --name '^LowBit Studio$' windowfocus --sync type --delay 30 'Tell me a story about a cat.'
  xdotool key ctrl+a BackSpace
  xdotool type --delay 30 'Tell me a story about a cat.'
  xdotool key Return
  sleep 8
  import -window "$(xvfb_window_id "LowBit Studio")" "$1"
  echo "wrote $1"
  kill "$app_pid" 2>/dev/null || true; wait "$app_pid" 2>/dev/null || true
}
# One model (INT2 + LREC), then INT2 beside INT2 + LREC on the same prompt and seed.
sed -i "s|^adapters=\$|adapters=$work/lrec/adapter|" "$XDG_CONFIG_HOME/LowBit/LowBit Studio.conf"
chat_exchange "$out_dir/chat.png"
sed -i "s|^adapters=$work/lrec/adapter\$|adapters=|; s|^columns=1\$|columns=2|" "$XDG_CONFIG_HOME/LowBit/LowBit Studio.conf"
chat_exchange "$out_dir/chat-compare.png"
fi

# The walk: what a new user does with the whole pipeline, window maximized on the laptop screen. New run (the
# remembered choices, 40 correction steps and one fine-tuning epoch so that it takes minutes) → Stop & save during
# the correction → quit → start again (the app opens on the stopped run) → Resume → finished → the Models page
# with what the run made → chat with the result (the quantized model with its correction and fine-tune adapters).
walk="$out_dir/walk"
mkdir -p "$walk"
sed -i "s|^steps=200\$|steps=40|; s|^epochs=3\$|epochs=1|; s|^columns=2\$|columns=1|" "$XDG_CONFIG_HOME/LowBit/LowBit Studio.conf"
sed -i "/^recent=/d" "$XDG_CONFIG_HOME/LowBit/LowBit Studio.conf"  # no earlier runs: the app opens on Models
runs_root="$XDG_DATA_HOME/LowBit/LowBit Studio/runs"
shot() {  # $1: the window title, $2: the PNG
  sleep 1
  import -window "$(xvfb_window_id "$1")" "$walk/$2"
  echo "wrote $walk/$2"
}
start_app() {
  QT_QPA_PLATFORM=xcb "$repo_root/scripts/run.sh" &
  app_pid=$!
  xvfb_wait_for_window "LowBit Studio" 120
  dismiss_first_start_notice
  xdotool windowsize --sync "$(xvfb_window_id "LowBit Studio")" 100% 100%
  sleep 2
}
keys() {  # $1: the window title, then the keys
  local window
  window="$(xvfb_window_id "$1")"
  shift
  xdotool windowactivate --sync "$window" 2>/dev/null || xdotool windowfocus --sync "$window"
  xdotool key --delay 200 "$@"
}
pipeline_state() { sed -n 's/.*"state": *"\([a-z]*\)".*/\1/p' "$runs_root"/*/run_state.json 2>/dev/null | head -1; }
start_app
shot "LowBit Studio" 01-opens-on-models.png
keys 'LowBit Studio' Escape ctrl+n
xvfb_wait_for_window "New run — LowBit Studio" 30
sleep 3
for _ in 1 2 3; do keys 'New run — LowBit Studio' alt+n; sleep 3; done
sleep 4
shot "New run — LowBit Studio" 02-wizard-settings.png
keys 'New run — LowBit Studio' alt+n
sleep 8  # the summary checks the instructions at the run's cutoff
shot "New run — LowBit Studio" 03-wizard-summary.png
xdotool key alt+s 2>/dev/null || true  # "Start with the N usable records anyway", where the check asks
sleep 1
keys 'New run — LowBit Studio' alt+f
for _ in $(seq 300); do
  [ "$(cat "$runs_root"/*/lrec/metrics.jsonl 2>/dev/null | wc -l)" -ge 12 ] && break
  sleep 1
done
shot "LowBit Studio" 04-correcting.png
keys 'LowBit Studio' ctrl+s  # Stop & save
for _ in $(seq 60); do [ "$(pipeline_state)" = stopped ] && break; sleep 1; done
shot "LowBit Studio" 05-stopped.png
keys 'LowBit Studio' ctrl+q
wait "$app_pid" 2>/dev/null || true
start_app  # after a restart: on the Runs page, the stopped pipeline shown
shot "LowBit Studio" 06-after-restart.png
keys 'LowBit Studio' ctrl+r  # Resume
sleep 6
shot "LowBit Studio" 07-resumed.png
for _ in $(seq 900); do [ "$(pipeline_state)" = finished ] && break; sleep 1; done
shot "LowBit Studio" 08-finished.png
# From the finished run to talking with what it made: the Models page now lists the pipeline's quantized model with
# its adapters; "Chat with the result" (Ctrl+T on the dashboard) loads it with both adapters on the Chat page.
keys 'LowBit Studio' ctrl+1
sleep 4  # the library scans again when its page is shown
shot "LowBit Studio" 09-library-after-the-run.png
keys 'LowBit Studio' ctrl+6
sleep 2
keys 'LowBit Studio' ctrl+t
sleep 8  # loading the model and its two adapters
xdotool type --delay 50 "Tell me a story about a cat."
xdotool key Return
sleep 20
shot "LowBit Studio" 10-chat-with-the-result.png
kill "$app_pid" 2>/dev/null || true; wait "$app_pid" 2>/dev/null || true
rm -rf "$work"
