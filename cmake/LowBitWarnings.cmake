# One INTERFACE target carries the warning flags; every project target links it PRIVATE.
add_library(lowbit_warnings INTERFACE)
if(MSVC)
  target_compile_options(lowbit_warnings INTERFACE $<$<COMPILE_LANGUAGE:CXX>:/W4 /permissive->)
  if(LOWBIT_FATAL_WARNINGS)
    target_compile_options(lowbit_warnings INTERFACE $<$<COMPILE_LANGUAGE:CXX>:/WX>)
  endif()
else()
  target_compile_options(lowbit_warnings INTERFACE
    $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Wshadow=local -Wnon-virtual-dtor>
    $<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=-Wall>)
  if(LOWBIT_FATAL_WARNINGS)
    target_compile_options(lowbit_warnings INTERFACE
      $<$<COMPILE_LANGUAGE:CXX>:-Werror> $<$<COMPILE_LANGUAGE:CUDA>:-Werror=all-warnings>)
  endif()
endif()
if(LOWBIT_SANITIZE_ADDRESS)
  target_compile_options(lowbit_warnings INTERFACE $<$<COMPILE_LANGUAGE:CXX>:-fsanitize=address -fno-omit-frame-pointer>)
  target_link_options(lowbit_warnings INTERFACE -fsanitize=address)
endif()
