#!/usr/bin/env bash
# Builds the Linux packages of LowBit Studio from the default build, into build/default/packages/:
#   lowbit-studio_<version>_amd64.deb          CPack: /usr/bin/{lowbit,lowbit-studio}, LibTorch + CUDA runtime in
#                                              /usr/lib/lowbit, desktop entry and icon; Qt from the distribution
#   lowbit-studio-<version>-linux-x86_64.run   makeself: the same tree plus its own Qt, QCustomPlot and
#                                              sentencepiece, installed per user (no root) by installer/linux/install.sh
# Neither contains the NVIDIA driver. Then it runs the packages' end-to-end test (tests/e2e/packages.sh).
#   scripts/package.sh            # set up and build if needed, package (unless up to date), test
#   scripts/package.sh --no-test  # scripts/test.sh does this, then runs every test
#   scripts/package.sh --force    # package even when up to date
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
log() { printf '\033[1m[package]\033[0m %s\n' "$*"; }
source "$repo_root/scripts/lib/kernel_architectures.sh"

[ -n "${LOWBIT_SETUP_DONE:-}" ] || "$repo_root/scripts/setup.sh" >/dev/null  # scripts/test.sh has just run it
build="$repo_root/build/default"
packages="$build/packages"
version="$(sed -n 's/^project(LowBit VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)"
mkdir -p "$packages"

# A package must run on every laptop GPU our users have, not only on the GPU of the machine that built it.
architectures="$(kernel_architectures "$build/app/lowbit")" || {
  echo "package.sh: cannot read which GPUs $build/app/lowbit's kernels are compiled for: no cuobjdump (install the" \
       "CUDA toolkit, or run scripts/setup.sh, whose .venv carries one)" >&2; exit 1; }
missing="$(missing_user_architectures "$architectures")"
if [ -n "$missing" ]; then
  echo "package.sh: $build/app/lowbit's kernels are compiled for '${architectures:-no GPU at all}', which lacks $missing:" \
       "the package would not run its kernels on every RTX 20-50 laptop. This build targets only the GPU it found." \
       "Reconfigure for every user GPU and rebuild: cmake --preset default -DLOWBIT_CUDA_FOR_USERS=ON && cmake --build --preset default" >&2
  exit 1
fi
log "kernels for $architectures"

# Up to date: both packages newer than the programs and every packaging file.
newest_input="$(find "$build/app/lowbit" "$build/app/lowbit-studio" "$repo_root/installer" -type f -printf '%T@\n' | sort -n | tail -1)"
up_to_date=true
for package in "$packages"/lowbit-studio_*_amd64.deb "$packages"/lowbit-studio-*-linux-x86_64.run; do
  if [ ! -f "$package" ] || [ "$(stat -c %Y "$package")" -lt "${newest_input%.*}" ]; then up_to_date=false; fi
done
if [ "$up_to_date" = true ] && [ "${1:-}" != "--force" ]; then
  log "packages are up to date ($(ls "$packages"/*.deb "$packages"/*.run | xargs -n1 basename | tr '\n' ' '))"
else

log "the .deb (CPack)"
rm -f "$packages"/lowbit-studio_*.deb
(cd "$build" && cpack -G DEB -C Release >/dev/null)
rm -rf "$packages/_CPack_Packages"  # CPack's 3 GB staging copy
deb="$(ls "$packages"/lowbit-studio_*_amd64.deb)"
log "wrote $deb ($(du -h "$deb" | cut -f1))"

log "the .run (makeself)"
stage="$packages/run-stage/lowbit-studio"
rm -rf "$packages/run-stage"
cmake --install "$build" --prefix "$stage" --component runtime --strip >/dev/null
"$repo_root/installer/linux/bundle-qt.sh" "$stage"
cp "$repo_root/installer/linux/install.sh" "$stage/install.sh"
printf '%s\n' "$version" > "$stage/VERSION"
run="$packages/lowbit-studio-$version-linux-x86_64.run"
# zstd at level 3: level 19 (makeself's default) takes most of an hour for 3 GB on a laptop.
makeself --zstd --complevel 3 --nox11 "$stage" "$run" "LowBit Studio $version" ./install.sh >/dev/null
log "wrote $run ($(du -h "$run" | cut -f1))"
rm -rf "$packages/run-stage"
fi

if [ "${1:-}" != "--no-test" ] && [ "${2:-}" != "--no-test" ]; then
  ctest --test-dir "$build" -R '^e2e\.packages$' --output-on-failure
fi
