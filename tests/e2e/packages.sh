#!/usr/bin/env bash
# The Linux packages as a user gets them (scripts/package.sh builds them into build/default/packages): the .deb
# unpacked with dpkg -x into a scratch root, the .run unpacked and also installed for a scratch user and
# uninstalled again. From each installed tree: `lowbit --version`, `lowbit generate` on stories260K (greedy: the
# llama2.c reference text), every library resolved inside the tree (never .venv or the CUDA toolkit), and
# `lowbit-studio` opening its window under Xvfb.
#   tests/e2e/packages.sh PACKAGES_DIR TESTDATA_DIR
set -uo pipefail
packages="$1"
testdata="$2"
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/check.sh"
source "$here/../../scripts/lib/xvfb.sh"
source "$here/../../scripts/lib/kernel_architectures.sh"
model="$testdata/models/stories260K-hf"
[ -d "$model" ] || { echo "SKIP: $model not found (shared test assets missing)"; exit 77; }
deb="$(ls "$packages"/lowbit-studio_*_amd64.deb 2>/dev/null | head -1)"
run="$(ls "$packages"/lowbit-studio-*-linux-x86_64.run 2>/dev/null | head -1)"
if [ -z "$deb" ] || [ -z "$run" ]; then
  echo "SKIP: no packages in $packages; build them with scripts/package.sh"; exit 77
fi
scratch="$(mktemp -d)"
xvfb_start || { rm -rf "$scratch"; exit 1; }
# After xvfb_start, whose own EXIT trap this one replaces: the unpacked trees are 7 GB.
trap 'kill "$XVFB_PID" 2>/dev/null; rm -rf "$scratch"' EXIT

check_tree() {  # $1: what, $2: the bin folder; libraries must come from $2/../lib/lowbit (the RUNPATH)
  local what="$1" bin="$2" out rc
  local root="$bin/../lib/lowbit"
  out="$("$bin/lowbit" --version 2>&1)"; rc=$?
  check "$what: lowbit --version" 0 "$rc" "$out" '^lowbit [0-9]+\.[0-9]+\.[0-9]+' 'LibTorch: 2\.11\.0'
  out="$("$bin/lowbit" generate "$model" --prompt "Once upon a time" --greedy --max-new-tokens 24 --device cpu 2>&1)"; rc=$?
  check "$what: lowbit generate on stories260K" 0 "$rc" "$out" 'Once upon a time, there was a little girl named Lily'
  for program in lowbit lowbit-studio; do
    out="$(ldd "$bin/$program" 2>&1)"
    if grep -q "not found" <<<"$out"; then echo "FAIL: $what: $program has unresolved libraries:"; grep "not found" <<<"$out"; failures=$((failures + 1)); fi
    if grep -E -q '\.venv|/usr/local/cuda|/build/' <<<"$out"; then
      echo "FAIL: $what: $program loads libraries from outside the installed tree:"; grep -E '\.venv|/usr/local/cuda|/build/' <<<"$out"
      failures=$((failures + 1))
    fi
    grep -q "libtorch_cuda.so => $root" <<<"$out" || { echo "FAIL: $what: $program does not take LibTorch from $root"; failures=$((failures + 1)); }
  done
  local log="$scratch/studio-$RANDOM.log"
  QT_QPA_PLATFORM=xcb XDG_CONFIG_HOME="$scratch/config" "$bin/lowbit-studio" >"$log" 2>&1 &
  local pid=$!
  if xvfb_wait_for_window "LowBit Studio" 60; then
    echo "ok: $what: lowbit-studio opens its window"
  else
    echo "FAIL: $what: lowbit-studio showed no window within 60 s"; sed 's/^/    /' "$log"; failures=$((failures + 1))
  fi
  kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
}

# .deb
mkdir -p "$scratch/deb-root"
dpkg -x "$deb" "$scratch/deb-root" || { echo "FAIL: dpkg -x $deb"; exit 1; }
out="$(dpkg-deb --info "$deb")"
check ".deb: control names the dependencies and no driver" 0 0 "$out" 'Package: lowbit-studio' 'Depends: .*libqt6widgets6' 'Installed-Size'
for file in usr/bin/lowbit usr/bin/lowbit-studio usr/share/applications/lowbit-studio.desktop \
            usr/share/icons/hicolor/256x256/apps/lowbit-studio.png usr/lib/lowbit/libtorch_cuda.so; do
  [ -e "$scratch/deb-root/$file" ] || { echo "FAIL: .deb lacks /$file"; failures=$((failures + 1)); }
done
if ls "$scratch/deb-root/usr/lib/lowbit" | grep -E -q '^lib(cuda|nvidia-ml)\.so'; then
  echo "FAIL: .deb bundles the NVIDIA driver"; failures=$((failures + 1))
fi
readelf -d "$scratch/deb-root/usr/bin/lowbit" | grep -q 'R.*PATH.*\$ORIGIN/../lib/lowbit' ||
  { echo "FAIL: .deb: lowbit's RUNPATH is not \$ORIGIN/../lib/lowbit"; failures=$((failures + 1)); }
for program in lowbit lowbit-studio; do
  if architectures="$(kernel_architectures "$scratch/deb-root/usr/bin/$program")"; then
    missing="$(missing_user_architectures "$architectures")"
    if [ -z "$missing" ]; then echo "ok: .deb: $program's kernels are compiled for $architectures"
    else echo "FAIL: .deb: $program's kernels are compiled for '$architectures', lacking $missing"; failures=$((failures + 1)); fi
  else
    echo "FAIL: no cuobjdump to read $program's kernel architectures (scripts/setup.sh's .venv carries one)"; failures=$((failures + 1))
  fi
done
check_tree ".deb" "$scratch/deb-root/usr/bin"

# .run: unpacked as it is shipped, then installed and uninstalled for a scratch user.
sh "$run" --noexec --target "$scratch/run-tree" >/dev/null 2>&1 || { echo "FAIL: $run does not unpack"; exit 1; }
check_tree ".run" "$scratch/run-tree/bin"
out="$(ldd "$scratch/run-tree/bin/lowbit-studio" 2>&1)"
check ".run: carries its own Qt" 0 0 "$out" "libQt6Widgets.so.6 => $scratch/run-tree/bin/../lib/lowbit/" \
  "libQt6Core.so.6 => $scratch/run-tree/bin/../lib/lowbit/" "libQCustomPlotQt6.so.2.1 => $scratch/run-tree/bin/../lib/lowbit/"
out="$(QT_DEBUG_PLUGINS=1 QT_QPA_PLATFORM=offscreen "$scratch/run-tree/bin/lowbit-studio" --version 2>&1)"; rc=$?
check ".run: Qt loads the platform plugins it carries" 0 "$rc" "$out" "$scratch/run-tree/plugins/platforms/libqoffscreen.so\" loaded library"
home="$scratch/home"
mkdir -p "$home/.local/share/LowBit/LowBit Studio/models/my-model"
echo '{}' > "$home/.local/share/LowBit/LowBit Studio/models/my-model/config.json"
out="$(HOME="$home" XDG_DATA_HOME= XDG_BIN_HOME= sh "$run" --nox11 2>&1)"; rc=$?
check ".run installs for the user without root" 0 "$rc" "$out" 'Installed\.' 'Uninstall: '
for file in .local/bin/lowbit .local/bin/lowbit-studio .local/share/applications/lowbit-studio.desktop \
            .local/share/icons/hicolor/256x256/apps/lowbit-studio.png .local/opt/lowbit-studio/uninstall.sh; do
  [ -e "$home/$file" ] || { echo "FAIL: .run install lacks ~/$file"; failures=$((failures + 1)); }
done
grep -q "^Exec=\"$home/.local/opt/lowbit-studio/bin/lowbit-studio\"" "$home/.local/share/applications/lowbit-studio.desktop" ||
  { echo "FAIL: the desktop entry does not start the installed program"; failures=$((failures + 1)); }
out="$("$home/.local/bin/lowbit" --version 2>&1)"; rc=$?
check ".run: lowbit from ~/.local/bin" 0 "$rc" "$out" '^lowbit [0-9]'
out="$(HOME="$home" "$home/.local/opt/lowbit-studio/uninstall.sh" 2>&1)"; rc=$?
check ".run: uninstall" 0 "$rc" "$out" 'your models and runs'
[ ! -e "$home/.local/opt/lowbit-studio" ] && [ ! -e "$home/.local/bin/lowbit" ] || { echo "FAIL: uninstall left the program behind"; failures=$((failures + 1)); }
[ -f "$home/.local/share/LowBit/LowBit Studio/models/my-model/config.json" ] || { echo "FAIL: uninstall removed the user's models"; failures=$((failures + 1)); }

[ "$failures" -eq 0 ] || { echo "$failures check(s) failed"; exit 1; }
echo "all package checks passed"
