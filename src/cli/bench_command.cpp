// tessera bench [--model NAME] [--set key=value ...] [--batch 128] [--img-size 32]
// [--precision fp32|bf16|fp16] [--steps N] [--warmup W] [--mode train|infer] [--json]:
// images per second of a registered model on random data, step by step, for comparing
// against other frameworks on the same machine (scripts/bench_vit_ti.sh).
#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "cli/commands.h"
#include "tessera/config/load.h"
#include "tessera/config/names.h"
#include "tessera/core/device.h"
#include "tessera/core/error.h"
#include "tessera/core/precision.h"
#include "tessera/models/registry.h"
#include "tessera/train/grad_scaler.h"
#include "tessera/train/optimizer.h"
#include "tessera/train/param_groups.h"

namespace tessera::cli {

namespace {

struct BenchArgs {
  std::string model = "vit_tiny_patch16_224";
  std::vector<std::string> overrides;  // model keys (img_size=32) or full recipe keys (optim.learning_rate=...)
  int64_t batch = 128;
  int64_t img_size = 32;
  std::string precision = "fp32";
  int64_t steps = 20;
  int64_t warmup = 5;
  std::string mode = "train";
  int64_t threads = 0;
  bool json = false;
};

// The recipe a bench runs: the model and its overrides, precision, threads; everything
// goes through the recipe loader, so bad keys and values get its messages.
config::RecipeConfig bench_config(const BenchArgs& args) {
  std::vector<std::string> overrides = {"model.name=" + args.model, "model.img_size=" + std::to_string(args.img_size),
                                        "precision=" + args.precision,
                                        "train.threads=" + std::to_string(args.threads)};
  for (const auto& o : args.overrides) {
    // A bare key is the model's; a dotted section (optim., train., ...) is the recipe's.
    const auto section = o.substr(0, o.find_first_of(".="));
    const bool recipe_key = section == "model" || section == "optim" || section == "train" || section == "precision";
    overrides.push_back(recipe_key ? o : "model." + o);
  }
  return config::load_string("{}", "tessera bench", overrides);
}

// The p-th percentile (0..1) of `values`, linearly interpolated between ranks as numpy's
// default does, so it compares with the Python side of scripts/bench_vit_ti.sh.
double percentile(std::vector<double> values, double p) {
  std::sort(values.begin(), values.end());
  const double rank = p * static_cast<double>(values.size() - 1);
  const auto below = static_cast<size_t>(std::floor(rank));
  const auto above = std::min(below + 1, values.size() - 1);
  return values[below] + (rank - static_cast<double>(below)) * (values[above] - values[below]);
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void run_bench(const BenchArgs& args) {
  if (args.batch < 1) throw Error("--batch", "must be at least 1, got " + std::to_string(args.batch));
  if (args.steps < 1) throw Error("--steps", "must be at least 1, got " + std::to_string(args.steps));
  if (args.warmup < 0) throw Error("--warmup", "must not be negative, got " + std::to_string(args.warmup));
  const bool train = args.mode == "train";
  const auto cfg = bench_config(args);
  const int threads = core::set_cpu_threads(cfg.train.threads);
  const auto device = core::choose_device(cfg.train.device);
  core::check_precision(cfg.precision, device);
  at::manual_seed(cfg.train.seed);

  auto model = models::create(cfg.model);
  if (model->num_classes() < 1) throw Error("model.num_classes", "bench needs a classifier head (num_classes >= 1)");
  model->to(device);
  int64_t params = 0;
  for (const auto& p : model->parameters()) params += p.numel();
  const auto images = at::randn({args.batch, model->in_chans(), model->img_size(), model->img_size()},
                                at::TensorOptions().device(device));
  const auto labels = at::randint(model->num_classes(), {args.batch}, at::TensorOptions().device(device).dtype(at::kLong));

  // The trainer's step without data loading, schedule or logging: what the model and
  // optimizer cost. Weights stay fp32; autocast runs eligible ops in bf16/fp16.
  std::function<void()> step;
  std::unique_ptr<torch::optim::Optimizer> optimizer;
  std::optional<train::GradScaler> scaler;
  if (train) {
    model->train();
    optimizer = train::build_optimizer(cfg.optim, train::build_param_groups(*model, cfg.optim.weight_decay));
    scaler.emplace(train::GradScalerOptions().enabled(cfg.precision == config::Precision::FP16), device);
    step = [&] {
      at::Tensor logits;
      {
        core::AutocastGuard autocast(cfg.precision, device);
        logits = model->forward(images);
      }
      auto loss = at::cross_entropy_loss(logits.to(at::kFloat), labels);
      scaler->scale(loss).backward();
      scaler->step(*optimizer);
      scaler->update();
      optimizer->zero_grad();
      loss.item<double>();  // waits for the device: the step is done when timed
    };
  } else {
    model->eval();
    step = [&] {
      c10::InferenceMode inference;
      core::AutocastGuard autocast(cfg.precision, device);
      model->forward(images).sum().item<double>();
    };
  }

  for (int64_t i = 0; i < args.warmup; ++i) step();
  std::vector<double> step_seconds, images_per_second;
  for (int64_t i = 0; i < args.steps; ++i) {
    const auto started = std::chrono::steady_clock::now();
    step();
    step_seconds.push_back(seconds_since(started));
    images_per_second.push_back(static_cast<double>(args.batch) / step_seconds.back());
  }
  const double median = percentile(images_per_second, 0.5), p10 = percentile(images_per_second, 0.1),
               p90 = percentile(images_per_second, 0.9);

  if (args.json) {
    nlohmann::json out = {{"framework", "tessera"},
                          {"model", cfg.model.name},
                          {"params", params},
                          {"mode", args.mode},
                          {"precision", config::to_string(cfg.precision)},
                          {"device", device.str()},
                          {"threads", threads},
                          {"batch", args.batch},
                          {"img_size", model->img_size()},
                          {"in_chans", model->in_chans()},
                          {"num_classes", model->num_classes()},
                          {"warmup", args.warmup},
                          {"steps", args.steps},
                          {"images_per_second", {{"median", median}, {"p10", p10}, {"p90", p90}}},
                          {"step_seconds", step_seconds}};
    std::cout << out.dump() << std::endl;
    return;
  }
  std::printf("%s (%.2fM parameters): %s, %s, batch %lld of %lldx%lldx%lld, %d threads on %s\n",
              cfg.model.name.c_str(), params / 1e6, args.mode.c_str(), config::to_string(cfg.precision).c_str(),
              static_cast<long long>(args.batch), static_cast<long long>(model->in_chans()),
              static_cast<long long>(model->img_size()), static_cast<long long>(model->img_size()), threads,
              device.str().c_str());
  std::printf("%lld timed steps after %lld warmup: images/s median %.1f | p10 %.1f | p90 %.1f (median step %.1f ms)\n",
              static_cast<long long>(args.steps), static_cast<long long>(args.warmup), median, p10, p90,
              1000.0 * percentile(step_seconds, 0.5));
}

}  // namespace

void add_bench_command(CLI::App& app) {
  auto args = std::make_shared<BenchArgs>();
  auto* cmd = app.add_subcommand(
      "bench", "Measure training or inference images/s of a registered model on random data (per-step timing)");
  cmd->add_option("--model", args->model, "registered model name")->capture_default_str();
  cmd->add_option("--set", args->overrides,
                  "override a model key (patch_size=4, num_classes=10) or a recipe key (optim.weight_decay=0.1); "
                  "repeatable");
  cmd->add_option("--batch", args->batch, "images per step")->capture_default_str();
  cmd->add_option("--img-size", args->img_size, "image side in pixels (model.img_size)")->capture_default_str();
  cmd->add_option("--precision", args->precision, "fp32, bf16 or fp16 (autocast; fp16 needs CUDA)")
      ->capture_default_str();
  cmd->add_option("--steps", args->steps, "timed steps")->capture_default_str();
  cmd->add_option("--warmup", args->warmup, "untimed steps first")->capture_default_str();
  cmd->add_option("--mode", args->mode, "train: forward, cross-entropy, backward, AdamW step; infer: forward only")
      ->check(CLI::IsMember({"train", "infer"}))
      ->capture_default_str();
  cmd->add_option("--threads", args->threads, "CPU threads; 0 = one per core")->capture_default_str();
  cmd->add_flag("--json", args->json, "print one JSON object instead of text");
  cmd->callback([args] { run_bench(*args); });
}

}  // namespace tessera::cli
