# Run at install time (install(CODE) in install-rules.cmake): copies the shared libraries LOWBIT_BUNDLE_PROGRAMS
# load into <prefix>/LOWBIT_BUNDLE_DESTINATION, leaving out the system's and the NVIDIA driver's, which every
# user has (libc & co, X/GL, libcuda, libnvidia-ml, libcurl with the TLS library the system keeps patched), and
# Qt, QCustomPlot and sentencepiece, which the .deb takes from the distribution and the .run adds itself (installer/linux/bundle-qt.sh).
set(_exclude
  "^ld-linux" "^lib(c|m|dl|rt|pthread|util|resolv)\\.so" "^libstdc\\+\\+" "^libgcc_s" "^linux-vdso"
  "^libcuda\\.so" "^libnvidia" "^lib(GL|EGL|GLX|OpenGL|GLdispatch)" "^libX" "^libxcb" "^libxkb"
  "^libQt6" "^libQCustomPlot" "^libsentencepiece" "^libicu" "^libglib" "^libgobject" "^libfontconfig"
  "^libfreetype" "^libharfbuzz" "^libpng" "^libz\\.so" "^libzstd" "^libdbus" "^libsystemd" "^libexpat"
  "^libdouble-conversion" "^libb2" "^libmd4c" "^libpcre2" "^libgraphite2" "^libbrotli" "^libbsd" "^libmd\\.so"
  "^libcap" "^libgcrypt" "^libgpg-error" "^liblzma" "^liblz4" "^libcurl"
  "^api-ms-" "^ext-ms-" "^nvcuda\\.dll$" "^nvml\\.dll$")
file(GET_RUNTIME_DEPENDENCIES
  EXECUTABLES ${LOWBIT_BUNDLE_PROGRAMS}
  RESOLVED_DEPENDENCIES_VAR _resolved
  UNRESOLVED_DEPENDENCIES_VAR _unresolved
  CONFLICTING_DEPENDENCIES_PREFIX _conflict
  PRE_EXCLUDE_REGEXES ${_exclude}
  POST_EXCLUDE_REGEXES ".*[/\\\\][Ss]ystem32[/\\\\].*"
  DIRECTORIES ${LOWBIT_BUNDLE_DIRECTORIES})
if(_unresolved)
  message(FATAL_ERROR "lowbit: libraries the programs need were not found: ${_unresolved}")
endif()
get_filename_component(_preferred "${LOWBIT_BUNDLE_PREFERRED}" REALPATH)
foreach(name IN LISTS _conflict_FILENAMES)
  set(_choice "")
  foreach(candidate IN LISTS _conflict_${name})
    get_filename_component(_real "${candidate}" REALPATH)
    string(FIND "${_real}" "${_preferred}" _at)
    if(_at EQUAL 0)
      set(_choice "${candidate}")
    endif()
  endforeach()
  if(NOT _choice)
    message(FATAL_ERROR "lowbit: ${name} found in several places and none under ${_preferred}: ${_conflict_${name}}")
  endif()
  list(APPEND _resolved "${_choice}")
endforeach()
set(_destination "${CMAKE_INSTALL_PREFIX}/${LOWBIT_BUNDLE_DESTINATION}")
foreach(library IN LISTS _resolved)
  get_filename_component(_name "${library}" NAME)
  # Under the name the programs ask for (the SONAME), with the chain of links to the file where there is one.
  file(INSTALL "${library}" DESTINATION "${_destination}" FOLLOW_SYMLINK_CHAIN)
endforeach()
list(LENGTH _resolved _count)
message(STATUS "lowbit: bundled ${_count} libraries into ${_destination}")
