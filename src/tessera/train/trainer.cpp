// The training loop (see trainer.h).
#include "tessera/train/trainer.h"

#include <ATen/ATen.h>
#include <spdlog/spdlog.h>
#include <torch/nn/utils/clip_grad.h>

#include <chrono>
#include <cmath>

#include "tessera/config/names.h"
#include "tessera/core/error.h"
#include "tessera/core/precision.h"
#include "tessera/train/checkpoint.h"
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
  groups_ = build_param_groups(*model_, config_.optim.weight_decay);
  optimizer_ = build_optimizer(config_.optim, groups_);
  const int64_t steps_per_epoch = loaders_.train->size();
  if (steps_per_epoch == 0) {
    throw Error("data.batch_size", "the training set (" + std::to_string(loaders_.train->num_samples()) +
                                       " samples) is smaller than one batch (" +
                                       std::to_string(config_.data.batch_size) + ")");
  }
  schedule_ = make_schedule(config_.schedule, config_.optim.learning_rate, steps_per_epoch,
                            steps_per_epoch * config_.train.epochs);
}

void Trainer::log_param_groups() const {
  for (const auto& g : groups_) {
    spdlog::info("param group {:<9} {:>4} tensors {:>10} params  lr x{:g}  weight_decay {:g}", g.label,
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

TrainSummary Trainer::fit() {
  const auto& c = config_;
  const int64_t steps_per_epoch = loaders_.train->size();
  spdlog::info("training {} for {} epochs x {} steps (batch {}), {} on {}", c.model.name, c.train.epochs,
               steps_per_epoch, c.data.batch_size, config::to_string(c.precision), device_.str());
  log_param_groups();
  MetricsLog metrics(run_dir_ / "metrics.jsonl");
  Progress progress(c.logging.progress, c.logging.log_every);
  TrainSummary summary;
  const auto started = std::chrono::steady_clock::now();
  int64_t step = 0;

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
      optimizer_->zero_grad();
      loss.backward();
      if (c.optim.clip_grad_norm > 0) {
        torch::nn::utils::clip_grad_norm_(model_->parameters(), c.optim.clip_grad_norm);
      }
      optimizer_->step();
      ++step;
      ++step_in_epoch;

      const double loss_value = loss.item<double>();
      if (!std::isfinite(loss_value)) {
        progress.finish_line();
        throw Error("step " + std::to_string(step), "the loss is not finite (" + std::to_string(loss_value) +
                                                        "); lower optim.learning_rate or set optim.clip_grad_norm");
      }
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
      metrics.write({{"step", step}, {"epoch", epoch + 1}, {"train_loss", train_loss}, {"eval_loss", result.loss},
                     {"eval_top1", result.top1}, {"eval_top5", result.top5}, {"epoch_seconds", epoch_seconds}});
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
  if (c.checkpoint.save_last) summary.checkpoint = save_checkpoint("last", c.train.epochs, step);
  return summary;
}

}  // namespace tessera::train
