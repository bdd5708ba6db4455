#!/bin/sh
# Run by the self-extracting lowbit-studio-*.run (makeself) from the folder it unpacked: installs LowBit Studio for
# the current user, without root: the program in $LOWBIT_PREFIX (default ~/.local/opt/lowbit-studio), `lowbit` and
# `lowbit-studio` on the PATH through ~/.local/bin, a menu entry and an icon. An earlier version is replaced.
# The uninstaller it writes (…/lowbit-studio/uninstall.sh) removes exactly these files: models, adapters and runs
# (~/.local/share/LowBit) stay.
set -eu
prefix="${LOWBIT_PREFIX:-$HOME/.local/opt/lowbit-studio}"
bin_dir="${XDG_BIN_HOME:-$HOME/.local/bin}"
data_dir="${XDG_DATA_HOME:-$HOME/.local/share}"
version="$(cat VERSION)"

echo "Installing LowBit Studio $version into $prefix"
if [ -x "$prefix/uninstall.sh" ]; then "$prefix/uninstall.sh" --quiet; fi
mkdir -p "$prefix" "$bin_dir" "$data_dir/applications" "$data_dir/icons/hicolor/256x256/apps"
partial="$prefix.partial.$$"
rm -rf "$partial"
mkdir -p "$partial"
cp -R bin lib plugins share VERSION "$partial"/
rm -rf "$prefix" && mv "$partial" "$prefix"

ln -sf "$prefix/bin/lowbit" "$bin_dir/lowbit"
ln -sf "$prefix/bin/lowbit-studio" "$bin_dir/lowbit-studio"
sed "s|^Exec=lowbit-studio|Exec=\"$prefix/bin/lowbit-studio\"|" "$prefix/share/applications/lowbit-studio.desktop" \
  > "$data_dir/applications/lowbit-studio.desktop"
cp "$prefix/share/icons/hicolor/256x256/apps/lowbit-studio.png" "$data_dir/icons/hicolor/256x256/apps/lowbit-studio.png"

cat > "$prefix/uninstall.sh" <<UNINSTALL
#!/bin/sh
# Removes LowBit Studio $version installed by the .run; your models, adapters and runs are not touched.
rm -f "$bin_dir/lowbit" "$bin_dir/lowbit-studio" "$data_dir/applications/lowbit-studio.desktop" \\
      "$data_dir/icons/hicolor/256x256/apps/lowbit-studio.png"
rm -rf "$prefix"
[ "\${1:-}" = "--quiet" ] || echo "LowBit Studio removed; your models and runs in $data_dir/LowBit are still there."
UNINSTALL
chmod +x "$prefix/uninstall.sh"
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database "$data_dir/applications" >/dev/null 2>&1 || true

echo "Installed. Start it from your applications menu, or run: $bin_dir/lowbit-studio"
case ":$PATH:" in *":$bin_dir:"*) ;; *) echo "($bin_dir is not on your PATH; add it to use 'lowbit' in a terminal)";; esac
echo "Uninstall: $prefix/uninstall.sh"
