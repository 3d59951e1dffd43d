// The training loop (see trainer.h).
#include "tessera/train/trainer.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <spdlog/spdlog.h>
#include <torch/nn/utils/clip_grad.h>

#include <chrono>
#include <cmath>

#include "tessera/config/names.h"
#include "tessera/models/registry.h"
#include "tessera/core/error.h"
#include "tessera/core/precision.h"
#include "tessera/train/checkpoint.h"
#include "tessera/train/grad_scaler.h"
#include "tessera/train/metrics_log.h"
#include "tessera/train/optimizer.h"
#include "tessera/train/progress.h"

namespace tessera::train {

namespace {
double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}
}  // namespace

Trainer::Trainer(const config::RecipeConfig& config, models::ImageClassifier model, data::Pipeline& loaders,
                 c10::Device device, std::filesystem::path run_dir)
    : config_(config), model_(std::move(model)), loaders_(loaders), device_(device), run_dir_(std::move(run_dir)) {
  model_->to(device_);
  groups_ = build_param_groups(*model_, config_.optim.weight_decay, config_.optim.layer_decay,
                               config_.optim.lr_groups);
  optimizer_ = build_optimizer(config_.optim, groups_);
  const int64_t steps_per_epoch = loaders_.train->size();
  TORCH_CHECK(steps_per_epoch > 0, "Trainer: the training loader yields no batch");
  if (config_.train.ema.decay > 0) {
    ema_.emplace(*model_,
                 EmaOptions()
                     .decay(config_.train.ema.decay)
                     .warmup(config_.train.ema.warmup)
                     .warmup_power(config_.train.ema.warmup_power),
                 config_.train.ema.on_cpu ? c10::Device(c10::kCPU) : device_);
    ema_model_ = models::create(config_.model);
    ema_model_->to(device_);
  }
  base_lr_ = effective_learning_rate(config_.optim, config_.data.batch_size);
  schedule_ = make_schedule(config_.schedule, base_lr_, steps_per_epoch, steps_per_epoch * config_.train.epochs);
}

void Trainer::log_param_groups() const {
  for (const auto& g : groups_) {
    spdlog::info("param group {:<24} {:>4} tensors {:>10} params  lr x{:<10.6g} weight_decay {:g}", g.label,
                 g.params.size(), g.numel(), g.lr_scale, g.weight_decay);
  }
}

std::filesystem::path Trainer::save_checkpoint(const std::string& tag, int64_t epoch, int64_t step) {
  const auto path = run_dir_ / "checkpoints" / (tag + ".safetensors");
  std::string classes;
  for (const auto& name : loaders_.class_names) classes += (classes.empty() ? "" : "\n") + name;
  save_weights(*model_, path,
               {{"format", "tessera"},
                {"model", config_.model.name},
                {"epoch", std::to_string(epoch)},
                {"step", std::to_string(step)},
                {"class_names", classes}});
  return path;
}

EvalResult Trainer::evaluate_ema() {
  ema_->copy_to(*ema_model_);
  return evaluate(*ema_model_, *loaders_.eval, device_, config_.precision);
}

TrainSummary Trainer::fit() {
  const auto& c = config_;
  const int64_t steps_per_epoch = loaders_.train->size();
  spdlog::info("training {} for {} epochs x {} steps (batch {}), {} on {}", c.model.name, c.train.epochs,
               steps_per_epoch, c.data.batch_size, config::to_string(c.precision), device_.str());
  if (c.optim.lr_base_size > 0) {
    spdlog::info("learning rate {:g} per {} images, {} scaled to the batch of {}: {:g}", c.optim.learning_rate,
                 c.optim.lr_base_size, config::to_string(c.optim.lr_base_scale), c.data.batch_size, base_lr_);
  }
  log_param_groups();
  MetricsLog metrics(run_dir_ / "metrics.jsonl");
  Progress progress(c.logging.progress, c.logging.log_every);
  // Loss scaling only for fp16, whose narrow range underflows small gradients.
  GradScaler scaler(GradScalerOptions()
                        .init_scale(c.train.grad_scaler.init_scale)
                        .growth_factor(c.train.grad_scaler.growth_factor)
                        .backoff_factor(c.train.grad_scaler.backoff_factor)
                        .growth_interval(c.train.grad_scaler.growth_interval)
                        .enabled(c.precision == config::Precision::FP16),
                    device_);
  TrainSummary summary;
  const auto started = std::chrono::steady_clock::now();
  int64_t step = 0;
  int64_t nonfinite_in_a_row = 0;

  model_->train();
  for (int64_t epoch = 0; epoch < c.train.epochs; ++epoch) {
    const auto epoch_started = std::chrono::steady_clock::now();
    double loss_sum = 0.0;
    int64_t images = 0, step_in_epoch = 0;
    loaders_.train->start_epoch(epoch);
    while (auto batch = loaders_.train->next()) {
      const double lr = schedule_.at(step);
      set_learning_rate(*optimizer_, groups_, lr);
      auto inputs = batch->images.to(device_, /*non_blocking=*/true);
      auto labels = batch->labels.to(device_, /*non_blocking=*/true);

      at::Tensor logits;
      {
        core::AutocastGuard autocast(c.precision, device_);
        logits = model_->forward(inputs);
      }
      // The loss in fp32 whatever the compute precision (log-softmax is autocast's fp32 op anyway).
      auto loss = at::cross_entropy_loss(logits.to(at::kFloat), labels, {}, at::Reduction::Mean, -100,
                                         c.train.label_smoothing);
      const double loss_value = loss.item<double>();
      if (!std::isfinite(loss_value)) {
        // Skip the step (the weights stay as they were); only a run of them is fatal.
        progress.finish_line();
        spdlog::warn("step {}: the loss is {}; step skipped ({} in a row)", step + 1, loss_value, ++nonfinite_in_a_row);
        if (nonfinite_in_a_row >= c.train.max_nonfinite_steps) {
          throw Error("step " + std::to_string(step + 1),
                      std::to_string(nonfinite_in_a_row) + " non-finite losses in a row (train.max_nonfinite_steps); " +
                          "lower optim.learning_rate or set optim.clip_grad_norm. Checkpoints written so far are intact");
        }
        continue;
      }
      nonfinite_in_a_row = 0;
      optimizer_->zero_grad();
      scaler.scale(loss).backward();
      if (c.optim.clip_grad_norm > 0) {
        scaler.unscale(*optimizer_);  // clip the true gradients, not the scaled ones
        torch::nn::utils::clip_grad_norm_(model_->parameters(), c.optim.clip_grad_norm);
      }
      if (!scaler.step(*optimizer_)) {
        spdlog::warn("step {}: inf/nan gradients at loss scale {:g}; step skipped", step + 1,
                     scaler.current_scale());
      }
      scaler.update();
      ++step;
      ++step_in_epoch;
      if (ema_) ema_->update(*model_, step);

      loss_sum += loss_value;
      images += labels.size(0);
      StepStats stats{epoch, c.train.epochs, step_in_epoch, steps_per_epoch, step, steps_per_epoch * c.train.epochs,
                      loss_sum / step_in_epoch, lr, images / seconds_since(epoch_started)};
      progress.update(stats);
      if (step % c.logging.log_every == 0) {
        metrics.write({{"step", step}, {"epoch", epoch + 1}, {"loss", loss_value}, {"lr", lr},
                       {"images_per_second", stats.images_per_second}});
      }
    }
    progress.finish_line();
    const double epoch_seconds = seconds_since(epoch_started);
    const double train_loss = loss_sum / std::max<int64_t>(1, step_in_epoch);

    const bool last = epoch + 1 == c.train.epochs;
    if (last || (epoch + 1) % c.train.eval_every == 0) {
      auto result = evaluate(*model_, *loaders_.eval, device_, c.precision);
      summary.final_eval = result;
      summary.best_top1 = std::max(summary.best_top1, result.top1);
      spdlog::info("epoch {}/{}: train loss {:.4f} | eval loss {:.4f} top-1 {:.4f} top-5 {:.4f} | {:.0f} img/s, {}",
                   epoch + 1, c.train.epochs, train_loss, result.loss, result.top1, result.top5,
                   images / epoch_seconds, Progress::format_duration(epoch_seconds));
      nlohmann::json row = {{"step", step}, {"epoch", epoch + 1}, {"train_loss", train_loss},
                            {"eval_loss", result.loss}, {"eval_top1", result.top1}, {"eval_top5", result.top5},
                            {"epoch_seconds", epoch_seconds}};
      if (ema_) {
        const auto ema_result = evaluate_ema();
        summary.final_ema_eval = ema_result;
        spdlog::info("epoch {}/{}: EMA weights | eval loss {:.4f} top-1 {:.4f} top-5 {:.4f}", epoch + 1,
                     c.train.epochs, ema_result.loss, ema_result.top1, ema_result.top5);
        row["ema_eval_loss"] = ema_result.loss;
        row["ema_eval_top1"] = ema_result.top1;
        row["ema_eval_top5"] = ema_result.top5;
      }
      metrics.write(row);
    } else {
      spdlog::info("epoch {}/{}: train loss {:.4f} | {:.0f} img/s, {}", epoch + 1, c.train.epochs, train_loss,
                   images / epoch_seconds, Progress::format_duration(epoch_seconds));
    }
    if (c.checkpoint.every_epochs > 0 && (epoch + 1) % c.checkpoint.every_epochs == 0 && !last) {
      save_checkpoint("epoch" + std::to_string(epoch + 1), epoch + 1, step);
    }
  }
  summary.steps = step;
  summary.train_seconds = seconds_since(started);
  if (c.checkpoint.save_last) {
    summary.checkpoint = save_checkpoint("last", c.train.epochs, step);
    if (ema_) {
      ema_->copy_to(*ema_model_);
      save_weights(*ema_model_, run_dir_ / "checkpoints" / "last_ema.safetensors",
                   {{"format", "tessera"}, {"model", c.model.name}, {"ema_decay", std::to_string(c.train.ema.decay)}});
    }
  }
  return summary;
}

}  // namespace tessera::train
