// Builds the data pipeline (datasets, transform specs, loaders) from the recipe's data section.
#include "tessera/data/pipeline.h"

#include <algorithm>

#include "tessera/config/names.h"
#include "tessera/core/error.h"
#include "tessera/data/dataset.h"

namespace tessera::data {

TransformSpec eval_spec(const config::DataConfig& config, int64_t channels, int64_t height, int64_t width) {
  TransformSpec spec;
  spec.channels = channels;
  spec.height = height;
  spec.width = width;
  spec.interpolation = config.interpolation;
  spec.crop_pct = config.crop_pct;
  spec.mean = config.mean;
  spec.std = config.std;
  return spec;
}

namespace {

void require(bool ok, const std::string& key, const std::string& message) {
  if (!ok) throw Error(key, message);
}

void check_per_channel(const std::vector<double>& values, const std::string& key, int64_t channels) {
  require(values.size() == 1 || static_cast<int64_t>(values.size()) == channels, key,
          "has " + std::to_string(values.size()) + " values but the images have " + std::to_string(channels) +
              " channels (give one value, or one per channel)");
}

TransformSpec train_spec(const config::DataConfig& config, int64_t channels, int64_t height, int64_t width) {
  TransformSpec spec = eval_spec(config, channels, height, width);
  spec.crop_pct = 1.0;  // timm's train pipeline resizes to the output size (when no random resized crop)
  const config::AugmentConfig& a = config.augment;
  if (a.random_resized_crop) spec.random_resized_crop = RandomResizedCropSpec{a.scale, a.ratio};
  spec.crop_padding = a.random_crop_padding;
  spec.hflip = a.hflip;
  if (!a.color_jitter.empty()) {
    const auto& j = a.color_jitter;
    ColorJitterSpec jitter;
    jitter.brightness = j[0];
    jitter.contrast = j.size() >= 3 ? j[1] : j[0];
    jitter.saturation = j.size() >= 3 ? j[2] : j[0];
    jitter.hue = j.size() == 4 ? j[3] : 0.0;
    spec.color_jitter = jitter;
  }
  if (a.auto_augment) spec.auto_augment = *a.auto_augment;
  spec.random_erasing.prob = a.re_prob;
  spec.random_erasing.mode = a.re_mode;
  spec.random_erasing.max_count = a.re_count;
  return spec;
}

}  // namespace

Pipeline build(const config::DataConfig& config, uint64_t seed, const ModelInput& model, bool pin_memory,
               const Shard& shard) {
  if (config.batch_size % shard.world_size != 0) {
    // Every rank takes an equal share, so the ranks' mean gradients average to the global batch's.
    throw Error("data.batch_size", std::to_string(config.batch_size) + " (the global batch) does not split evenly "
                                       "among " + std::to_string(shard.world_size) +
                                       " processes; make it a multiple of " + std::to_string(shard.world_size));
  }
  std::shared_ptr<const Dataset> train_set = build_dataset(config, Split::Train);
  std::shared_ptr<const Dataset> eval_set = build_dataset(config, Split::Eval);
  const auto native = train_set->fixed_size();  // (C, H, W) of every image, when fixed

  // The batches' size: the recipe's, else the model's, else the dataset's own.
  int64_t height = 0, width = 0;
  if (const auto size = config.image_size ? config.image_size : model.image_size) {
    height = width = *size;
  } else if (native) {
    height = (*native)[1];
    width = (*native)[2];
  } else {
    throw Error("data.image_size", "is needed for dataset " + config::to_string(config.dataset) +
                                       ", whose images differ in size (or set model.img_size)");
  }
  const int64_t channels = config.channels ? *config.channels : model.channels ? *model.channels
                                                              : native         ? (*native)[0]
                                                                               : 3;
  require(channels == 1 || channels == 3, config.channels ? "data.channels" : "model.in_chans",
          "the data pipeline makes 1- or 3-channel images, not " + std::to_string(channels));
  check_per_channel(config.mean, "data.mean", channels);
  check_per_channel(config.std, "data.std", channels);
  if (eval_set->class_names() != train_set->class_names()) {
    // Labels are indices into the class list: both splits must use the same one.
    throw Error(config.root, "the evaluation split has " + std::to_string(eval_set->num_classes()) +
                                 " classes and the training split " + std::to_string(train_set->num_classes()) +
                                 ", or they differ in name or order; both need the same class folders");
  }
  if (train_set->size() < config.batch_size) {
    // drop_last would leave no batch at all: an epoch of zero steps.
    throw Error("data.batch_size", std::to_string(config.batch_size) + " is larger than the " +
                                       std::to_string(train_set->size()) +
                                       " training samples; lower it or raise data.limit_train");
  }

  LoaderOptions train_options;
  train_options.batch_size = config.batch_size / shard.world_size;
  train_options.shuffle = true;
  train_options.drop_last = true;
  train_options.num_workers = config.num_workers;
  train_options.prefetch_batches = config.prefetch_batches;
  train_options.seed = seed;
  train_options.aug_repeats = config.augment.aug_repeats;
  train_options.pin_memory = pin_memory;
  train_options.skip_bad_samples = config.on_bad_sample == config::BadSamplePolicy::Skip;
  train_options.rank = shard.rank;
  train_options.world_size = shard.world_size;
  train_options.shard_remainder = shard.drop_last_shard ? ShardRemainder::Drop : ShardRemainder::Pad;

  LoaderOptions eval_options = train_options;
  eval_options.batch_size = std::max<int64_t>(1, config.eval_batch_size / shard.world_size);
  eval_options.shard_remainder = ShardRemainder::Uneven;  // each eval sample counted once, on one rank
  eval_options.shuffle = false;
  eval_options.drop_last = false;
  eval_options.aug_repeats = 0;

  auto make_transform = [&](TransformSpec spec, const char* which) {
    try {
      return SampleTransform(std::move(spec));
    } catch (const Error&) {
      throw;
    } catch (const std::exception& e) {
      throw Error(std::string("data (") + which + " transforms)", e.what());
    }
  };

  Pipeline p;
  p.train = std::make_unique<Loader>(train_set, make_transform(train_spec(config, channels, height, width), "train"),
                                     train_options);
  p.eval = std::make_unique<Loader>(eval_set, make_transform(eval_spec(config, channels, height, width), "eval"),
                                    eval_options);
  p.num_classes = train_set->num_classes();
  p.class_names = train_set->class_names();
  p.channels = channels;
  p.height = height;
  p.width = width;
  return p;
}

}  // namespace tessera::data
