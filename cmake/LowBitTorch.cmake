# Finds LibTorch inside a Python environment's torch package (the pinned PyPI wheel that scripts/setup.sh
# installs into .venv, or /opt/torch/.venv on the GPU machine) and exposes it as the target lowbit::torch.
if(NOT EXISTS "${LOWBIT_PYTHON}")
  message(FATAL_ERROR "lowbit: no Python at LOWBIT_PYTHON=${LOWBIT_PYTHON}; run scripts/setup.sh, which "
                      "creates .venv with the pinned torch, or pass -DLOWBIT_PYTHON=/path/to/python")
endif()
execute_process(
  COMMAND "${LOWBIT_PYTHON}" -c "import torch; print(torch.utils.cmake_prefix_path); print(torch.__version__)"
  OUTPUT_VARIABLE _lowbit_torch_out ERROR_VARIABLE _lowbit_torch_err RESULT_VARIABLE _lowbit_torch_rc
  OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT _lowbit_torch_rc EQUAL 0)
  message(FATAL_ERROR "lowbit: '${LOWBIT_PYTHON}' cannot import torch (${_lowbit_torch_err}); "
                      "run scripts/setup.sh to install the pinned torch")
endif()
string(REPLACE "\n" ";" _lowbit_torch_lines "${_lowbit_torch_out}")
list(GET _lowbit_torch_lines 0 _lowbit_torch_prefix)
list(GET _lowbit_torch_lines 1 LOWBIT_TORCH_VERSION)
list(APPEND CMAKE_PREFIX_PATH "${_lowbit_torch_prefix}")

# TorchConfig's CUDA part looks for cuDNN/cuSPARSELt/NVSHMEM in the toolkit; the wheel ships them as nvidia-*
# packages instead. Point it there and silence the kineto note; neither changes what we link.
# TorchConfig's CUDA part overwrites CMAKE_CUDA_ARCHITECTURES (it uses its own TORCH_CUDA_ARCH_LIST for
# torch extensions, which kernels/ is not): keep ours, and hand it our list so it does not probe for a GPU.
set(_lowbit_saved_cuda_archs "${CMAKE_CUDA_ARCHITECTURES}")
if(NOT DEFINED TORCH_CUDA_ARCH_LIST AND LOWBIT_TORCH_ARCH_LIST)
  set(TORCH_CUDA_ARCH_LIST "${LOWBIT_TORCH_ARCH_LIST}")
endif()
find_package(Torch REQUIRED)
set(CMAKE_CUDA_ARCHITECTURES "${_lowbit_saved_cuda_archs}")

add_library(lowbit_torch INTERFACE)
add_library(lowbit::torch ALIAS lowbit_torch)
target_link_libraries(lowbit_torch INTERFACE ${TORCH_LIBRARIES})
# The PyPI libtorch.so exports its own copy of std::filesystem (64 symbols, built with a newer GCC); listed
# before the system libstdc++ it wins symbol lookup, and its remove_all() jumps to a function this libstdc++
# lacks (a crash seen here). Naming libstdc++ first among the needed libraries makes the system's copy win.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND NOT WIN32)
  target_link_options(lowbit_torch INTERFACE "LINKER:--push-state,--no-as-needed,-lstdc++,--pop-state")
endif()
target_include_directories(lowbit_torch SYSTEM INTERFACE ${TORCH_INCLUDE_DIRS})
get_filename_component(LOWBIT_TORCH_LIB_DIR "${_lowbit_torch_prefix}/../../lib" ABSOLUTE)
if(TORCH_CUDA_LIBRARIES OR TARGET torch_cuda)
  set(LOWBIT_TORCH_CUDA_SUMMARY "CUDA build")
else()
  set(LOWBIT_TORCH_CUDA_SUMMARY "CPU build")
endif()
