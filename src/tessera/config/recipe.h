// The typed, validated recipe. config::load turns YAML into this; nothing past the
// config room sees YAML or option strings, only these structs and enums.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tessera::config {

enum class Precision { FP32, BF16, FP16 };
enum class AttentionBackend { Auto, Flash, Efficient, Math };
enum class DeviceKind { Auto, CPU, CUDA };
enum class DatasetKind { FashionMNIST, MNIST };
enum class OptimizerKind { AdamW, SGD };
enum class ScheduleKind { Cosine, Constant };
enum class GlobalPool { Token, Avg };
enum class ProgressMode { Auto, Bar, Lines };

// Which model, and the architecture numbers that differ from the registry's preset.
struct ModelConfig {
  std::string name = "vit_tiny_patch16_224";  // registry name (timm / open_clip)
  std::optional<int64_t> img_size;
  std::optional<int64_t> patch_size;
  std::optional<int64_t> in_chans;
  std::optional<int64_t> num_classes;
  std::optional<int64_t> embed_dim;
  std::optional<int64_t> depth;
  std::optional<int64_t> num_heads;
  std::optional<double> mlp_ratio;
  std::optional<bool> qkv_bias;
  std::optional<bool> class_token;
  std::optional<GlobalPool> global_pool;
  std::optional<double> drop_rate;       // dropout after pos_embed, in the MLP and before the head
  std::optional<double> attn_drop_rate;  // dropout on attention weights
  std::optional<double> drop_path_rate;  // stochastic depth, rising linearly over the blocks
};

// Training-time augmentation (the eval pipeline only normalizes).
struct AugmentConfig {
  int64_t random_crop_padding = 0;  // pad by this many pixels, then crop back; 0 = off
  double hflip = 0.0;               // probability of a horizontal flip
};

struct DataConfig {
  DatasetKind dataset = DatasetKind::FashionMNIST;
  std::string root = "/usr/share/datasets/fashion-mnist";  // folder with the dataset's files
  int64_t batch_size = 128;       // images per optimizer step
  int64_t eval_batch_size = 256;
  int64_t num_workers = 2;        // loader threads
  int64_t prefetch_batches = 4;   // depth of the bounded queue between workers and trainer
  int64_t limit_train = 0;        // use only the first N training samples; 0 = all
  int64_t limit_eval = 0;         // use only the first N evaluation samples; 0 = all
  std::vector<double> mean = {0.5};  // per channel, after scaling pixels to [0, 1]
  std::vector<double> std = {0.5};
  AugmentConfig augment;
};

struct OptimConfig {
  OptimizerKind name = OptimizerKind::AdamW;
  double learning_rate = 1e-3;
  double weight_decay = 0.05;           // not applied to biases, norms and tokens
  std::array<double, 2> betas = {0.9, 0.999};
  double eps = 1e-8;
  double momentum = 0.9;                // SGD only
  bool nesterov = false;                // SGD only
  double clip_grad_norm = 0.0;          // max global grad norm; 0 = off
};

struct ScheduleConfig {
  ScheduleKind name = ScheduleKind::Cosine;
  double warmup_epochs = 0.0;  // linear warmup length (fractions allowed)
  double warmup_lr = 0.0;      // learning rate at step 0 of the warmup
  double min_lr = 0.0;         // floor reached at the end of the cosine
};

struct TrainConfig {
  int64_t epochs = 10;
  double label_smoothing = 0.0;
  uint64_t seed = 0;
  DeviceKind device = DeviceKind::Auto;
  AttentionBackend attention = AttentionBackend::Auto;
  int64_t threads = 0;       // intra-op CPU threads; 0 = one per core
  int64_t eval_every = 1;    // epochs between evaluations (the last epoch always evaluates)
};

struct LoggingConfig {
  std::string output_dir = "runs";  // the run goes to <output_dir>/<name>/
  ProgressMode progress = ProgressMode::Auto;  // bar on a terminal, plain lines otherwise
  int64_t log_every = 50;           // steps between plain log lines / metrics.jsonl rows
};

struct CheckpointConfig {
  bool save_last = true;     // write checkpoints/last.* when training ends
  int64_t every_epochs = 0;  // also save every N epochs; 0 = only at the end
};

struct RecipeConfig {
  std::string name = "run";  // run name: the folder under logging.output_dir
  Precision precision = Precision::FP32;
  ModelConfig model;
  DataConfig data;
  OptimConfig optim;
  ScheduleConfig schedule;
  TrainConfig train;
  LoggingConfig logging;
  CheckpointConfig checkpoint;
};

}  // namespace tessera::config
