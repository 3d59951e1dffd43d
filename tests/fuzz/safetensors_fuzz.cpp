// libFuzzer entry point for parse_safetensors: any exception other than tessera::Error,
// any crash and (under ASan) any out-of-bounds read is a bug.
//
// Not part of the CMake build (it needs clang and libFuzzer). Build it by hand, from the repository root:
//   T=$HOME/.cache/tessera/venv/lib/python3.11/site-packages/torch
//   clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address -D_GLIBCXX_USE_CXX11_ABI=1 \
//     -Isrc -isystem $T/include -isystem $T/include/torch/csrc/api/include \
//     tests/fuzz/safetensors_fuzz.cpp src/tessera/core/safetensors.cpp src/tessera/core/atomic_file.cpp \
//     -L$T/lib -Wl,-rpath,$T/lib -ltorch -ltorch_cpu -lc10 -o safetensors_fuzz
//   mkdir -p /tmp/st-corpus && ./safetensors_fuzz -max_total_time=60 /tmp/st-corpus tests/fuzz/corpus/safetensors
// (new inputs go to the first folder; the checked-in seeds stay as they are).
#include <cstddef>
#include <cstdint>

#include "tessera/core/error.h"
#include "tessera/core/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    tessera::core::parse_safetensors(data, size, "fuzz-input");
  } catch (const tessera::Error&) {
    // Rejecting malformed input with our error type is the expected outcome.
  }
  return 0;
}
