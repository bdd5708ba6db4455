# Install rules (included only from the top-level CMakeLists.txt). Packaging with CPack (.deb, .run, NSIS)
# builds on these.
include(GNUInstallDirs)
install(TARGETS lowbit RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}" COMPONENT runtime)
if(LOWBIT_BUILD_UI)
  install(TARGETS lowbit-studio RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}" COMPONENT runtime)
endif()
