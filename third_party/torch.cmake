# LibTorch from the PyPI torch wheel, as one INTERFACE target `tessera::torch`.
#
# The wheel's own share/cmake/Torch runs find_package(CUDA...) for a CUDA-enabled
# build, which fails or drags in a toolkit on a machine without one. We need none of
# that: headers, the CPU libraries, and (when the wheel has them) the CUDA libraries
# linked with --no-as-needed so their kernels register at load time. The CUDA
# libraries load fine on a machine without a GPU; torch::cuda::is_available() says no.

set(TESSERA_VENV "$ENV{HOME}/.cache/tessera/venv" CACHE PATH "virtual environment holding the torch wheel")
if(DEFINED ENV{TESSERA_VENV})
  set(TESSERA_VENV "$ENV{TESSERA_VENV}" CACHE PATH "" FORCE)
endif()

file(GLOB _torch_candidates "${TESSERA_VENV}/lib/python3*/site-packages/torch")
list(LENGTH _torch_candidates _n)
if(_n EQUAL 0)
  message(FATAL_ERROR "torch wheel not found under ${TESSERA_VENV}; run third_party/setup.sh first")
endif()
list(GET _torch_candidates 0 TORCH_ROOT)
set(TORCH_ROOT "${TORCH_ROOT}" CACHE PATH "the torch package directory inside the wheel" FORCE)
set(TORCH_LIB_DIR "${TORCH_ROOT}/lib")

add_library(tessera_torch INTERFACE)
add_library(tessera::torch ALIAS tessera_torch)
# The wheel's include/ also carries its own copy of fmt (12.x), which would shadow
# Debian's fmt 9 that spdlog is built against. Expose include/ through a folder of
# links that leaves fmt/ out; the torch headers we use do not include fmt.
set(TORCH_INCLUDE_DIR "${CMAKE_BINARY_DIR}/torch-include")
file(MAKE_DIRECTORY "${TORCH_INCLUDE_DIR}")
file(GLOB _torch_include_entries RELATIVE "${TORCH_ROOT}/include" "${TORCH_ROOT}/include/*")
foreach(_entry IN LISTS _torch_include_entries)
  if(NOT _entry STREQUAL "fmt" AND NOT EXISTS "${TORCH_INCLUDE_DIR}/${_entry}")
    file(CREATE_LINK "${TORCH_ROOT}/include/${_entry}" "${TORCH_INCLUDE_DIR}/${_entry}" SYMBOLIC)
  endif()
endforeach()
target_include_directories(tessera_torch SYSTEM INTERFACE
  "${TORCH_INCLUDE_DIR}"
  "${TORCH_INCLUDE_DIR}/torch/csrc/api/include")
# The wheel is built with the C++11 ABI.
target_compile_definitions(tessera_torch INTERFACE _GLIBCXX_USE_CXX11_ABI=1)
target_link_libraries(tessera_torch INTERFACE
  "${TORCH_LIB_DIR}/libtorch.so"
  "${TORCH_LIB_DIR}/libtorch_cpu.so"
  "${TORCH_LIB_DIR}/libc10.so")

set(TESSERA_TORCH_HAS_CUDA OFF)
if(EXISTS "${TORCH_LIB_DIR}/libtorch_cuda.so")
  set(TESSERA_TORCH_HAS_CUDA ON)
  # Nothing references libtorch_cuda's symbols directly; without --no-as-needed the
  # linker would drop it and CUDA kernels would never be registered.
  target_link_libraries(tessera_torch INTERFACE
    "-Wl,--no-as-needed" "${TORCH_LIB_DIR}/libtorch_cuda.so" "${TORCH_LIB_DIR}/libc10_cuda.so" "-Wl,--as-needed")
  # Its dependencies (cudart, cublas, ...) sit in the wheel's nvidia/* packages; the
  # library's own RUNPATH finds them at run time, the linker needs to be told.
  file(GLOB _nvidia_libs "${TORCH_ROOT}/../nvidia/*/lib" "${TORCH_ROOT}/../nvidia/cu*/lib")
  foreach(_d IN LISTS _nvidia_libs)
    target_link_options(tessera_torch INTERFACE "-Wl,-rpath-link,${_d}")
  endforeach()
endif()
message(STATUS "LibTorch from ${TORCH_ROOT} (CUDA libraries: ${TESSERA_TORCH_HAS_CUDA})")

# c10d process groups (src/tessera/dist/backend_*.cpp; issue #8). The wheel's libraries
# carry Gloo and, with CUDA, ProcessGroupNCCL, but its c10d headers only declare them
# under USE_C10D_GLOO / USE_C10D_NCCL, and it ships neither Gloo's headers nor NCCL's
# next to its own: Gloo's come from Debian's libgloo-dev (declarations only; nothing
# links against libgloo), NCCL's and the CUDA runtime's from the wheel's nvidia-*
# packages. CMakeLists.txt gives these to the two backend files alone.
find_path(TESSERA_GLOO_INCLUDE_DIR gloo/rendezvous/store.h)
if(NOT TESSERA_GLOO_INCLUDE_DIR)
  message(FATAL_ERROR "Gloo's headers (gloo/rendezvous/store.h) not found: install libgloo-dev (third_party/setup.sh)")
endif()
set(TESSERA_NCCL_INCLUDE_DIRS "")
if(TESSERA_TORCH_HAS_CUDA)
  file(GLOB _nccl_h "${TORCH_ROOT}/../nvidia/nccl/include/nccl.h")
  file(GLOB _cudart_h "${TORCH_ROOT}/../nvidia/cu*/include/cuda_runtime_api.h"
                      "${TORCH_ROOT}/../nvidia/cuda_runtime/include/cuda_runtime_api.h")
  if(_nccl_h AND _cudart_h)
    list(GET _nccl_h 0 _nccl_h)
    list(GET _cudart_h 0 _cudart_h)
    get_filename_component(_nccl_dir "${_nccl_h}" DIRECTORY)
    get_filename_component(_cudart_dir "${_cudart_h}" DIRECTORY)
    set(TESSERA_NCCL_INCLUDE_DIRS "${_nccl_dir}" "${_cudart_dir}")
  endif()
endif()
message(STATUS "c10d: Gloo headers in ${TESSERA_GLOO_INCLUDE_DIR}; NCCL: ${TESSERA_NCCL_INCLUDE_DIRS}")
