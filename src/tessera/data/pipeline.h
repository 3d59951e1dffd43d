// The data pipeline a training run gets from its recipe: both loaders and what
// the model must know about the data (classes, channels, image size).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tessera/config/recipe.h"
#include "tessera/data/loader.h"
#include "tessera/data/transform_spec.h"

namespace tessera::data {

struct Pipeline {
  std::unique_ptr<Loader> train;  // shuffled per epoch, augmented, drop_last
  std::unique_ptr<Loader> eval;   // dataset order, resize + center crop + normalize, keeps the final partial batch
  int64_t num_classes = 0;
  std::vector<std::string> class_names;  // in label order
  int64_t channels = 0;  // of the batches
  int64_t height = 0;
  int64_t width = 0;
};

// What the model expects, for the sizes the recipe's data section leaves open.
struct ModelInput {
  std::optional<int64_t> image_size;  // model.img_size
  std::optional<int64_t> channels;    // model.in_chans
};

// The eval transform spec of a recipe, for images of `channels` x `height` x `width`.
TransformSpec eval_spec(const config::DataConfig& config, int64_t channels, int64_t height, int64_t width);

// This process's part of a data-parallel job (see LoaderOptions::rank).
struct Shard {
  int64_t rank = 0;
  int64_t world_size = 1;
  bool drop_last_shard = false;  // the training epoch's remainder dropped rather than padded (dist.drop_last_shard)
};

// Reads the datasets and starts the loaders' workers. `seed` (the run's
// train.seed) fixes the shuffle and augmentation of every epoch. The output size is
// data.image_size, else model.img_size (`model`), else the dataset's own; the channels
// data.channels, else model.in_chans, else the dataset's own (3 for image files).
// `pin_memory` when the batches go to a GPU. With a `shard` of several ranks,
// data.batch_size is the global batch: each rank's train loader reads its share
// (batch_size / world_size) of every batch, and its eval loader its share of the eval
// set, each sample on exactly one rank. Throws tessera::Error, naming the
// data.* key or the file, for a bad setting or missing/corrupt data. The loaders are
// idle until start_epoch().
Pipeline build(const config::DataConfig& config, uint64_t seed, const ModelInput& model = {},
               bool pin_memory = false, const Shard& shard = {});

}  // namespace tessera::data
