// Reader for the binary versions of CIFAR-10 and CIFAR-100 (Krizhevsky, 2009).
//
// CIFAR-10 (`cifar-10-batches-bin/`): data_batch_1..5.bin (training) and
// test_batch.bin, each a run of 3073-byte records: one label byte, then the
// 32x32 image as 1024 red, 1024 green and 1024 blue bytes, rows top to bottom;
// batches.meta.txt names the 10 classes, one per line.
// CIFAR-100 (`cifar-100-binary/`): train.bin and test.bin, 3074-byte records:
// the coarse label byte (20 superclasses), the fine label byte (100 classes),
// then the image as above; coarse_label_names.txt and fine_label_names.txt.
//
// The image bytes are already channel-planar (C, H, W), the layout datasets
// hand to the loader, so a record is copied as it is.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <string>
#include <vector>

namespace tessera::data {

struct CifarSplit {
  at::Tensor images;  // uint8 (N, 3, 32, 32)
  at::Tensor labels;  // int64 (N)
  std::vector<std::string> class_names;  // in label order
};

// Reads the training (data_batch_1..5.bin) or test (test_batch.bin) split from
// the folder `root`. Throws tessera::Error naming the file (and the record, for
// a bad label) when a file is missing, truncated or holds a label outside the
// class list.
CifarSplit read_cifar10(const std::string& root, bool train);

// Reads train.bin or test.bin from `root`, with the fine (100) or the coarse
// (20) labels. Errors as for read_cifar10.
CifarSplit read_cifar100(const std::string& root, bool train, bool coarse_labels);

}  // namespace tessera::data
