// Builds the data pipeline (datasets, transforms, loaders) from the recipe's data section.
#include "tessera/data/pipeline.h"

#include "tessera/core/error.h"
#include "tessera/data/dataset.h"
#include "tessera/data/transforms.h"

namespace tessera::data {
namespace {

void require(bool ok, const std::string& key, const std::string& message) {
  if (!ok) throw Error(key, message);
}

void check_per_channel(const std::vector<double>& values, const std::string& key, int64_t channels) {
  require(values.size() == 1 || static_cast<int64_t>(values.size()) == channels, key,
          "has " + std::to_string(values.size()) + " values but the images have " + std::to_string(channels) +
              " channels (give one value, or one per channel)");
}

}  // namespace

Pipeline build(const config::DataConfig& config, uint64_t seed) {
  std::shared_ptr<const Dataset> train_set = build_dataset(config, Split::Train);
  std::shared_ptr<const Dataset> eval_set = build_dataset(config, Split::Eval);
  const int64_t C = train_set->channels(), H = train_set->height(), W = train_set->width();
  if (eval_set->channels() != C || eval_set->height() != H || eval_set->width() != W) {
    throw Error(config.root, "the evaluation images (" + std::to_string(eval_set->channels()) + "x" +
                                 std::to_string(eval_set->height()) + "x" + std::to_string(eval_set->width()) +
                                 ") differ in size from the training images (" + std::to_string(C) + "x" +
                                 std::to_string(H) + "x" + std::to_string(W) + ")");
  }
  check_per_channel(config.mean, "data.mean", C);
  check_per_channel(config.std, "data.std", C);
  if (train_set->size() < config.batch_size) {
    // drop_last would leave no batch at all: an epoch of zero steps.
    throw Error("data.batch_size", std::to_string(config.batch_size) + " is larger than the " +
                                       std::to_string(train_set->size()) +
                                       " training samples; lower it or raise data.limit_train");
  }

  LoaderOptions train_options;
  train_options.batch_size = config.batch_size;
  train_options.shuffle = true;
  train_options.drop_last = true;
  train_options.num_workers = config.num_workers;
  train_options.prefetch_batches = config.prefetch_batches;
  train_options.seed = seed;

  LoaderOptions eval_options = train_options;
  eval_options.batch_size = config.eval_batch_size;
  eval_options.shuffle = false;
  eval_options.drop_last = false;

  Pipeline p;
  p.train = std::make_unique<Loader>(train_set, Transform(C, H, W, train_transform(config)), train_options);
  p.eval = std::make_unique<Loader>(eval_set, Transform(C, H, W, eval_transform(config)), eval_options);
  p.num_classes = train_set->num_classes();
  p.class_names = train_set->class_names();
  p.channels = C;
  p.height = H;
  p.width = W;
  return p;
}

}  // namespace tessera::data
