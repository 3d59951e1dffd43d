// The dataset interface the loader reads from, the in-memory dataset, and
// build_dataset, which makes the recipe's dataset (MNIST, Fashion-MNIST, CIFAR-10/100).
#pragma once

#include <ATen/ATen.h>

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tessera/config/recipe.h"
#include "tessera/core/error.h"
#include "tessera/data/image.h"

namespace tessera::data {

enum class Split { Train, Eval };  // Eval is the dataset's test split (t10k for MNIST)

// A sample that cannot be read but may be skipped: an image file that is corrupt
// or does not decode. The loader skips and counts it, or fails the run when the
// recipe says data.on_bad_sample: fail. Anything else a dataset throws (a
// truncated dataset file, a bad label, a missing file) is a tessera::Error and
// always ends the run.
class BadSample : public Error {
 public:
  using Error::Error;
};

// A labelled set of images. Images come out uint8 and channel-planar, (C, H, W),
// with 1 or 3 channels; their size may vary from sample to sample (photos) or be
// the same for all (CIFAR, MNIST: fixed_size() says so). The loader's worker
// threads call read() concurrently: implementations must allow that.
class Dataset {
 public:
  virtual ~Dataset() = default;

  virtual int64_t size() const = 0;
  virtual const std::vector<std::string>& class_names() const = 0;  // in label order; empty when unlabelled
  int64_t num_classes() const { return static_cast<int64_t>(class_names().size()); }

  // The (channels, height, width) every image has, when they all have the same.
  virtual std::optional<std::array<int64_t, 3>> fixed_size() const { return std::nullopt; }

  // Decodes image `index` (0 <= index < size()) into `image` (resized as needed, its
  // buffer reused) and returns its label in [0, num_classes()), or -1 when unlabelled.
  // Throws BadSample for an image that does not decode, tessera::Error otherwise.
  virtual int64_t read(int64_t index, Image& image) const = 0;

  // Image-text datasets (CLIP) also give each sample's caption.
  virtual bool has_captions() const { return false; }
  virtual std::string caption(int64_t index) const;

  // Names sample `index` for messages: its file, or "<file> record N".
  virtual std::string describe(int64_t index) const { return "sample " + std::to_string(index); }
};

// A dataset held in memory as two tensors. MNIST-sized sets (47 MB for
// Fashion-MNIST's training images) fit easily, and reads are a memcpy.
class InMemoryDataset : public Dataset {
 public:
  // images: uint8 (N, C, H, W); labels: int64 (N), each < class_names.size().
  InMemoryDataset(at::Tensor images, at::Tensor labels, std::vector<std::string> class_names);

  int64_t size() const override { return images_.size(0); }
  const std::vector<std::string>& class_names() const override { return class_names_; }
  std::optional<std::array<int64_t, 3>> fixed_size() const override {
    return std::array<int64_t, 3>{images_.size(1), images_.size(2), images_.size(3)};
  }
  int64_t read(int64_t index, Image& image) const override;

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
// the binary batches (see cifar.h); for image_folder the folder <root>/<split>
// (image_folder.h); for image_text the table <root>/<split> (image_text_dataset.h).
// Throws tessera::Error naming the missing or corrupt file.
std::shared_ptr<const Dataset> build_dataset(const config::DataConfig& config, Split split);

}  // namespace tessera::data
