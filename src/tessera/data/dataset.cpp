// The in-memory dataset and build_dataset for the recipe's dataset kinds.
#include "tessera/data/dataset.h"

#include <c10/util/Exception.h>

#include <cstring>
#include <filesystem>

#include "tessera/core/error.h"
#include "tessera/data/idx.h"

namespace tessera::data {
namespace fs = std::filesystem;

InMemoryDataset::InMemoryDataset(at::Tensor images, at::Tensor labels, std::vector<std::string> class_names)
    : images_(images.contiguous()), labels_(labels.contiguous()), class_names_(std::move(class_names)) {
  TORCH_CHECK(images_.dim() == 4 && images_.scalar_type() == at::kByte,
              "InMemoryDataset: images must be uint8 (N, C, H, W), got ", images_.scalar_type(), " ",
              images_.sizes());
  TORCH_CHECK(labels_.dim() == 1 && labels_.scalar_type() == at::kLong,
              "InMemoryDataset: labels must be int64 (N), got ", labels_.scalar_type(), " ", labels_.sizes());
  TORCH_CHECK(labels_.size(0) == images_.size(0), "InMemoryDataset: ", images_.size(0), " images but ",
              labels_.size(0), " labels");
  TORCH_CHECK(!class_names_.empty(), "InMemoryDataset: no class names");
  TORCH_CHECK(images_.device().is_cpu() && labels_.device().is_cpu(), "InMemoryDataset: tensors must be on the CPU");
}

int64_t InMemoryDataset::read(int64_t index, uint8_t* chw) const {
  const int64_t bytes = image_bytes();
  std::memcpy(chw, images_.data_ptr<uint8_t>() + index * bytes, bytes);
  return labels_.data_ptr<int64_t>()[index];
}

std::vector<std::string> class_names(config::DatasetKind kind) {
  switch (kind) {
    case config::DatasetKind::FashionMNIST:
      return {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
              "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
    case config::DatasetKind::MNIST:
      return {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
  }
  throw Error("data.dataset", "unknown dataset kind");
}

namespace {

// What to tell a user whose dataset files are not there.
std::string how_to_get(config::DatasetKind kind) {
  if (kind == config::DatasetKind::FashionMNIST) {
    return "the Debian package dataset-fashion-mnist provides it (`apt-get install dataset-fashion-mnist` puts "
           "the files in /usr/share/datasets/fashion-mnist), or set data.root to a folder holding them";
  }
  return "put the four MNIST IDX files (raw or .gz) in that folder, or set data.root to where they are";
}

// The raw file when present (no inflating), else the .gz.
std::string find_idx_file(const std::string& root, const std::string& name, config::DatasetKind kind) {
  const fs::path raw = fs::path(root) / name;
  const fs::path gz = fs::path(root) / (name + ".gz");
  std::error_code ec;
  if (fs::is_regular_file(raw, ec)) return raw.string();
  if (fs::is_regular_file(gz, ec)) return gz.string();
  throw Error(gz.string(), "file not found (nor " + raw.string() + "); " + how_to_get(kind));
}

std::shared_ptr<const Dataset> build_idx_dataset(const config::DataConfig& config, Split split) {
  const std::string prefix = split == Split::Train ? "train" : "t10k";
  const std::string images_path = find_idx_file(config.root, prefix + "-images-idx3-ubyte", config.dataset);
  const std::string labels_path = find_idx_file(config.root, prefix + "-labels-idx1-ubyte", config.dataset);
  std::vector<std::string> names = class_names(config.dataset);
  IdxPair pair = read_idx_pair(images_path, labels_path, static_cast<int64_t>(names.size()));
  if (pair.images.size(0) == 0) throw Error(images_path, "holds no images");

  const int64_t limit = split == Split::Train ? config.limit_train : config.limit_eval;
  if (limit < 0) {
    throw Error(split == Split::Train ? "data.limit_train" : "data.limit_eval",
                "must be 0 (all samples) or a positive count, got " + std::to_string(limit));
  }
  const int64_t n = limit > 0 ? std::min(limit, pair.images.size(0)) : pair.images.size(0);
  // The first n samples; a copy when limited, so the full file's memory is freed.
  at::Tensor images = pair.images.narrow(0, 0, n).unsqueeze(1);  // (N, 1, H, W)
  at::Tensor labels = pair.labels.narrow(0, 0, n);                // (N)
  if (n < pair.images.size(0)) {
    images = images.clone();
    labels = labels.clone();
  }
  return std::make_shared<InMemoryDataset>(images, labels, std::move(names));
}

}  // namespace

std::shared_ptr<const Dataset> build_dataset(const config::DataConfig& config, Split split) {
  switch (config.dataset) {
    case config::DatasetKind::FashionMNIST:
    case config::DatasetKind::MNIST:
      return build_idx_dataset(config, split);
  }
  throw Error("data.dataset", "unknown dataset kind");
}

}  // namespace tessera::data
