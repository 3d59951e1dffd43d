// Reader for the IDX files of MNIST and Fashion-MNIST (LeCun et al., 1998), raw or gzip-compressed.
//
// Layout: two zero bytes, an element-type byte (0x08 = unsigned byte), a
// dimension count, one big-endian uint32 size per dimension, then the elements
// in row-major order. Only unsigned bytes are supported: it is what both
// datasets use for images and labels.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <string>

namespace tessera::data {

// Reads one IDX file into a uint8 tensor of the shape its header declares.
// Whether the file is gzip-compressed is decided by its content, not its name;
// a file named *.gz must be gzip. Throws tessera::Error for a missing file, a
// bad magic or element type, truncated data, bytes after the data, or a
// corrupt gzip stream; the message names the file and, where it applies, the
// byte offset (in the decompressed stream).
at::Tensor read_idx(const std::string& path);

// An images file and its labels file, checked against each other.
struct IdxPair {
  at::Tensor images;  // uint8 (N, rows, cols)
  at::Tensor labels;  // int64 (N), each in [0, num_classes)
};

// Reads both files and checks the shapes ((N, rows, cols) and (N)), that the
// counts agree and that every label is below `num_classes` (the error names the
// labels file and the record index of the first bad label).
IdxPair read_idx_pair(const std::string& images_path, const std::string& labels_path,
                      int64_t num_classes);

}  // namespace tessera::data
