#!/usr/bin/env bash
# Makes an installed LowBit tree (cmake --install … --prefix STAGE) independent of the system's Qt, QCustomPlot and
# sentencepiece, for the self-extracting .run that any x86-64 distribution can use: copies those libraries (and
# the ones only Qt needs: ICU, double-conversion, the xcb utility libraries) into STAGE/lib/lowbit, the Qt
# plugins the app needs into STAGE/plugins, and points both at $ORIGIN. The libraries every desktop has (libc,
# X11/xcb core, GL, fontconfig, freetype, glib, dbus) are left to the system, as AppImage's exclude list does.
#   installer/linux/bundle-qt.sh STAGE
set -euo pipefail
stage="$1"
lib="$stage/lib/lowbit"
qt_plugins="$(dirname "$(dirname "$(readlink -f "$(dpkg -L libqt6gui6 2>/dev/null | grep '/platforms/libqxcb.so$' | head -1)")")")"
[ -d "$qt_plugins" ] || { echo "bundle-qt: Qt's plugin folder not found (is libqt6gui6 installed?)" >&2; exit 1; }

# Whose libraries travel: Qt and what only Qt (or we) use.
bundled_regex='^(libQt6|libQCustomPlot|libsentencepiece|libicu|libdouble-conversion|libb2|libmd4c|libpcre2-16|libxcb-(icccm|image|keysyms|render-util|xkb|xinerama|cursor|randr|shape|sync|xfixes|util|shm|render|xinput)|libxkbcommon)'

mkdir -p "$stage/plugins"
for dir in platforms xcbglintegrations imageformats; do
  [ -d "$qt_plugins/$dir" ] || continue
  mkdir -p "$stage/plugins/$dir"
  for plugin in "$qt_plugins/$dir"/*.so; do
    case "$(basename "$plugin")" in
      libqxcb.so|libqoffscreen.so|libqxcb-*.so|libqico.so|libqjpeg.so|libqgif.so|libqsvg.so) cp -L "$plugin" "$stage/plugins/$dir/" ;;
    esac
  done
done

copy_dependencies() {  # copies the bundled-regex dependencies of every file given
  ldd "$@" 2>/dev/null | awk '/=> \// {print $1, $3}' | sort -u | while read -r name path; do
    if [[ "$name" =~ $bundled_regex ]] && [ ! -e "$lib/$name" ]; then cp -L "$path" "$lib/$name"; fi
  done
}
# Twice: the copied libraries' own dependencies (ICU under Qt Core) come in on the second pass.
for pass in 1 2; do
  copy_dependencies "$stage"/bin/* $(find "$stage/plugins" -name '*.so') $(find "$lib" -maxdepth 1 -name 'libQt6*' -o -maxdepth 1 -name 'libQCustomPlot*')
done

for file in "$lib"/*; do
  [[ "$(basename "$file")" =~ $bundled_regex ]] && patchelf --set-rpath '$ORIGIN' "$file"
done
find "$stage/plugins" -name '*.so' -exec patchelf --set-rpath '$ORIGIN/../../lib/lowbit' {} +
# Qt finds its plugins beside the binaries, never the system's (a system Qt of another version would crash).
printf '[Paths]\nPrefix = ..\nPlugins = plugins\n' > "$stage/bin/qt.conf"
