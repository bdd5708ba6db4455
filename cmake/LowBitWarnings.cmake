# One INTERFACE target carries the warning flags; every project target links it PRIVATE.
add_library(lowbit_warnings INTERFACE)
if(MSVC)
  target_compile_options(lowbit_warnings INTERFACE $<$<COMPILE_LANGUAGE:CXX>:/W4 /permissive->)
  if(LOWBIT_FATAL_WARNINGS)
    target_compile_options(lowbit_warnings INTERFACE $<$<COMPILE_LANGUAGE:CXX>:/WX>)
  endif()
else()
  target_compile_options(lowbit_warnings INTERFACE
    $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Wnon-virtual-dtor>
    $<$<CXX_COMPILER_ID:GNU>:-Wshadow=local>
    $<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=-Wall>)
  if(LOWBIT_FATAL_WARNINGS)
    target_compile_options(lowbit_warnings INTERFACE
      $<$<COMPILE_LANGUAGE:CXX>:-Werror> $<$<COMPILE_LANGUAGE:CUDA>:-Werror=all-warnings>)
  endif()
endif()
# Sanitizers on our own code (LibTorch and Qt are not rebuilt). vptr is left out: it needs RTTI of every class a
# pointer may point to, and LibTorch's come from an uninstrumented library.
if(LOWBIT_SANITIZE OR LOWBIT_FUZZ)
  set(lowbit_sanitizers -fsanitize=address,undefined -fno-sanitize=vptr -fno-sanitize-recover=undefined
                        -fno-omit-frame-pointer)
  target_compile_options(lowbit_warnings INTERFACE $<$<COMPILE_LANGUAGE:CXX>:${lowbit_sanitizers}>)
  target_link_options(lowbit_warnings INTERFACE -fsanitize=address,undefined)
endif()
# Coverage feedback for libFuzzer in everything the harnesses call.
if(LOWBIT_FUZZ)
  target_compile_options(lowbit_warnings INTERFACE $<$<COMPILE_LANGUAGE:CXX>:-fsanitize=fuzzer-no-link>)
endif()
