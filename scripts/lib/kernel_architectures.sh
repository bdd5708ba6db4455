# Which GPU architectures a program's CUDA kernels are compiled for, read from the program itself with cuobjdump
# (the CUDA toolkit's, else the copy the Triton wheel in .venv carries; CI machines have the latter).
#   source scripts/lib/kernel_architectures.sh
#   kernel_architectures PROGRAM      # prints e.g. "sm_75 sm_80 ... sm_120 ptx:sm_120"; returns 2 without cuobjdump
#   missing_user_architectures LIST   # the user architectures (LOWBIT_USER_CUDA_ARCHITECTURES) that LIST lacks
_kernel_architectures_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

find_cuobjdump() {
  local candidate
  for candidate in "$(command -v cuobjdump 2>/dev/null)" /usr/local/cuda/bin/cuobjdump \
                   "$_kernel_architectures_root"/.venv/lib/python3*/site-packages/triton/backends/nvidia/bin/cuobjdump; do
    [ -n "$candidate" ] && [ -x "$candidate" ] && { echo "$candidate"; return 0; }
  done
  return 2
}

kernel_architectures() {
  local cuobjdump
  cuobjdump="$(find_cuobjdump)" || return 2
  {
    "$cuobjdump" --list-elf "$1" 2>/dev/null | grep -o 'sm_[0-9]*' | sort -u -V
    "$cuobjdump" --list-ptx "$1" 2>/dev/null | grep -o 'sm_[0-9]*' | sort -u -V | sed 's/^/ptx:/'
  } | tr '\n' ' ' | sed 's/ $//'
}

# The list is the one in cmake/LowBitCuda.cmake, read from there so that the two cannot disagree.
user_architectures() {
  sed -n 's/^set(LOWBIT_USER_CUDA_ARCHITECTURES \(.*\))$/\1/p' "$_kernel_architectures_root/cmake/LowBitCuda.cmake" |
    tr ' ' '\n' | sed -e 's/^\([0-9]*\)-real$/sm_\1/' -e 's/^\([0-9]*\)-virtual$/ptx:sm_\1/' | tr '\n' ' ' | sed 's/ $//'
}

missing_user_architectures() {
  local wanted missing=""
  for wanted in $(user_architectures); do
    [[ " $1 " == *" $wanted "* ]] || missing="$missing $wanted"
  done
  echo "${missing# }"
}
