// The in-memory dataset and build_dataset for the recipe's dataset kinds.
#include "tessera/data/dataset.h"

#include <c10/util/Exception.h>

#include <cstring>
#include <filesystem>

#include "tessera/core/error.h"
#include "tessera/config/names.h"
#include "tessera/data/cifar.h"
#include "tessera/data/idx.h"
#include "tessera/data/image_folder.h"
#include "tessera/data/image_text_dataset.h"

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

int64_t InMemoryDataset::read(int64_t index, Image& image) const {
  image.resize(images_.size(1), images_.size(2), images_.size(3));
  const int64_t bytes = static_cast<int64_t>(image.pixels.size());
  std::memcpy(image.pixels.data(), images_.data_ptr<uint8_t>() + index * bytes, bytes);
  return labels_.data_ptr<int64_t>()[index];
}

std::string Dataset::caption(int64_t index) const {
  throw Error(describe(index), "this dataset has no captions (an image-text dataset is needed)");
}

std::vector<std::string> class_names(config::DatasetKind kind) {
  switch (kind) {
    case config::DatasetKind::FashionMNIST:
      return {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
              "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
    case config::DatasetKind::MNIST:
      return {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
    case config::DatasetKind::CIFAR10:
    case config::DatasetKind::CIFAR100:
    case config::DatasetKind::ImageFolder:
    case config::DatasetKind::ImageText:
      break;  // named by the dataset's own files
  }
  throw Error("data.dataset", "the class names of " + config::to_string(kind) + " come from its files");
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

// Keeps the first limit_train / limit_eval samples when the recipe sets one; a
// copy then, so the full file's memory is freed.
std::shared_ptr<const Dataset> limited_dataset(at::Tensor images, at::Tensor labels, std::vector<std::string> names,
                                               const config::DataConfig& config, Split split) {
  const int64_t limit = split == Split::Train ? config.limit_train : config.limit_eval;
  if (limit < 0) {
    throw Error(split == Split::Train ? "data.limit_train" : "data.limit_eval",
                "must be 0 (all samples) or a positive count, got " + std::to_string(limit));
  }
  if (limit > 0 && limit < images.size(0)) {
    images = images.narrow(0, 0, limit).clone();
    labels = labels.narrow(0, 0, limit).clone();
  }
  return std::make_shared<InMemoryDataset>(images, labels, std::move(names));
}

// The first `count` samples of another dataset (data.limit_train / limit_eval for
// datasets read from files one by one).
class FirstSamples : public Dataset {
 public:
  FirstSamples(std::shared_ptr<const Dataset> base, int64_t count) : base_(std::move(base)), count_(count) {}
  int64_t size() const override { return count_; }
  const std::vector<std::string>& class_names() const override { return base_->class_names(); }
  std::optional<std::array<int64_t, 3>> fixed_size() const override { return base_->fixed_size(); }
  int64_t read(int64_t index, Image& image) const override { return base_->read(index, image); }
  bool has_captions() const override { return base_->has_captions(); }
  std::string caption(int64_t index) const override { return base_->caption(index); }
  std::string describe(int64_t index) const override { return base_->describe(index); }

 private:
  std::shared_ptr<const Dataset> base_;
  int64_t count_;
};

std::shared_ptr<const Dataset> first_samples(std::shared_ptr<const Dataset> dataset, const config::DataConfig& config,
                                             Split split) {
  const int64_t limit = split == Split::Train ? config.limit_train : config.limit_eval;
  if (limit > 0 && limit < dataset->size()) return std::make_shared<FirstSamples>(std::move(dataset), limit);
  return dataset;
}

// The split's folder or file under data.root, checked to exist.
std::string split_path(const config::DataConfig& config, Split split, const std::string& train_default,
                       const std::string& eval_default, const std::string& layout) {
  const bool train = split == Split::Train;
  const std::string name = train ? config.train_split.value_or(train_default) : config.eval_split.value_or(eval_default);
  const fs::path path = fs::path(config.root) / name;
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    throw Error(path.string(), std::string("not found (data.") + (train ? "train_split" : "eval_split") +
                                   " under data.root); " + config::to_string(config.dataset) + " expects " + layout);
  }
  return path.string();
}

std::shared_ptr<const Dataset> build_idx_dataset(const config::DataConfig& config, Split split) {
  const std::string prefix = split == Split::Train ? "train" : "t10k";
  const std::string images_path = find_idx_file(config.root, prefix + "-images-idx3-ubyte", config.dataset);
  const std::string labels_path = find_idx_file(config.root, prefix + "-labels-idx1-ubyte", config.dataset);
  std::vector<std::string> names = class_names(config.dataset);
  IdxPair pair = read_idx_pair(images_path, labels_path, static_cast<int64_t>(names.size()));
  if (pair.images.size(0) == 0) throw Error(images_path, "holds no images");
  return limited_dataset(pair.images.unsqueeze(1), pair.labels, std::move(names), config, split);  // (N, 1, H, W)
}

}  // namespace

std::shared_ptr<const Dataset> build_dataset(const config::DataConfig& config, Split split) {
  if (config.coarse_labels && config.dataset != config::DatasetKind::CIFAR100) {
    throw Error("data.coarse_labels", "applies to dataset cifar100 only, not " + config::to_string(config.dataset));
  }
  switch (config.dataset) {
    case config::DatasetKind::FashionMNIST:
    case config::DatasetKind::MNIST:
      return build_idx_dataset(config, split);
    case config::DatasetKind::CIFAR10: {
      CifarSplit cifar = read_cifar10(config.root, split == Split::Train);
      return limited_dataset(cifar.images, cifar.labels, std::move(cifar.class_names), config, split);
    }
    case config::DatasetKind::CIFAR100: {
      CifarSplit cifar = read_cifar100(config.root, split == Split::Train, config.coarse_labels);
      return limited_dataset(cifar.images, cifar.labels, std::move(cifar.class_names), config, split);
    }
    case config::DatasetKind::ImageFolder: {
      const auto folder = split_path(config, split, "train", "val",
                                     "<root>/<split>/<class>/<image> (JPEG, PNG, BMP, WebP, ...)");
      return first_samples(std::make_shared<ImageFolderDataset>(folder), config, split);
    }
    case config::DatasetKind::ImageText: {
      const auto table = split_path(config, split, "train.csv", "val.csv",
                                    "a CSV or TSV file of image paths and captions per split under <root>");
      const char separator = config.csv_separator               ? (*config.csv_separator)[0]
                             : fs::path(table).extension() == ".tsv" ? '\t'
                                                                     : ',';
      return first_samples(
          std::make_shared<ImageTextDataset>(table, config.csv_image_key, config.csv_caption_key, separator), config,
          split);
    }
  }
  throw Error("data.dataset", "unknown dataset kind");
}

}  // namespace tessera::data
