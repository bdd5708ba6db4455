# Install rules (included only from the top-level CMakeLists.txt); packaging (installer/packaging.cmake, CPack)
# and scripts/package.sh build on them.
#
# Layout under the prefix (/usr for the .deb, a private folder for the .run):
#   bin/lowbit, bin/lowbit-studio           RPATH $ORIGIN/../lib/lowbit
#   lib/lowbit/                             LibTorch and the CUDA runtime libraries it needs (never the driver:
#                                           libcuda, libnvidia-ml come with it), under the names the binaries ask for
#   share/applications/lowbit-studio.desktop, share/icons/hicolor/256x256/apps/lowbit-studio.png
# Qt, QCustomPlot and sentencepiece are the system's (the .deb depends on them; the .run adds its own copies).
# On Windows the DLLs go next to the executables (no RPATH there), the system's and the driver's (nvcuda.dll)
# excluded, and windeployqt adds Qt (docs/windows-installer.md).
include(GNUInstallDirs)
if(WIN32)
  set(LOWBIT_INSTALL_LIBDIR "${CMAKE_INSTALL_BINDIR}")
else()
  set(LOWBIT_INSTALL_LIBDIR "${CMAKE_INSTALL_LIBDIR}/lowbit")
endif()

set(_lowbit_programs lowbit)
if(LOWBIT_BUILD_UI)
  list(APPEND _lowbit_programs lowbit-studio)
endif()
set_target_properties(${_lowbit_programs} PROPERTIES INSTALL_RPATH "$ORIGIN/../${LOWBIT_INSTALL_LIBDIR}")
install(TARGETS ${_lowbit_programs} RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}" COMPONENT runtime)

# The libraries the programs load, found at install time (installer/bundle-runtime.cmake): LibTorch and the
# wheel's CUDA libraries (torch's own RPATHs name these folders); where a library is found twice (the CUDA
# runtime: the toolkit's, which our kernels link, and the wheel's) the wheel's copy wins, since LibTorch was
# built against it.
file(GLOB _lowbit_nvidia_lib_dirs LIST_DIRECTORIES true "${LOWBIT_TORCH_LIB_DIR}/../../nvidia/*/lib")
set(_lowbit_program_files "")
foreach(program IN LISTS _lowbit_programs)
  list(APPEND _lowbit_program_files "$<TARGET_FILE:${program}>")
endforeach()
install(CODE "
  set(LOWBIT_BUNDLE_PROGRAMS \"${_lowbit_program_files}\")
  set(LOWBIT_BUNDLE_DIRECTORIES \"${LOWBIT_TORCH_LIB_DIR};${_lowbit_nvidia_lib_dirs}\")
  set(LOWBIT_BUNDLE_DESTINATION \"${LOWBIT_INSTALL_LIBDIR}\")
  set(LOWBIT_BUNDLE_PREFERRED \"${LOWBIT_TORCH_LIB_DIR}/../..\")
  include(\"${PROJECT_SOURCE_DIR}/installer/bundle-runtime.cmake\")
" COMPONENT runtime)

# Loaded at run time (dlopen), so no link line names them: cuDNN's engines, NVRTC for LibTorch's fused kernels,
# cuSOLVER through torch_cuda_linalg, and the CUDA runtime our kernels link (the wheel's copy).
if(LOWBIT_TORCH_CUDA_SUMMARY STREQUAL "CUDA build")
  set(_lowbit_dlopened "")
  foreach(pattern "${LOWBIT_TORCH_LIB_DIR}/libtorch_cuda_linalg.so" "${LOWBIT_TORCH_LIB_DIR}/libcaffe2_nvrtc.so")
    list(APPEND _lowbit_dlopened "${pattern}")
  endforeach()
  foreach(dir IN LISTS _lowbit_nvidia_lib_dirs)
    file(GLOB _found "${dir}/libcudnn*.so.*" "${dir}/libnvrtc.so.*" "${dir}/libnvrtc-builtins.so.*"
                     "${dir}/libcusolver.so.*")
    list(APPEND _lowbit_dlopened ${_found})
  endforeach()
  install(FILES ${_lowbit_dlopened} DESTINATION "${LOWBIT_INSTALL_LIBDIR}" COMPONENT runtime)
endif()

if(LOWBIT_BUILD_UI)
  install(FILES "${PROJECT_SOURCE_DIR}/installer/linux/lowbit-studio.desktop"
          DESTINATION "${CMAKE_INSTALL_DATADIR}/applications" COMPONENT runtime)
  install(FILES "${PROJECT_SOURCE_DIR}/resources/icons/lowbit.png"
          DESTINATION "${CMAKE_INSTALL_DATADIR}/icons/hicolor/256x256/apps" RENAME lowbit-studio.png COMPONENT runtime)
endif()

if(WIN32)
  # The installer unpacks the CUDA runtime archive with it (installer/windows/cuda-payload.nsh).
  find_program(LOWBIT_7ZA 7za)
  if(LOWBIT_7ZA)
    install(PROGRAMS "${LOWBIT_7ZA}" DESTINATION "${CMAKE_INSTALL_BINDIR}" COMPONENT runtime)
  else()
    message(WARNING "lowbit: 7za.exe not found; the NSIS installer needs it to unpack lowbit-cuda-runtime.7z")
  endif()
endif()
if(WIN32 AND LOWBIT_BUILD_UI)
  find_program(LOWBIT_WINDEPLOYQT windeployqt HINTS "${Qt6_DIR}/../../../bin")
  if(LOWBIT_WINDEPLOYQT)
    install(CODE "execute_process(COMMAND \"${LOWBIT_WINDEPLOYQT}\" --release --no-translations --no-opengl-sw
                  \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}/lowbit-studio.exe\")" COMPONENT runtime)
  endif()
endif()
