// The data pipeline a training run gets from its recipe: both loaders and what
// the model must know about the data (classes, channels, image size).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tessera/config/recipe.h"
#include "tessera/data/loader.h"

namespace tessera::data {

struct Pipeline {
  std::unique_ptr<Loader> train;  // shuffled per epoch, augmented, drop_last
  std::unique_ptr<Loader> eval;   // dataset order, normalize only, keeps the final partial batch
  int64_t num_classes = 0;
  std::vector<std::string> class_names;  // in label order
  int64_t channels = 0;
  int64_t height = 0;
  int64_t width = 0;
};

// Reads the datasets and starts the loaders' workers. `seed` (the run's
// train.seed) fixes the shuffle and augmentation of every epoch. Throws
// tessera::Error, naming the data.* key or the file, for a bad setting or
// missing/corrupt data. The loaders are idle until start_epoch().
Pipeline build(const config::DataConfig& config, uint64_t seed);

}  // namespace tessera::data
