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
enum class DatasetKind { FashionMNIST, MNIST, CIFAR10, CIFAR100, ImageFolder, ImageText };
enum class Interpolation { Nearest, Bilinear, Bicubic };
enum class NormalizePreset { ImageNet, Clip, Cifar10, Cifar100, Half };
enum class ErasingMode { Const, Rand, Pixel };
enum class BadSamplePolicy { Skip, Fail };
enum class OptimizerKind { AdamW, SGD };
enum class ScheduleKind { Cosine, Step, Constant };
enum class LrScaling { Linear, Sqrt };
enum class GlobalPool { Token, Avg };
enum class ProgressMode { Auto, Bar, Lines };
enum class MixupMode { Batch, Pair, Elem };
enum class DistillType { None, Soft, Hard };
enum class KlNormalization { SumOverNumel, BatchMean };
enum class DistBackend { Auto, Gloo, Nccl };

// CLIP's image tower (open_clip's vision_cfg); unset fields keep the preset's.
struct ClipVisionConfig {
  std::optional<int64_t> image_size;
  std::optional<int64_t> patch_size;
  std::optional<int64_t> width;
  std::optional<int64_t> layers;
  std::optional<int64_t> heads;       // default: width / 64, as open_clip's head_width
  std::optional<double> mlp_ratio;
};

// CLIP's text tower (open_clip's text_cfg); unset fields keep the preset's.
struct ClipTextConfig {
  std::optional<int64_t> context_length;
  std::optional<int64_t> vocab_size;
  std::optional<int64_t> width;
  std::optional<int64_t> layers;
  std::optional<int64_t> heads;
  std::optional<double> mlp_ratio;
};

// Which model, and the architecture numbers that differ from the registry's preset.
struct ModelConfig {
  std::string name = "vit_tiny_patch16_224";  // registry name (timm / open_clip)
  std::optional<std::string> pretrained;  // weights to start from: a safetensors file with reference names
  std::optional<int64_t> img_size;
  std::optional<int64_t> patch_size;
  std::optional<int64_t> in_chans;
  std::optional<int64_t> num_classes;
  std::optional<int64_t> embed_dim;    // ViT / Swin: token width (Swin: of the first stage); CLIP: joint embedding
  std::optional<int64_t> depth;        // ViT: number of blocks
  std::optional<std::vector<int64_t>> depths;     // Swin: blocks per stage
  std::optional<std::vector<int64_t>> num_heads;  // ViT: one number; Swin: one per stage
  std::optional<int64_t> window_size;  // Swin: attention window (tokens per side)
  std::optional<double> mlp_ratio;
  std::optional<bool> qkv_bias;
  std::optional<bool> class_token;
  std::optional<GlobalPool> global_pool;
  std::optional<double> drop_rate;       // dropout before the head (timm's drop_rate)
  std::optional<double> pos_drop_rate;   // ViT / DeiT: dropout after adding pos_embed
  std::optional<double> proj_drop_rate;  // dropout after attn.proj and in the MLP
  std::optional<double> attn_drop_rate;  // dropout on attention weights
  std::optional<double> drop_path_rate;  // stochastic depth, rising linearly over the blocks
  ClipVisionConfig vision;  // CLIP only
  ClipTextConfig text;      // CLIP only
};

// Training-time augmentation, timm's train transforms in timm's order: random resized
// crop (or resize + center crop), random crop with padding, flip, then color jitter or
// auto-augment, normalize, random erasing. The eval pipeline resizes and center-crops only.
struct AugmentConfig {
  bool random_resized_crop = false;  // torchvision's RandomResizedCrop to data.image_size
  std::array<double, 2> scale = {0.08, 1.0};               // its area share range
  std::array<double, 2> ratio = {3.0 / 4.0, 4.0 / 3.0};   // its aspect-ratio range
  int64_t random_crop_padding = 0;  // pad by this many pixels, then crop back; 0 = off
  double hflip = 0.0;               // probability of a horizontal flip
  // ColorJitter: one value x = brightness, contrast and saturation x; or 3 values
  // (b, c, s) or 4 (b, c, s, hue). Empty = off. Skipped with auto_augment, as timm does.
  std::vector<double> color_jitter;
  std::optional<std::string> auto_augment;  // "rand-m9-mstd0.5-inc1" (timm's RandAugment) or "trivialaugment"
  double re_prob = 0.0;             // random erasing probability (timm's --reprob); 0 = off
  ErasingMode re_mode = ErasingMode::Pixel;
  int64_t re_count = 1;             // up to this many boxes per image
  int64_t aug_repeats = 0;          // repeated augmentation (DeiT / timm's RepeatAugSampler); 0 = off
};
struct DataConfig {
  DatasetKind dataset = DatasetKind::FashionMNIST;
  std::string root = "/usr/share/datasets/fashion-mnist";  // folder with the dataset's files
  bool coarse_labels = false;     // CIFAR-100: the 20 superclasses instead of the 100 classes
  // image_folder: the train / eval folders under root (root/<split>/<class>/<image>);
  // image_text: the CSV/TSV files under root. Defaults: train and val, train.csv and val.csv.
  std::optional<std::string> train_split;
  std::optional<std::string> eval_split;
  std::string csv_image_key = "filepath";  // image_text columns (open_clip's --csv-img-key / --csv-caption-key)
  std::string csv_caption_key = "title";
  std::optional<std::string> csv_separator;  // one character; default: tab for .tsv, comma otherwise
  // Output of both pipelines: image_size x image_size with `channels` channels. Unset:
  // the model's img_size / in_chans, else the dataset's own size (CIFAR, MNIST).
  std::optional<int64_t> image_size;
  std::optional<int64_t> channels;  // 3 with grayscale data replicates the channel; 1 with colour data converts
  Interpolation interpolation = Interpolation::Bilinear;  // for every resize
  double crop_pct = 1.0;          // eval: resize the shorter side to image_size / crop_pct, center-crop image_size
  int64_t batch_size = 128;       // images per optimizer step
  int64_t eval_batch_size = 256;
  int64_t num_workers = 2;        // loader threads
  int64_t prefetch_batches = 4;   // depth of the bounded queue between workers and trainer
  int64_t limit_train = 0;        // use only the first N training samples; 0 = all
  int64_t limit_eval = 0;         // use only the first N evaluation samples; 0 = all
  // Per channel, after scaling pixels to [0, 1]. `normalize: imagenet` (or clip, cifar10,
  // cifar100, half) in the recipe sets both from a preset.
  std::vector<double> mean = {0.5};
  std::vector<double> std = {0.5};
  BadSamplePolicy on_bad_sample = BadSamplePolicy::Skip;  // an image that does not decode: skip and count it, or stop
  AugmentConfig augment;
};

// A learning-rate multiplier for the parameters whose names match a glob.
struct LrGroupConfig {
  std::string match;      // fnmatch-style glob over parameter names, e.g. "head*"
  double lr_scale = 1.0;  // multiplies the group's lr (and any layer-decay scale)
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
  std::optional<double> layer_decay;    // layer-wise lr decay (BEiT / timm): layer i gets decay^(top - i)
  std::vector<LrGroupConfig> lr_groups; // differential lrs; the first matching glob wins
  // When > 0, learning_rate is given per this many images (timm's lr_base_size, DeiT's
  // lr × batch / 512) and scaled by the global batch: linearly, or by its square root.
  int64_t lr_base_size = 0;
  LrScaling lr_base_scale = LrScaling::Linear;
};

// Lengths are in epochs (fractions allowed) unless the *_steps form is given, which wins.
struct ScheduleConfig {
  ScheduleKind name = ScheduleKind::Cosine;
  double warmup_epochs = 0.0;            // linear warmup length
  std::optional<int64_t> warmup_steps;   // the same in optimizer steps
  double warmup_lr = 0.0;                // learning rate at step 0 of the warmup (timm's warmup_lr)
  std::optional<double> warmup_start_factor;  // or: warmup_lr = lr × this (PyTorch's LinearLR start_factor)
  double min_lr = 0.0;                   // cosine: the floor reached at the end
  double decay_epochs = 30.0;            // step: lr × decay_rate every this many epochs
  std::optional<int64_t> decay_steps;    // the same in optimizer steps
  double decay_rate = 0.1;               // step: the factor
};

// Dynamic loss scaling for precision: fp16 (torch.amp.GradScaler's defaults).
struct GradScalerConfig {
  double init_scale = 65536.0;
  double growth_factor = 2.0;    // after growth_interval steps without inf/nan gradients
  double backoff_factor = 0.5;   // after a step with inf/nan gradients (that step is skipped)
  int64_t growth_interval = 2000;
};

// Exponential moving average of the weights (timm's ModelEmaV3).
struct EmaConfig {
  double decay = 0.0;          // 0 = no EMA; typical: 0.9998
  bool warmup = false;         // ramp the decay from 0: decay_t = min(decay, 1 - (1 + t)^-warmup_power)
  double warmup_power = 2.0 / 3.0;
  bool on_cpu = false;         // keep the average in CPU memory (it is still evaluated)
};

// Mixup (Zhang et al., 2018) / CutMix (Yun et al., 2019) on training batches, as timm's
// Mixup; on when an alpha is > 0 or cutmix_minmax is set. Label smoothing comes from
// train.label_smoothing and is folded into the mixed soft targets.
struct MixupConfig {
  double mixup_alpha = 0.0;    // λ ~ Beta(α, α) for blending whole images; 0 = no mixup
  double cutmix_alpha = 0.0;   // λ ~ Beta(α, α) for pasting a box; 0 = no cutmix
  std::optional<std::array<double, 2>> cutmix_minmax;  // box sides as fractions of the image (timm: forces cutmix, α = 1)
  double prob = 1.0;           // chance that a batch (or element) is mixed at all
  double switch_prob = 0.5;    // with both alphas on: chance of cutmix rather than mixup
  MixupMode mode = MixupMode::Batch;  // one λ per batch, per pair of elements, or per element
  bool correct_lam = true;     // cutmix: λ from the box area after clipping to the image
};

struct TrainConfig {
  int64_t epochs = 10;
  double label_smoothing = 0.0;
  uint64_t seed = 0;
  DeviceKind device = DeviceKind::Auto;
  AttentionBackend attention = AttentionBackend::Auto;
  int64_t threads = 0;       // intra-op CPU threads; 0 = one per core
  int64_t eval_every = 1;    // epochs between evaluations (the last epoch always evaluates)
  GradScalerConfig grad_scaler;  // used with precision: fp16
  EmaConfig ema;
  int64_t max_nonfinite_steps = 10;  // inf/nan losses in a row (each step skipped) before the run stops
  MixupConfig mixup;
  int64_t accum_steps = 1;   // micro-batches per optimizer step (gradient accumulation)
  // never: always a fresh run folder; auto: continue <output_dir>/<name> from its newest
  // complete checkpoint when it has one; any other value: the run folder to continue.
  std::string resume = "never";
};

struct LoggingConfig {
  std::string output_dir = "runs";  // the run goes to <output_dir>/<name>/
  ProgressMode progress = ProgressMode::Auto;  // bar on a terminal, plain lines otherwise
  int64_t log_every = 50;           // steps between plain log lines / metrics.jsonl rows
  bool tensorboard = true;          // also write metrics as TensorBoard scalars to <run>/tensorboard/
};

struct CheckpointConfig {
  bool save_last = true;     // write checkpoints/last.* when training ends
  int64_t every_epochs = 0;  // also save every N epochs; 0 = only at the end
  int64_t every_steps = 0;   // also save every N optimizer steps, mid-epoch too; 0 = off
  int64_t keep_last = 0;     // keep only the N newest step checkpoints; 0 = keep all
  bool best = false;         // also keep checkpoints/best.safetensors: the weights of the best eval score (top-1; CLIP: retrieval_r1)
};

// DeiT's distillation (Touvron et al., 2021): the student's class head learns from the
// labels, its distillation head from a frozen teacher that sees the same (mixed) images.
// loss = (1 - alpha) · base + alpha · distill; see train/distillation_loss.h. The student
// must have a distillation head (deit_*_distilled_*).
struct DistillConfig {
  DistillType type = DistillType::None;  // none: plain classification, no teacher; soft: KL; hard: CE on the teacher's argmax
  double alpha = 0.5;   // weight of the distillation term (DeiT's --distillation-alpha)
  double tau = 1.0;     // soft: softmax temperature (DeiT's --distillation-tau)
  // soft: the KL sum divided by the logits' element count (DeiT's code) or by the batch
  // size (timm's batchmean); they differ by the class count, so alpha means another weight.
  KlNormalization normalization = KlNormalization::SumOverNumel;
  // The teacher's architecture (a model section: name and overrides). Unset: the one
  // recorded with teacher_weights (a run's config.yaml or a bundle's tessera.json).
  std::optional<ModelConfig> teacher;
  // The teacher's weights: a run folder (checkpoints/last.safetensors, else its newest
  // step checkpoint), a bundle folder (model.safetensors) or a safetensors file with
  // timm's names (then `teacher` is needed). Required unless type is none.
  std::optional<std::string> teacher_weights;
};

// Contrastive image-text training of a CLIP model (open_clip's training, one process):
// the parameter groups of the two towers and of logit_scale, and LiT's locked image
// tower (Zhai et al., 2022). Biases, gains and 0/1-D tensors never get weight decay.
struct ClipTrainConfig {
  bool lock_image = false;  // freeze the image tower (no gradients, eval mode): open_clip's --lock-image
  double image_lr_scale = 1.0;                 // visual.*: lr multiplier
  std::optional<double> image_weight_decay;    // visual.*: default optim.weight_decay
  double text_lr_scale = 1.0;                  // the text tower (embeddings, transformer, ln_final, text_projection)
  std::optional<double> text_weight_decay;     // default optim.weight_decay
  double logit_scale_lr_scale = 1.0;           // the learnable temperature
  double logit_scale_weight_decay = 0.0;       // open_clip never decays it
};

// Data-parallel training over several processes (torchrun or `tessera launch`): the
// job's size and this process's rank come from the environment (WORLD_SIZE, RANK, ...),
// never from the recipe, so the same recipe runs on any number of processes, and
// data.batch_size is the global batch, split evenly among them. These keys may change
// when a run is resumed.
struct DistConfig {
  DistBackend backend = DistBackend::Auto;  // auto: nccl on CUDA, gloo on CPU
  double bucket_mb = 25.0;                  // gradient all-reduce bucket size (DDP's bucket_cap_mb)
  double timeout_s = 300.0;                 // how long a collective waits for a rank that hangs
  double rendezvous_timeout_s = 600.0;      // how long the ranks wait for each other at the start
  // The last samples of an epoch that do not divide among the ranks: padded with
  // samples from the start of the order (false; DistributedSampler's default) or dropped.
  bool drop_last_shard = false;
  // CLIP: each rank scores only its own pairs against the gathered batch (open_clip's --local-loss).
  bool clip_local_loss = false;
  // CLIP: the gradient flows back through the gathered features (open_clip's
  // --gather-with-grad): training equals one process on the global batch.
  bool clip_gather_with_grad = true;
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
  DistillConfig distill;  // classification models only
  ClipTrainConfig clip;   // CLIP models only
  DistConfig dist;        // data-parallel runs only
};

}  // namespace tessera::config
