// Reading and writing safetensors files: an 8-byte little-endian header length, a JSON
// header (name -> dtype, shape, data_offsets; optional "__metadata__"), then raw data.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace tessera::core {

// Tensors in file order (by data offset) and the free-form string metadata.
struct NamedTensors {
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  std::map<std::string, std::string> metadata;
};

// Parses a whole file held in memory. Every tensor is a contiguous CPU tensor that owns
// its memory (nothing points back into `data`). Malformed input throws tessera::Error
// whose where() starts with `origin` (the file name).
NamedTensors parse_safetensors(const uint8_t* data, size_t size, const std::string& origin);

// Reads `path` and parses it; errors name the path.
NamedTensors load_safetensors(const std::filesystem::path& path);

// The file's bytes: data laid out in the order given, header padded with spaces to a
// multiple of 8. Tensors may live on any device, with any strides or layout.
// Throws tessera::Error for duplicate or reserved names and dtypes the format lacks.
std::string serialize_safetensors(const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                                  const std::map<std::string, std::string>& metadata = {});

// serialize_safetensors written with write_file_atomic: `path` holds either the old
// file or the complete new one, never a partial write.
void save_safetensors(const std::filesystem::path& path,
                      const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

}  // namespace tessera::core
