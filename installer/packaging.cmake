# CPack: the Linux .deb (scripts/package.sh also wraps the same install tree as a self-extracting .run) and the
# Windows NSIS configuration (docs/windows-installer.md: built on Windows with the official LibTorch; untested).
# Included only from the top-level CMakeLists.txt, after the install rules.
set(CPACK_PACKAGE_NAME "lowbit-studio")
set(CPACK_PACKAGE_VENDOR "LowBit")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGE_DESCRIPTION
    "Quantize LLaMA-family models to 2/3/4/8 bits with GPTQ, repair the damage with low-rank error correction \
(LREC), instruction-tune with LoRA on the frozen bit-packed weights (EMEF) and chat with the result, on one \
consumer GPU. Needs only the NVIDIA driver (580 or newer for the GPU; runs on the CPU without it).")
set(CPACK_PACKAGE_CONTACT "LowBit Studio maintainers <maintainers@lowbit.invalid>")
set(CPACK_PACKAGE_INSTALL_DIRECTORY "LowBit Studio")
set(CPACK_PACKAGE_EXECUTABLES "lowbit-studio" "LowBit Studio")
set(CPACK_COMPONENTS_ALL runtime)
set(CPACK_PACKAGE_DIRECTORY "${PROJECT_BINARY_DIR}/packages")
set(CPACK_STRIP_FILES ON)

# .deb: installed under /usr; Qt, QCustomPlot and sentencepiece from the distribution, LibTorch and the CUDA
# runtime bundled in /usr/lib/lowbit. Uninstalling removes only these files: models, adapters and runs live in
# the user's folders (~/.local/share/LowBit) and stay.
set(CPACK_DEB_COMPONENT_INSTALL OFF)
set(CPACK_DEBIAN_PACKAGE_NAME "lowbit-studio")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION "science")
set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE "amd64")
set(CPACK_DEBIAN_PACKAGE_DEPENDS
    "libqt6widgets6 (>= 6.4), libqt6printsupport6 (>= 6.4), libqt6gui6 (>= 6.4), libqcustomplot2.1-qt6, libsentencepiece0, libpcre2-8-0, libcurl4")
# zstd: the payload is 3 GB of CUDA libraries; xz would take most of an hour to pack on a laptop.
set(CPACK_DEBIAN_COMPRESSION_TYPE "zstd")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS OFF)  # the bundled CUDA libraries are not the system's

# Windows: NSIS caps an installer at 2 GB and LibTorch + CUDA is 3–5 GB, so the NSIS installer holds the app and
# Qt, and the CUDA runtime libraries travel beside it in lowbit-cuda-runtime.7z, which the installer unpacks
# (installer/windows/cuda-payload.nsh). Per-user install: no administrator prompt.
set(CPACK_NSIS_INSTALL_ROOT "$LOCALAPPDATA\\\\Programs")
set(CPACK_NSIS_DEFINES "RequestExecutionLevel user")
set(CPACK_NSIS_MUI_ICON "${PROJECT_SOURCE_DIR}/installer/windows/lowbit.ico")
set(CPACK_NSIS_MUI_UNIICON "${PROJECT_SOURCE_DIR}/installer/windows/lowbit.ico")
set(CPACK_NSIS_DISPLAY_NAME "LowBit Studio")
set(CPACK_NSIS_PACKAGE_NAME "LowBit Studio ${PROJECT_VERSION}")
set(CPACK_NSIS_ENABLE_UNINSTALL_BEFORE_INSTALL ON)
set(CPACK_NSIS_EXTRA_INSTALL_COMMANDS "!include \\\"${PROJECT_SOURCE_DIR}/installer/windows/cuda-payload.nsh\\\"")
set(CPACK_NSIS_CREATE_ICONS_EXTRA "CreateShortCut '$SMPROGRAMS\\\\$STARTMENU_FOLDER\\\\LowBit Studio.lnk' '$INSTDIR\\\\bin\\\\lowbit-studio.exe'")

if(WIN32)
  set(CPACK_GENERATOR "NSIS")
else()
  set(CPACK_GENERATOR "DEB")
endif()
include(CPack)
