// The dataset interface the loader reads from, the in-memory dataset, and
// build_dataset, which makes the recipe's dataset (MNIST, Fashion-MNIST, CIFAR-10/100).
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tessera/config/recipe.h"

namespace tessera::data {

enum class Split { Train, Eval };  // Eval is the dataset's test split (t10k for MNIST)

// A labelled set of images that all have the same size. Images come out uint8
// and channel-planar, (C, H, W): the layout of the batches the models take, so
// transforms copy whole rows and the loader writes straight into the batch.
// The loader's worker threads call read() concurrently: implementations must
// allow that.
class Dataset {
 public:
  virtual ~Dataset() = default;

  virtual int64_t size() const = 0;
  virtual int64_t channels() const = 0;
  virtual int64_t height() const = 0;
  virtual int64_t width() const = 0;
  virtual const std::vector<std::string>& class_names() const = 0;
  int64_t num_classes() const { return static_cast<int64_t>(class_names().size()); }
  int64_t image_bytes() const { return channels() * height() * width(); }

  // Copies image `index` (0 <= index < size()) into `chw`, which holds
  // image_bytes() bytes, and returns its label in [0, num_classes()).
  virtual int64_t read(int64_t index, uint8_t* chw) const = 0;
};

// A dataset held in memory as two tensors. MNIST-sized sets (47 MB for
// Fashion-MNIST's training images) fit easily, and reads are a memcpy.
class InMemoryDataset : public Dataset {
 public:
  // images: uint8 (N, C, H, W); labels: int64 (N), each < class_names.size().
  InMemoryDataset(at::Tensor images, at::Tensor labels, std::vector<std::string> class_names);

  int64_t size() const override { return images_.size(0); }
  int64_t channels() const override { return images_.size(1); }
  int64_t height() const override { return images_.size(2); }
  int64_t width() const override { return images_.size(3); }
  const std::vector<std::string>& class_names() const override { return class_names_; }
  int64_t read(int64_t index, uint8_t* chw) const override;

  const at::Tensor& images() const { return images_; }  // uint8 (N, C, H, W), contiguous
  const at::Tensor& labels() const { return labels_; }  // int64 (N)

 private:
  at::Tensor images_;
  at::Tensor labels_;
  std::vector<std::string> class_names_;
};

// The class names of MNIST or Fashion-MNIST, in label order (CIFAR's come from its files).
std::vector<std::string> class_names(config::DatasetKind kind);

// Reads the recipe's dataset for one split from data.root, keeping only the
// first limit_train / limit_eval samples when those are set. For MNIST and
// Fashion-MNIST that is <root>/{train,t10k}-{images-idx3,labels-idx1}-ubyte,
// raw or with .gz (the raw file wins when both exist: no inflating); for CIFAR
// the binary batches (see cifar.h).
// Throws tessera::Error naming the missing or corrupt file.
std::shared_ptr<const Dataset> build_dataset(const config::DataConfig& config, Split split);

}  // namespace tessera::data
