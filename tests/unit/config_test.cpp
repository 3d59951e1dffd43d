// Tests for the recipe loader: defaults, every section, inheritance, overrides, the
// error messages (where + what + suggestion), enum names and the to_yaml round trip.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <string>

#include "fixtures/error_of.h"
#include "test_env.h"
#include "tessera/config/load.h"
#include "tessera/config/names.h"
#include "tessera/core/error.h"

namespace tessera::config {
namespace {

namespace fs = std::filesystem;

std::string write_file(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
  return path.string();
}

using tessera::testing::error_of;

std::string error_of_yaml(const std::string& yaml, const std::vector<std::string>& overrides = {}) {
  return error_of([&] { load_string(yaml, "recipe.yaml", overrides); });
}

// Every field, so a round trip that loses one fails here.
void expect_same(const RecipeConfig& a, const RecipeConfig& b) {
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.precision, b.precision);
  EXPECT_EQ(a.model.name, b.model.name);
  EXPECT_EQ(a.model.img_size, b.model.img_size);
  EXPECT_EQ(a.model.patch_size, b.model.patch_size);
  EXPECT_EQ(a.model.in_chans, b.model.in_chans);
  EXPECT_EQ(a.model.num_classes, b.model.num_classes);
  EXPECT_EQ(a.model.embed_dim, b.model.embed_dim);
  EXPECT_EQ(a.train.grad_scaler.init_scale, b.train.grad_scaler.init_scale);
  EXPECT_EQ(a.train.grad_scaler.growth_factor, b.train.grad_scaler.growth_factor);
  EXPECT_EQ(a.train.grad_scaler.backoff_factor, b.train.grad_scaler.backoff_factor);
  EXPECT_EQ(a.train.grad_scaler.growth_interval, b.train.grad_scaler.growth_interval);
  EXPECT_EQ(a.schedule.warmup_steps, b.schedule.warmup_steps);
  EXPECT_EQ(a.schedule.warmup_start_factor, b.schedule.warmup_start_factor);
  EXPECT_EQ(a.schedule.decay_epochs, b.schedule.decay_epochs);
  EXPECT_EQ(a.schedule.decay_steps, b.schedule.decay_steps);
  EXPECT_EQ(a.schedule.decay_rate, b.schedule.decay_rate);
  EXPECT_EQ(a.optim.layer_decay, b.optim.layer_decay);
  EXPECT_EQ(a.optim.lr_base_size, b.optim.lr_base_size);
  EXPECT_EQ(a.optim.lr_base_scale, b.optim.lr_base_scale);
  EXPECT_EQ(a.train.max_nonfinite_steps, b.train.max_nonfinite_steps);
  EXPECT_EQ(a.train.ema.decay, b.train.ema.decay);
  EXPECT_EQ(a.train.ema.warmup, b.train.ema.warmup);
  EXPECT_EQ(a.train.ema.warmup_power, b.train.ema.warmup_power);
  EXPECT_EQ(a.train.ema.on_cpu, b.train.ema.on_cpu);
  EXPECT_EQ(a.train.mixup.mixup_alpha, b.train.mixup.mixup_alpha);
  EXPECT_EQ(a.train.mixup.cutmix_alpha, b.train.mixup.cutmix_alpha);
  EXPECT_EQ(a.train.mixup.cutmix_minmax, b.train.mixup.cutmix_minmax);
  EXPECT_EQ(a.train.mixup.prob, b.train.mixup.prob);
  EXPECT_EQ(a.train.mixup.switch_prob, b.train.mixup.switch_prob);
  EXPECT_EQ(a.train.mixup.mode, b.train.mixup.mode);
  EXPECT_EQ(a.train.mixup.correct_lam, b.train.mixup.correct_lam);
  EXPECT_EQ(a.logging.tensorboard, b.logging.tensorboard);
  ASSERT_EQ(a.optim.lr_groups.size(), b.optim.lr_groups.size());
  for (std::size_t i = 0; i < a.optim.lr_groups.size(); ++i) {
    EXPECT_EQ(a.optim.lr_groups[i].match, b.optim.lr_groups[i].match);
    EXPECT_EQ(a.optim.lr_groups[i].lr_scale, b.optim.lr_groups[i].lr_scale);
  }
  EXPECT_EQ(a.model.pretrained, b.model.pretrained);
  EXPECT_EQ(a.model.depth, b.model.depth);
  EXPECT_EQ(a.model.depths, b.model.depths);
  EXPECT_EQ(a.model.num_heads, b.model.num_heads);
  EXPECT_EQ(a.model.window_size, b.model.window_size);
  EXPECT_EQ(a.model.vision.image_size, b.model.vision.image_size);
  EXPECT_EQ(a.model.vision.patch_size, b.model.vision.patch_size);
  EXPECT_EQ(a.model.vision.width, b.model.vision.width);
  EXPECT_EQ(a.model.vision.layers, b.model.vision.layers);
  EXPECT_EQ(a.model.vision.heads, b.model.vision.heads);
  EXPECT_EQ(a.model.vision.mlp_ratio, b.model.vision.mlp_ratio);
  EXPECT_EQ(a.model.text.context_length, b.model.text.context_length);
  EXPECT_EQ(a.model.text.vocab_size, b.model.text.vocab_size);
  EXPECT_EQ(a.model.text.width, b.model.text.width);
  EXPECT_EQ(a.model.text.layers, b.model.text.layers);
  EXPECT_EQ(a.model.text.heads, b.model.text.heads);
  EXPECT_EQ(a.model.text.mlp_ratio, b.model.text.mlp_ratio);
  EXPECT_EQ(a.model.mlp_ratio, b.model.mlp_ratio);
  EXPECT_EQ(a.model.qkv_bias, b.model.qkv_bias);
  EXPECT_EQ(a.model.class_token, b.model.class_token);
  EXPECT_EQ(a.model.global_pool, b.model.global_pool);
  EXPECT_EQ(a.model.drop_rate, b.model.drop_rate);
  EXPECT_EQ(a.model.pos_drop_rate, b.model.pos_drop_rate);
  EXPECT_EQ(a.model.proj_drop_rate, b.model.proj_drop_rate);
  EXPECT_EQ(a.model.attn_drop_rate, b.model.attn_drop_rate);
  EXPECT_EQ(a.model.drop_path_rate, b.model.drop_path_rate);
  EXPECT_EQ(a.data.dataset, b.data.dataset);
  EXPECT_EQ(a.data.root, b.data.root);
  EXPECT_EQ(a.data.batch_size, b.data.batch_size);
  EXPECT_EQ(a.data.eval_batch_size, b.data.eval_batch_size);
  EXPECT_EQ(a.data.num_workers, b.data.num_workers);
  EXPECT_EQ(a.data.prefetch_batches, b.data.prefetch_batches);
  EXPECT_EQ(a.data.limit_train, b.data.limit_train);
  EXPECT_EQ(a.data.limit_eval, b.data.limit_eval);
  EXPECT_EQ(a.data.mean, b.data.mean);
  EXPECT_EQ(a.data.std, b.data.std);
  EXPECT_EQ(a.data.coarse_labels, b.data.coarse_labels);
  EXPECT_EQ(a.data.train_split, b.data.train_split);
  EXPECT_EQ(a.data.eval_split, b.data.eval_split);
  EXPECT_EQ(a.data.csv_image_key, b.data.csv_image_key);
  EXPECT_EQ(a.data.csv_caption_key, b.data.csv_caption_key);
  EXPECT_EQ(a.data.csv_separator, b.data.csv_separator);
  EXPECT_EQ(a.data.image_size, b.data.image_size);
  EXPECT_EQ(a.data.channels, b.data.channels);
  EXPECT_EQ(a.data.interpolation, b.data.interpolation);
  EXPECT_EQ(a.data.crop_pct, b.data.crop_pct);
  EXPECT_EQ(a.data.on_bad_sample, b.data.on_bad_sample);
  const AugmentConfig& x = a.data.augment;
  const AugmentConfig& y = b.data.augment;
  EXPECT_EQ(x.random_resized_crop, y.random_resized_crop);
  EXPECT_EQ(x.scale, y.scale);
  EXPECT_EQ(x.ratio, y.ratio);
  EXPECT_EQ(x.random_crop_padding, y.random_crop_padding);
  EXPECT_EQ(x.hflip, y.hflip);
  EXPECT_EQ(x.color_jitter, y.color_jitter);
  EXPECT_EQ(x.auto_augment, y.auto_augment);
  EXPECT_EQ(x.re_prob, y.re_prob);
  EXPECT_EQ(x.re_mode, y.re_mode);
  EXPECT_EQ(x.re_count, y.re_count);
  EXPECT_EQ(x.aug_repeats, y.aug_repeats);
  EXPECT_EQ(a.optim.name, b.optim.name);
  EXPECT_EQ(a.optim.learning_rate, b.optim.learning_rate);
  EXPECT_EQ(a.optim.weight_decay, b.optim.weight_decay);
  EXPECT_EQ(a.optim.betas, b.optim.betas);
  EXPECT_EQ(a.optim.eps, b.optim.eps);
  EXPECT_EQ(a.optim.momentum, b.optim.momentum);
  EXPECT_EQ(a.optim.nesterov, b.optim.nesterov);
  EXPECT_EQ(a.optim.clip_grad_norm, b.optim.clip_grad_norm);
  EXPECT_EQ(a.schedule.name, b.schedule.name);
  EXPECT_EQ(a.schedule.warmup_epochs, b.schedule.warmup_epochs);
  EXPECT_EQ(a.schedule.warmup_lr, b.schedule.warmup_lr);
  EXPECT_EQ(a.schedule.min_lr, b.schedule.min_lr);
  EXPECT_EQ(a.train.epochs, b.train.epochs);
  EXPECT_EQ(a.train.label_smoothing, b.train.label_smoothing);
  EXPECT_EQ(a.train.seed, b.train.seed);
  EXPECT_EQ(a.train.device, b.train.device);
  EXPECT_EQ(a.train.attention, b.train.attention);
  EXPECT_EQ(a.train.threads, b.train.threads);
  EXPECT_EQ(a.train.eval_every, b.train.eval_every);
  EXPECT_EQ(a.logging.output_dir, b.logging.output_dir);
  EXPECT_EQ(a.logging.progress, b.logging.progress);
  EXPECT_EQ(a.logging.log_every, b.logging.log_every);
  EXPECT_EQ(a.checkpoint.save_last, b.checkpoint.save_last);
  EXPECT_EQ(a.checkpoint.every_epochs, b.checkpoint.every_epochs);
  EXPECT_EQ(a.checkpoint.every_steps, b.checkpoint.every_steps);
  EXPECT_EQ(a.checkpoint.keep_last, b.checkpoint.keep_last);
  EXPECT_EQ(a.checkpoint.best, b.checkpoint.best);
  EXPECT_EQ(a.train.accum_steps, b.train.accum_steps);
  EXPECT_EQ(a.train.resume, b.train.resume);
  EXPECT_EQ(a.distill.type, b.distill.type);
  EXPECT_EQ(a.distill.alpha, b.distill.alpha);
  EXPECT_EQ(a.distill.tau, b.distill.tau);
  EXPECT_EQ(a.distill.normalization, b.distill.normalization);
  EXPECT_EQ(a.distill.teacher_weights, b.distill.teacher_weights);
  ASSERT_EQ(a.distill.teacher.has_value(), b.distill.teacher.has_value());
  if (a.distill.teacher) {
    EXPECT_EQ(a.distill.teacher->name, b.distill.teacher->name);
    EXPECT_EQ(a.distill.teacher->img_size, b.distill.teacher->img_size);
    EXPECT_EQ(a.distill.teacher->depths, b.distill.teacher->depths);
    EXPECT_EQ(a.distill.teacher->num_heads, b.distill.teacher->num_heads);
    EXPECT_EQ(a.distill.teacher->window_size, b.distill.teacher->window_size);
    EXPECT_EQ(a.distill.teacher->num_classes, b.distill.teacher->num_classes);
  }
  EXPECT_EQ(a.clip.lock_image, b.clip.lock_image);
  EXPECT_EQ(a.clip.image_lr_scale, b.clip.image_lr_scale);
  EXPECT_EQ(a.clip.image_weight_decay, b.clip.image_weight_decay);
  EXPECT_EQ(a.clip.text_lr_scale, b.clip.text_lr_scale);
  EXPECT_EQ(a.clip.text_weight_decay, b.clip.text_weight_decay);
  EXPECT_EQ(a.clip.logit_scale_lr_scale, b.clip.logit_scale_lr_scale);
  EXPECT_EQ(a.clip.logit_scale_weight_decay, b.clip.logit_scale_weight_decay);
  EXPECT_EQ(a.dist.backend, b.dist.backend);
  EXPECT_EQ(a.dist.bucket_mb, b.dist.bucket_mb);
  EXPECT_EQ(a.dist.timeout_s, b.dist.timeout_s);
  EXPECT_EQ(a.dist.rendezvous_timeout_s, b.dist.rendezvous_timeout_s);
  EXPECT_EQ(a.dist.drop_last_shard, b.dist.drop_last_shard);
  EXPECT_EQ(a.dist.clip_local_loss, b.dist.clip_local_loss);
  EXPECT_EQ(a.dist.clip_gather_with_grad, b.dist.clip_gather_with_grad);
}

// A recipe that sets every field to something other than its default.
const char* kFullRecipe = R"(name: full
precision: bf16
model:
  name: vit_small_patch16_224
  img_size: 28
  patch_size: 4
  in_chans: 1
  num_classes: 10
  embed_dim: 192
  depth: 6
  num_heads: 3
  mlp_ratio: 2.5
  qkv_bias: false
  class_token: true
  global_pool: avg
  drop_rate: 0.1
  attn_drop_rate: 0.05
  drop_path_rate: 0.2
data:
  dataset: mnist
  root: /data/mnist
  batch_size: 64
  eval_batch_size: 500
  num_workers: 0
  prefetch_batches: 2
  limit_train: 1000
  limit_eval: 200
  mean: [0.1307]
  std: [0.3081]
  image_size: 40
  channels: 3
  interpolation: bicubic
  crop_pct: 0.875
  on_bad_sample: fail
  augment:
    random_resized_crop: true
    scale: [0.35, 1.0]
    ratio: [0.5, 2.0]
    random_crop_padding: 2
    hflip: 0.5
    color_jitter: [0.4, 0.3, 0.2, 0.1]
    auto_augment: rand-m9-mstd0.5-inc1
    re_prob: 0.25
    re_mode: const
    re_count: 2
    aug_repeats: 3
optim:
  name: sgd
  learning_rate: 0.1
  weight_decay: 0.0001
  betas: [0.8, 0.99]
  eps: 1e-6
  momentum: 0.95
  nesterov: true
  clip_grad_norm: 1.0
schedule:
  name: constant
  warmup_epochs: 0.5
  warmup_lr: 1e-5
  min_lr: 1e-6
train:
  epochs: 3
  label_smoothing: 0.1
  seed: 42
  device: cpu
  attention: math
  threads: 4
  eval_every: 2
  accum_steps: 3
  resume: auto
logging:
  output_dir: out/runs
  progress: lines
  log_every: 10
checkpoint:
  save_last: false
  every_epochs: 5
  every_steps: 100
  keep_last: 2
  best: true
)";

// ---- reading -----------------------------------------------------------------

TEST(Config, EmptyRecipeGivesDefaults) {
  const RecipeConfig c = load_string("", "recipe.yaml");
  expect_same(c, RecipeConfig{});
  EXPECT_EQ(c.name, "run");
  EXPECT_EQ(c.precision, Precision::FP32);
  EXPECT_EQ(c.model.name, "vit_tiny_patch16_224");
  EXPECT_FALSE(c.model.img_size.has_value());
  EXPECT_EQ(c.data.batch_size, 128);
  EXPECT_EQ(c.optim.learning_rate, 1e-3);
  EXPECT_EQ(c.train.epochs, 10);
}

TEST(Config, EmptySectionKeepsDefaults) {
  const RecipeConfig c = load_string("model:\noptim:\n", "recipe.yaml");
  expect_same(c, RecipeConfig{});
}

TEST(Config, ReadsEverySection) {
  const RecipeConfig c = load_string(kFullRecipe, "recipe.yaml");
  EXPECT_EQ(c.name, "full");
  EXPECT_EQ(c.precision, Precision::BF16);

  EXPECT_EQ(c.model.name, "vit_small_patch16_224");
  EXPECT_EQ(c.model.img_size, 28);
  EXPECT_EQ(c.model.patch_size, 4);
  EXPECT_EQ(c.model.in_chans, 1);
  EXPECT_EQ(c.model.num_classes, 10);
  EXPECT_EQ(c.model.embed_dim, 192);
  EXPECT_EQ(c.model.depth, 6);
  EXPECT_EQ(c.model.num_heads, std::vector<int64_t>{3});
  EXPECT_EQ(c.model.mlp_ratio, 2.5);
  EXPECT_EQ(c.model.qkv_bias, false);
  EXPECT_EQ(c.model.class_token, true);
  EXPECT_EQ(c.model.global_pool, GlobalPool::Avg);
  EXPECT_EQ(c.model.drop_rate, 0.1);
  EXPECT_EQ(c.model.attn_drop_rate, 0.05);
  EXPECT_EQ(c.model.drop_path_rate, 0.2);

  EXPECT_EQ(c.data.dataset, DatasetKind::MNIST);
  EXPECT_EQ(c.data.root, "/data/mnist");
  EXPECT_EQ(c.data.batch_size, 64);
  EXPECT_EQ(c.data.eval_batch_size, 500);
  EXPECT_EQ(c.data.num_workers, 0);
  EXPECT_EQ(c.data.prefetch_batches, 2);
  EXPECT_EQ(c.data.limit_train, 1000);
  EXPECT_EQ(c.data.limit_eval, 200);
  EXPECT_EQ(c.data.mean, std::vector<double>{0.1307});
  EXPECT_EQ(c.data.std, std::vector<double>{0.3081});
  EXPECT_EQ(c.data.image_size, 40);
  EXPECT_EQ(c.data.channels, 3);
  EXPECT_EQ(c.data.interpolation, Interpolation::Bicubic);
  EXPECT_EQ(c.data.crop_pct, 0.875);
  EXPECT_EQ(c.data.on_bad_sample, BadSamplePolicy::Fail);
  EXPECT_TRUE(c.data.augment.random_resized_crop);
  EXPECT_EQ(c.data.augment.scale, (std::array<double, 2>{0.35, 1.0}));
  EXPECT_EQ(c.data.augment.ratio, (std::array<double, 2>{0.5, 2.0}));
  EXPECT_EQ(c.data.augment.random_crop_padding, 2);
  EXPECT_EQ(c.data.augment.hflip, 0.5);
  EXPECT_EQ(c.data.augment.color_jitter, (std::vector<double>{0.4, 0.3, 0.2, 0.1}));
  EXPECT_EQ(c.data.augment.auto_augment, "rand-m9-mstd0.5-inc1");
  EXPECT_EQ(c.data.augment.re_prob, 0.25);
  EXPECT_EQ(c.data.augment.re_mode, ErasingMode::Const);
  EXPECT_EQ(c.data.augment.re_count, 2);
  EXPECT_EQ(c.data.augment.aug_repeats, 3);

  EXPECT_EQ(c.optim.name, OptimizerKind::SGD);
  EXPECT_EQ(c.optim.learning_rate, 0.1);
  EXPECT_EQ(c.optim.weight_decay, 0.0001);
  EXPECT_EQ(c.optim.betas[0], 0.8);
  EXPECT_EQ(c.optim.betas[1], 0.99);
  EXPECT_EQ(c.optim.eps, 1e-6);
  EXPECT_EQ(c.optim.momentum, 0.95);
  EXPECT_TRUE(c.optim.nesterov);
  EXPECT_EQ(c.optim.clip_grad_norm, 1.0);

  EXPECT_EQ(c.schedule.name, ScheduleKind::Constant);
  EXPECT_EQ(c.schedule.warmup_epochs, 0.5);
  EXPECT_EQ(c.schedule.warmup_lr, 1e-5);
  EXPECT_EQ(c.schedule.min_lr, 1e-6);

  EXPECT_EQ(c.train.epochs, 3);
  EXPECT_EQ(c.train.label_smoothing, 0.1);
  EXPECT_EQ(c.train.seed, 42u);
  EXPECT_EQ(c.train.device, DeviceKind::CPU);
  EXPECT_EQ(c.train.attention, AttentionBackend::Math);
  EXPECT_EQ(c.train.threads, 4);
  EXPECT_EQ(c.train.eval_every, 2);

  EXPECT_EQ(c.logging.output_dir, "out/runs");
  EXPECT_EQ(c.logging.progress, ProgressMode::Lines);
  EXPECT_EQ(c.logging.log_every, 10);

  EXPECT_FALSE(c.checkpoint.save_last);
  EXPECT_EQ(c.checkpoint.every_epochs, 5);
  EXPECT_EQ(c.checkpoint.every_steps, 100);
  EXPECT_EQ(c.checkpoint.keep_last, 2);
  EXPECT_TRUE(c.checkpoint.best);
  EXPECT_EQ(c.train.accum_steps, 3);
  EXPECT_EQ(c.train.resume, "auto");
}

TEST(Config, NameDefaultsToFileStem) {
  const fs::path dir = testing::scratch_dir();
  const std::string path = write_file(dir / "fmnist_tiny.yaml", "train:\n  epochs: 2\n");
  EXPECT_EQ(load(path).name, "fmnist_tiny");
  const std::string named = write_file(dir / "other.yaml", "name: chosen\n");
  EXPECT_EQ(load(named).name, "chosen");
}

// ---- inheritance -------------------------------------------------------------

TEST(Config, BaseIsRelativeToTheFileAndMergesDeeply) {
  const fs::path dir = testing::scratch_dir();
  write_file(dir / "recipes" / "common" / "root.yaml",
             "optim:\n  eps: 1e-7\ntrain:\n  seed: 7\n");
  // A base's own base is relative to that base's folder.
  write_file(dir / "recipes" / "common" / "vit.yaml",
             "base: root.yaml\n"
             "model:\n  img_size: 28\n  patch_size: 4\n"
             "data:\n  mean: [0.1, 0.2, 0.3]\n  std: [0.4, 0.5, 0.6]\n  augment:\n    hflip: 0.5\n"
             "optim:\n  learning_rate: 0.01\n  weight_decay: 0.1\n");
  const std::string child = write_file(
      dir / "recipes" / "child.yaml",
      "base: common/vit.yaml\n"
      "model:\n  depth: 2\n"
      "data:\n  mean: [0.5]\n  std: [0.25]\n  augment:\n    random_crop_padding: 4\n"
      "optim:\n  learning_rate: 0.05\n");

  const RecipeConfig c = load(child);
  EXPECT_EQ(c.name, "child");
  // Maps merge key by key: the base's model keys survive next to the child's.
  EXPECT_EQ(c.model.img_size, 28);
  EXPECT_EQ(c.model.patch_size, 4);
  EXPECT_EQ(c.model.depth, 2);
  // Sequences are replaced whole.
  EXPECT_EQ(c.data.mean, std::vector<double>{0.5});
  EXPECT_EQ(c.data.std, std::vector<double>{0.25});
  // Nested maps merge too.
  EXPECT_EQ(c.data.augment.hflip, 0.5);
  EXPECT_EQ(c.data.augment.random_crop_padding, 4);
  // The child wins on scalars; the rest comes from the chain.
  EXPECT_EQ(c.optim.learning_rate, 0.05);
  EXPECT_EQ(c.optim.weight_decay, 0.1);
  EXPECT_EQ(c.optim.eps, 1e-7);
  EXPECT_EQ(c.train.seed, 7u);
}

TEST(Config, ListOfBasesMergesInOrder) {
  const fs::path dir = testing::scratch_dir();
  write_file(dir / "a.yaml", "train:\n  epochs: 5\n  seed: 1\noptim:\n  learning_rate: 0.1\n");
  write_file(dir / "b.yaml", "train:\n  epochs: 7\n");
  const std::string child =
      write_file(dir / "child.yaml", "base: [a.yaml, b.yaml]\ntrain:\n  seed: 3\n");
  const RecipeConfig c = load(child);
  EXPECT_EQ(c.train.epochs, 7);  // b is merged after a
  EXPECT_EQ(c.optim.learning_rate, 0.1);
  EXPECT_EQ(c.train.seed, 3u);   // the child wins over both
}

TEST(Config, LoadStringResolvesBasesAgainstTheOriginFolder) {
  const fs::path dir = testing::scratch_dir();
  write_file(dir / "bases" / "small.yaml", "model:\n  depth: 2\n");
  const RecipeConfig c =
      load_string("base: bases/small.yaml\n", (dir / "inline.yaml").string());
  EXPECT_EQ(c.model.depth, 2);
  EXPECT_EQ(c.name, "run");
}

TEST(Config, BaseNameIsNotInherited) {
  const fs::path dir = testing::scratch_dir();
  write_file(dir / "base.yaml", "name: base_run\n");
  EXPECT_EQ(load(write_file(dir / "mine.yaml", "base: base.yaml\n")).name, "mine");
}

TEST(Config, BaseCycleIsAnErrorNamingTheChain) {
  const fs::path dir = testing::scratch_dir();
  const std::string a = write_file(dir / "a.yaml", "base: b.yaml\n");
  const std::string b = write_file(dir / "b.yaml", "train:\n  epochs: 2\nbase: a.yaml\n");
  const std::string message = error_of([&] { load(a); });
  EXPECT_NE(message.find("base cycle"), std::string::npos) << message;
  EXPECT_NE(message.find(a + " -> " + b + " -> " + a), std::string::npos) << message;
  // Reported where the cycle closes: b.yaml's `base:` line.
  EXPECT_EQ(message.rfind(b + ":3:1:", 0), 0u) << message;
}

TEST(Config, MissingBaseNamesFileAndLine) {
  const fs::path dir = testing::scratch_dir();
  const std::string child =
      write_file(dir / "child.yaml", "name: x\nbase: nowhere/missing.yaml\n");
  const std::string message = error_of([&] { load(child); });
  EXPECT_EQ(message.rfind(child + ":2:1:", 0), 0u) << message;
  EXPECT_NE(message.find((dir / "nowhere" / "missing.yaml").string()), std::string::npos)
      << message;
  EXPECT_NE(message.find("not found"), std::string::npos) << message;
}

TEST(Config, ErrorInBaseNamesTheBaseFile) {
  const fs::path dir = testing::scratch_dir();
  const std::string base = write_file(dir / "base.yaml",
                                      "train:\n  epochs: 3\noptim:\n  weight_decay: 0.1\n"
                                      "  leraning_rate: 0.1\n");
  const std::string child =
      write_file(dir / "child.yaml", "base: base.yaml\noptim:\n  weight_decay: 0.2\n");
  EXPECT_EQ(error_of([&] { load(child); }),
            base + ":5:3: unknown key 'optim.leraning_rate'; did you mean 'learning_rate'?");
}

// ---- overrides ---------------------------------------------------------------

TEST(Config, OverridesScalarsAndLists) {
  const RecipeConfig c =
      load_string(kFullRecipe, "recipe.yaml",
                  {"train.epochs=3", "name=foo", "data.mean=[0.5,0.5]", "data.std=[0.2, 0.3]",
                   "optim.learning_rate=3e-4", "model.global_pool=token", "precision=fp16"});
  EXPECT_EQ(c.train.epochs, 3);
  EXPECT_EQ(c.name, "foo");
  EXPECT_EQ(c.data.mean, (std::vector<double>{0.5, 0.5}));
  EXPECT_EQ(c.data.std, (std::vector<double>{0.2, 0.3}));
  EXPECT_EQ(c.optim.learning_rate, 3e-4);
  EXPECT_EQ(c.model.global_pool, GlobalPool::Token);
  EXPECT_EQ(c.precision, Precision::FP16);
  // Untouched keys keep the file's values.
  EXPECT_EQ(c.optim.weight_decay, 0.0001);
}

TEST(Config, OverrideOfAMapMergesAndNullUnsets) {
  const RecipeConfig c = load_string(kFullRecipe, "recipe.yaml",
                                     {"data.augment={hflip: 0.25}", "model.img_size=null"});
  EXPECT_EQ(c.data.augment.hflip, 0.25);
  EXPECT_EQ(c.data.augment.random_crop_padding, 2);
  EXPECT_FALSE(c.model.img_size.has_value());
}

TEST(Config, OverrideUnknownKeySuggests) {
  EXPECT_EQ(error_of_yaml("", {"optim.leraning_rate=1"}),
            "--set optim.leraning_rate=1: unknown key 'optim.leraning_rate'; "
            "did you mean 'learning_rate'?");
}

TEST(Config, OverrideErrorsNameTheOverride) {
  const std::string no_equals = error_of_yaml("", {"train.epochs"});
  EXPECT_EQ(no_equals.rfind("--set train.epochs: ", 0), 0u) << no_equals;
  EXPECT_NE(no_equals.find("key=value"), std::string::npos) << no_equals;

  EXPECT_EQ(error_of_yaml("", {"train.epochs=abc"}),
            "--set train.epochs=abc: train.epochs: expected an integer, got 'abc'");

  const std::string empty_key = error_of_yaml("", {"train..epochs=3"});
  EXPECT_NE(empty_key.find("empty key"), std::string::npos) << empty_key;

  const std::string base = error_of_yaml("", {"base=x.yaml"});
  EXPECT_NE(base.find("'base' can only be given inside a recipe file"), std::string::npos) << base;
}

// ---- error messages ----------------------------------------------------------

TEST(Config, UnknownKeyNamesFileLineKeyAndSuggestion) {
  const fs::path dir = testing::scratch_dir();
  const std::string path = write_file(dir / "recipes" / "q.yaml",
                                      "name: q\n"
                                      "optim:\n"
                                      "  name: adamw\n"
                                      "  weight_decay: 0.1\n"
                                      "  leraning_rate: 0.001\n");
  const std::string message = error_of([&] { load(path); });
  EXPECT_EQ(message,
            path + ":5:3: unknown key 'optim.leraning_rate'; did you mean 'learning_rate'?");
  EXPECT_NE(message.find("q.yaml"), std::string::npos);
}

TEST(Config, UnknownSectionSuggestsOrListsValidKeys) {
  EXPECT_EQ(error_of_yaml("name: a\noptm:\n  learning_rate: 1\n"),
            "recipe.yaml:2:1: unknown key 'optm'; did you mean 'optim'?");
  EXPECT_EQ(error_of_yaml("data:\n  augment:\n    hlfip: 0.5\n"),
            "recipe.yaml:3:5: unknown key 'data.augment.hlfip'; did you mean 'hflip'?");
  // Nothing close: the valid keys of that section are listed instead.
  EXPECT_EQ(error_of_yaml("checkpoint:\n  zzzzzzzz: 1\n"),
            "recipe.yaml:2:3: unknown key 'checkpoint.zzzzzzzz'; valid keys in 'checkpoint' "
            "are: save_last, every_epochs, every_steps, keep_last, best");
  const std::string top = error_of_yaml("qqqqqqqq: 1\n");
  EXPECT_NE(top.find("valid keys are: name, precision, model, data, optim, schedule, train, "
                     "logging, checkpoint, distill, clip, dist, base"),
            std::string::npos)
      << top;
}

TEST(Config, WrongTypes) {
  EXPECT_EQ(error_of_yaml("optim:\n  learning_rate: abc\n"),
            "recipe.yaml:2:3: optim.learning_rate: expected a number, got 'abc'");
  EXPECT_EQ(error_of_yaml("train:\n  epochs: 3.5\n"),
            "recipe.yaml:2:3: train.epochs: expected an integer, got '3.5'");
  EXPECT_EQ(error_of_yaml("optim:\n  nesterov: yes\n"),
            "recipe.yaml:2:3: optim.nesterov: expected true or false, got 'yes'");
  EXPECT_EQ(error_of_yaml("optim:\n  betas: [0.9, 0.99, 0.999]\n"),
            "recipe.yaml:2:3: optim.betas: expected a list of 2 numbers, got 3");
  EXPECT_EQ(error_of_yaml("data:\n  mean: 0.5\n"),
            "recipe.yaml:2:3: data.mean: expected a list of numbers, got '0.5'");
  EXPECT_EQ(error_of_yaml("data:\n  mean: [0.5, x]\n"),
            "recipe.yaml:2:3: data.mean[1]: expected a number, got 'x'");
  EXPECT_EQ(error_of_yaml("data:\n  mean: []\n  std: []\n"),
            "recipe.yaml:2:3: data.mean: must not be empty (one number per channel)");
  EXPECT_EQ(error_of_yaml("data:\n  mean: [0.5, 0.5]\n  std: [0.5]\n"),
            "recipe.yaml:3:3: data.std: has 1 values but data.mean has 2; give one of each per "
            "channel");
  EXPECT_EQ(error_of_yaml("name: [a, b]\n"), "recipe.yaml:1:1: name: expected a string, got a list");
  EXPECT_EQ(error_of_yaml("model: vit\n"),
            "recipe.yaml:1:1: model: expected a section (a map of keys), got 'vit'");
  EXPECT_EQ(error_of_yaml("train:\n  seed: -1\n"),
            "recipe.yaml:2:3: train.seed: expected a non-negative integer, got '-1'");
  EXPECT_EQ(error_of_yaml("model:\n  img_size: {a: 1}\n"),
            "recipe.yaml:2:3: model.img_size: expected an integer, got a map");
  EXPECT_EQ(error_of_yaml("optim:\n  eps: .inf\n"),
            "recipe.yaml:2:3: optim.eps: expected a number, got '.inf'");
}

TEST(Config, OutOfRangeNamesKeyValueAndRange) {
  EXPECT_EQ(error_of_yaml("optim:\n  learning_rate: 0\n"),
            "recipe.yaml:2:3: optim.learning_rate: 0 is out of range; must be > 0");
  EXPECT_EQ(error_of_yaml("optim:\n  weight_decay: -0.1\n"),
            "recipe.yaml:2:3: optim.weight_decay: -0.1 is out of range; must be >= 0");
  EXPECT_EQ(error_of_yaml("data:\n  batch_size: 0\n"),
            "recipe.yaml:2:3: data.batch_size: 0 is out of range; must be >= 1");
  EXPECT_EQ(error_of_yaml("data:\n  augment:\n    hflip: 1.5\n"),
            "recipe.yaml:3:5: data.augment.hflip: 1.5 is out of range; must be in [0, 1]");
  EXPECT_EQ(error_of_yaml("train:\n  label_smoothing: 1\n"),
            "recipe.yaml:2:3: train.label_smoothing: 1 is out of range; must be in [0, 1)");
  EXPECT_EQ(error_of_yaml("model:\n  drop_path_rate: 1.0\n"),
            "recipe.yaml:2:3: model.drop_path_rate: 1.0 is out of range; must be in [0, 1)");
  EXPECT_EQ(error_of_yaml("data:\n  std: [0.5, 0]\n  mean: [0.5, 0.5]\n"),
            "recipe.yaml:2:3: data.std[1]: 0 is out of range; must be > 0");
  EXPECT_EQ(error_of_yaml("train:\n  epochs: 0\n"),
            "recipe.yaml:2:3: train.epochs: 0 is out of range; must be >= 1");
  EXPECT_EQ(error_of_yaml("", {"data.num_workers=-1"}),
            "--set data.num_workers=-1: data.num_workers: -1 is out of range; must be >= 0");
}

TEST(Config, BadEnumListsChoicesAndSuggests) {
  EXPECT_EQ(error_of_yaml("precision: bf61\n"),
            "recipe.yaml:1:1: precision: expected one of fp32|bf16|fp16, got 'bf61'; "
            "did you mean 'bf16'?");
  EXPECT_EQ(error_of_yaml("train:\n  attention: flsh\n"),
            "recipe.yaml:2:3: train.attention: expected one of auto|flash|efficient|math, got "
            "'flsh'; did you mean 'flash'?");
  EXPECT_EQ(error_of_yaml("data:\n  dataset: imagenet\n"),
            "recipe.yaml:2:3: data.dataset: expected one of "
            "fashion_mnist|mnist|cifar10|cifar100|image_folder|image_text, got 'imagenet'");
}

TEST(Config, YamlSyntaxErrorNamesFileAndLine) {
  const fs::path dir = testing::scratch_dir();
  const std::string path =
      write_file(dir / "broken.yaml", "name: demo\ntrain:\n  epochs: [1, 2]]\n");
  const std::string message = error_of([&] { load(path); });
  EXPECT_EQ(message.rfind(path + ":3:", 0), 0u) << message;
  EXPECT_NE(message.find("YAML syntax error"), std::string::npos) << message;
}

TEST(Config, DuplicateKeyIsAnError) {
  EXPECT_EQ(error_of_yaml("train:\n  epochs: 1\n  epochs: 2\n"),
            "recipe.yaml:3:3: duplicate key 'train.epochs' (first given at recipe.yaml:2:3)");
}

TEST(Config, TopLevelMustBeAMap) {
  const std::string message = error_of_yaml("- a\n- b\n");
  EXPECT_NE(message.find("a recipe must be a map of keys"), std::string::npos) << message;
}

TEST(Config, MissingFileIsAnError) {
  const fs::path path = testing::scratch_dir() / "nope.yaml";
  EXPECT_EQ(error_of([&] { load(path.string()); }), path.string() + ": recipe file not found");
}

// ---- writing -----------------------------------------------------------------

TEST(Config, RoundTripOfDefaults) {
  const RecipeConfig defaults;
  expect_same(load_string(to_yaml(defaults), "written.yaml"), defaults);
}

TEST(Config, RoundTripOfEveryField) {
  RecipeConfig c = load_string(kFullRecipe, "recipe.yaml");
  // Awkward values: strings YAML would misread unquoted, doubles with no short form.
  c.name = "true";
  c.model.name = "123";
  c.data.root = "/data/with: colon #and hash";
  c.logging.output_dir = "null";
  c.optim.learning_rate = 1.0 / 3.0;
  c.optim.eps = 1e-8;
  c.schedule.warmup_lr = 1e20;
  c.data.mean = {0.485, 0.456, 0.406};
  c.data.std = {0.229, 0.224, 0.225};
  c.train.seed = std::numeric_limits<uint64_t>::max();
  c.model.pretrained = "weights/vit: small.safetensors";
  c.schedule.warmup_steps = 500;
  c.schedule.warmup_start_factor = 0.01;
  c.schedule.decay_epochs = 2.5;
  c.schedule.decay_steps = 1000;
  c.schedule.decay_rate = 0.5;
  c.optim.layer_decay = 0.65;
  c.optim.lr_base_size = 512;
  c.optim.lr_base_scale = LrScaling::Sqrt;
  c.train.max_nonfinite_steps = 3;
  c.train.ema.decay = 0.9998;
  c.train.ema.warmup = true;
  c.train.ema.warmup_power = 0.75;
  c.train.ema.on_cpu = true;
  c.train.mixup.mixup_alpha = 0.8;
  c.train.mixup.cutmix_alpha = 1.0;
  c.train.mixup.cutmix_minmax = std::array<double, 2>{0.2, 0.8};
  c.train.mixup.prob = 0.75;
  c.train.mixup.switch_prob = 0.25;
  c.train.mixup.mode = MixupMode::Elem;
  c.train.mixup.correct_lam = false;
  c.logging.tensorboard = false;
  c.optim.lr_groups = {{"head*", 10.0}, {"blocks.[0-3].*", 0.5}};
  c.train.grad_scaler.init_scale = 1024.0;
  c.train.grad_scaler.growth_factor = 4.0;
  c.train.grad_scaler.backoff_factor = 0.25;
  c.train.grad_scaler.growth_interval = 100;
  c.model.depths = std::vector<int64_t>{2, 2, 6, 2};
  c.model.num_heads = std::vector<int64_t>{3, 6, 12, 24};
  c.model.window_size = 7;
  c.model.vision.image_size = 224;
  c.model.vision.patch_size = 32;
  c.model.vision.width = 768;
  c.model.vision.layers = 12;
  c.model.vision.heads = 12;
  c.model.vision.mlp_ratio = 4.0;
  c.model.text.context_length = 77;
  c.model.text.vocab_size = 49408;
  c.model.text.width = 512;
  c.model.text.layers = 12;
  c.model.text.heads = 8;
  c.model.text.mlp_ratio = 4.0;
  c.data.dataset = DatasetKind::ImageText;
  c.data.train_split = "train: part 1.tsv";
  c.data.eval_split = "val.tsv";
  c.data.csv_image_key = "image";
  c.data.csv_caption_key = "caption";
  c.data.csv_separator = "\t";
  c.distill.type = DistillType::Soft;
  c.distill.alpha = 0.25;
  c.distill.tau = 3.0;
  c.distill.normalization = KlNormalization::BatchMean;
  c.distill.teacher_weights = "runs/swin: teacher";
  c.distill.teacher.emplace();
  c.distill.teacher->name = "swin";
  c.distill.teacher->img_size = 28;
  c.distill.teacher->depths = std::vector<int64_t>{2, 2};
  c.distill.teacher->num_heads = std::vector<int64_t>{1, 2};
  c.distill.teacher->window_size = 7;
  c.distill.teacher->num_classes = 10;
  c.clip.lock_image = true;
  c.clip.image_lr_scale = 0.1;
  c.clip.image_weight_decay = 0.05;
  c.clip.text_lr_scale = 0.5;
  c.clip.text_weight_decay = 0.1;
  c.clip.logit_scale_lr_scale = 2.0;
  c.clip.logit_scale_weight_decay = 0.01;
  c.dist.backend = DistBackend::Gloo;
  c.dist.bucket_mb = 4.5;
  c.dist.timeout_s = 30;
  c.dist.rendezvous_timeout_s = 90;
  c.dist.drop_last_shard = true;
  c.dist.clip_local_loss = true;
  c.dist.clip_gather_with_grad = false;
  const std::string yaml = to_yaml(c);
  const RecipeConfig back = load_string(yaml, "written.yaml");
  expect_same(back, c);
  EXPECT_EQ(to_yaml(back), yaml);
}

TEST(Config, ToYamlIsReadable) {
  RecipeConfig c;
  c.model.img_size = 28;
  const std::string yaml = to_yaml(c);
  EXPECT_EQ(yaml.rfind("name: run\nprecision: fp32\n\nmodel:\n  name: vit_tiny_patch16_224\n"
                       "  img_size: 28\n\ndata:\n",
                       0),
            0u)
      << yaml;
  EXPECT_NE(yaml.find("  mean: [0.5]\n"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("  augment:\n    random_resized_crop: false\n    scale: [0.08, 1.0]\n"),
            std::string::npos)
      << yaml;
  EXPECT_NE(yaml.find("  learning_rate: 0.001\n"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("  eps: 1e-8\n"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("  betas: [0.9, 0.999]\n"), std::string::npos) << yaml;
  EXPECT_EQ(yaml.find("patch_size"), std::string::npos) << yaml;  // unset optionals are omitted
}

TEST(Config, ListsOfWholeNumbers) {
  auto c = load_string("model: {name: swin_tiny_patch4_window7_224, depths: [2, 2, 6, 2], num_heads: [3, 6, 12, 24]}\n",
                       "recipe.yaml");
  EXPECT_EQ(c.model.depths, (std::vector<int64_t>{2, 2, 6, 2}));
  EXPECT_EQ(c.model.num_heads, (std::vector<int64_t>{3, 6, 12, 24}));
  const std::string fractional = error_of_yaml("model:\n  depths: [2, 2.5]\n");
  EXPECT_NE(fractional.find("recipe.yaml:2:"), std::string::npos) << fractional;
  EXPECT_NE(fractional.find("model.depths: expected whole numbers, got 2.5"), std::string::npos) << fractional;
  const std::string zero = error_of_yaml("model: {num_heads: [4, 0]}\n");
  EXPECT_NE(zero.find("model.num_heads[1]"), std::string::npos) << zero;
}

TEST(Config, LrGroups) {
  auto c = load_string("optim:\n  layer_decay: 0.75\n  lr_groups:\n    - {match: \"head*\", lr_scale: 10}\n"
                       "    - match: \"blocks.0.*\"\n      lr_scale: 0.1\n",
                       "recipe.yaml");
  EXPECT_EQ(c.optim.layer_decay, 0.75);
  ASSERT_EQ(c.optim.lr_groups.size(), 2u);
  EXPECT_EQ(c.optim.lr_groups[0].match, "head*");
  EXPECT_EQ(c.optim.lr_groups[0].lr_scale, 10.0);
  EXPECT_EQ(c.optim.lr_groups[1].match, "blocks.0.*");
  EXPECT_EQ(c.optim.lr_groups[1].lr_scale, 0.1);
  const std::string typo = error_of_yaml("optim:\n  lr_groups: [{match: a, lr_scal: 2}]\n");
  EXPECT_NE(typo.find("recipe.yaml:2:"), std::string::npos) << typo;
  EXPECT_NE(typo.find("did you mean 'lr_scale'"), std::string::npos) << typo;
  const std::string no_match = error_of_yaml("optim:\n  lr_groups: [{lr_scale: 2}]\n");
  EXPECT_NE(no_match.find("optim.lr_groups[0]: needs a 'match' glob"), std::string::npos) << no_match;
  const std::string bad_decay = error_of_yaml("optim: {layer_decay: 1.5}\n");
  EXPECT_NE(bad_decay.find("optim.layer_decay"), std::string::npos) << bad_decay;
}

TEST(Config, ClipTowerSections) {
  auto c = load_string("model:\n  name: ViT-B-32\n  vision: {width: 256, layers: 4}\n  text: {context_length: 16}\n",
                       "recipe.yaml");
  EXPECT_EQ(c.model.vision.width, 256);
  EXPECT_EQ(c.model.vision.layers, 4);
  EXPECT_EQ(c.model.text.context_length, 16);
  const std::string typo = error_of_yaml("model:\n  text: {contxt_length: 16}\n");
  EXPECT_NE(typo.find("did you mean 'context_length'"), std::string::npos) << typo;
}

TEST(Config, DistillSection) {
  auto c = load_string("distill:\n  type: hard\n  alpha: 0.5\n  teacher_weights: runs/swin\n", "recipe.yaml");
  EXPECT_EQ(c.distill.type, DistillType::Hard);
  EXPECT_EQ(c.distill.alpha, 0.5);
  EXPECT_EQ(c.distill.teacher_weights, "runs/swin");
  EXPECT_FALSE(c.distill.teacher.has_value());
  EXPECT_EQ(c.distill.normalization, KlNormalization::SumOverNumel);  // DeiT's
  // The teacher: a model section, or its name alone.
  c = load_string("distill:\n  type: soft\n  teacher: {name: swin, depths: [2, 2], window_size: 7}\n"
                  "  teacher_weights: t.safetensors\n",
                  "recipe.yaml");
  ASSERT_TRUE(c.distill.teacher.has_value());
  EXPECT_EQ(c.distill.teacher->name, "swin");
  EXPECT_EQ(c.distill.teacher->depths, (std::vector<int64_t>{2, 2}));
  c = load_string("distill: {type: hard, teacher: regnety_160, teacher_weights: t.safetensors}\n", "recipe.yaml");
  EXPECT_EQ(c.distill.teacher->name, "regnety_160");
  EXPECT_EQ(to_yaml(load_string(to_yaml(c), "again.yaml")), to_yaml(c));

  auto message = error_of_yaml("distill:\n  type: soft\n");
  EXPECT_NE(message.find("recipe.yaml:2:"), std::string::npos) << message;
  EXPECT_NE(message.find("distill.type: soft distillation needs distill.teacher_weights"), std::string::npos)
      << message;
  message = error_of_yaml("distill: {type: hard, teacher_weights: t, teacher: {depth: 2}}\n");
  EXPECT_NE(message.find("distill.teacher: needs a 'name'"), std::string::npos) << message;
  message = error_of_yaml("distill: {type: soft, teacher_weights: t, teacher: {name: vit, dept: 2}}\n");
  EXPECT_NE(message.find("distill.teacher.dept"), std::string::npos) << message;
  EXPECT_NE(message.find("did you mean 'depth'"), std::string::npos) << message;
  message = error_of_yaml("distill: {type: softer}\n");
  EXPECT_NE(message.find("did you mean 'soft'"), std::string::npos) << message;
  message = error_of_yaml("distill: {normalization: batch_mean}\n");
  EXPECT_NE(message.find("did you mean 'batchmean'"), std::string::npos) << message;
  message = error_of_yaml("distill: {alpha: 1.5}\n");
  EXPECT_NE(message.find("distill.alpha: 1.5 is out of range; must be in [0, 1]"), std::string::npos) << message;
  message = error_of_yaml("distill: {tau: 0}\n");
  EXPECT_NE(message.find("distill.tau"), std::string::npos) << message;
  // --set distill.type=none turns a distillation recipe into plain classification.
  c = load_string("distill: {type: hard, teacher_weights: runs/swin}\n", "recipe.yaml", {"distill.type=none"});
  EXPECT_EQ(c.distill.type, DistillType::None);
}

TEST(Config, ClipTrainingSection) {
  auto c = load_string("clip: {lock_image: true, image_lr_scale: 0.1, text_weight_decay: 0.1}\n", "recipe.yaml");
  EXPECT_TRUE(c.clip.lock_image);
  EXPECT_EQ(c.clip.image_lr_scale, 0.1);
  EXPECT_EQ(c.clip.image_weight_decay, std::nullopt);  // optim.weight_decay
  EXPECT_EQ(c.clip.text_weight_decay, 0.1);
  EXPECT_EQ(c.clip.logit_scale_weight_decay, 0.0);     // open_clip never decays it
  auto message = error_of_yaml("clip:\n  lock_images: true\n");
  EXPECT_NE(message.find("recipe.yaml:2:"), std::string::npos) << message;
  EXPECT_NE(message.find("did you mean 'lock_image'"), std::string::npos) << message;
  message = error_of_yaml("clip: {text_lr_scale: -1}\n");
  EXPECT_NE(message.find("clip.text_lr_scale: -1 is out of range"), std::string::npos) << message;
}

TEST(Config, DistSection) {
  auto c = load_string("dist: {backend: gloo, timeout_s: 30, clip_local_loss: true}\n", "recipe.yaml");
  EXPECT_EQ(c.dist.backend, DistBackend::Gloo);
  EXPECT_EQ(c.dist.timeout_s, 30.0);
  EXPECT_TRUE(c.dist.clip_local_loss);
  EXPECT_TRUE(c.dist.clip_gather_with_grad);  // open_clip's setting for equal gradients
  EXPECT_EQ(c.dist.bucket_mb, 25.0);          // DDP's bucket_cap_mb
  auto message = error_of_yaml("dist:\n  backend: glooo\n");
  EXPECT_NE(message.find("recipe.yaml:2:"), std::string::npos) << message;
  EXPECT_NE(message.find("did you mean 'gloo'"), std::string::npos) << message;
  message = error_of_yaml("dist: {timeout_s: 0}\n");
  EXPECT_NE(message.find("dist.timeout_s: 0 is out of range"), std::string::npos) << message;
}

// ---- names and suggestions ---------------------------------------------------

template <typename E>
void expect_names_round_trip() {
  for (const auto& entry : enum_names<E>()) {
    EXPECT_EQ(to_string(entry.value), entry.name);
    EXPECT_EQ(from_string<E>(entry.name), entry.value);
  }
}

TEST(Config, NormalizePresetSetsMeanAndStd) {
  auto c = load_string("data: {normalize: imagenet}", "r.yaml");
  EXPECT_EQ(c.data.mean, (std::vector<double>{0.485, 0.456, 0.406}));
  EXPECT_EQ(c.data.std, (std::vector<double>{0.229, 0.224, 0.225}));
  c = load_string("data: {normalize: clip}", "r.yaml");
  EXPECT_EQ(c.data.mean, (std::vector<double>{0.48145466, 0.4578275, 0.40821073}));
  c = load_string("data: {normalize: cifar10}", "r.yaml");
  EXPECT_EQ(c.data.std, (std::vector<double>{0.2470, 0.2435, 0.2616}));
  // Both ways at once is ambiguous.
  const auto message = error_of([] { load_string("data:\n  normalize: imagenet\n  mean: [0.5]\n", "r.yaml"); });
  EXPECT_NE(message.find("r.yaml:3"), std::string::npos) << message;
  EXPECT_NE(message.find("data.mean: is set by data.normalize too"), std::string::npos) << message;
}

TEST(Config, AugmentationValuesAreChecked) {
  auto message = error_of([] { load_string("data: {augment: {color_jitter: [0.1, 0.2]}}", "r.yaml"); });
  EXPECT_NE(message.find("data.augment.color_jitter: expected 1 value"), std::string::npos) << message;
  message = error_of([] { load_string("data: {augment: {scale: [0.9, 0.2]}}", "r.yaml"); });
  EXPECT_NE(message.find("data.augment.scale: the first value must not exceed the second"), std::string::npos)
      << message;
  message = error_of([] { load_string("data: {augment: {re_mode: pixels}}", "r.yaml"); });
  EXPECT_NE(message.find("did you mean 'pixel'"), std::string::npos) << message;
  message = error_of([] { load_string("data: {channels: 2}", "r.yaml"); });
  EXPECT_NE(message.find("data.channels: must be 1 or 3"), std::string::npos) << message;
  message = error_of([] { load_string("data: {csv_separator: ';;'}", "r.yaml"); });
  EXPECT_NE(message.find("data.csv_separator: must be one character"), std::string::npos) << message;
  message = error_of([] { load_string("data: {dataset: image_folders}", "r.yaml"); });
  EXPECT_NE(message.find("image_folder"), std::string::npos) << message;
}

TEST(ConfigNames, EveryEnumRoundTrips) {
  expect_names_round_trip<Precision>();
  expect_names_round_trip<AttentionBackend>();
  expect_names_round_trip<DeviceKind>();
  expect_names_round_trip<DatasetKind>();
  expect_names_round_trip<OptimizerKind>();
  expect_names_round_trip<ScheduleKind>();
  expect_names_round_trip<LrScaling>();
  expect_names_round_trip<GlobalPool>();
  expect_names_round_trip<ProgressMode>();
  expect_names_round_trip<MixupMode>();
  expect_names_round_trip<Interpolation>();
  expect_names_round_trip<NormalizePreset>();
  expect_names_round_trip<ErasingMode>();
  expect_names_round_trip<BadSamplePolicy>();
  expect_names_round_trip<DistillType>();
  expect_names_round_trip<KlNormalization>();
  expect_names_round_trip<DistBackend>();
  EXPECT_EQ(to_string(Precision::BF16), "bf16");
  EXPECT_EQ(to_string(DatasetKind::FashionMNIST), "fashion_mnist");
  EXPECT_EQ(from_string<DeviceKind>("gpu"), std::nullopt);
  EXPECT_EQ(names_of<ScheduleKind>(), (std::vector<std::string>{"cosine", "step", "constant"}));
}

}  // namespace
}  // namespace tessera::config
