// The training loop (see trainer.h).
#include "tessera/train/trainer.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <torch/nn/utils/clip_grad.h>

#include <chrono>
#include <cmath>
#include <csignal>
#include <fstream>
#include <sstream>
#include <tuple>

#include "tessera/config/names.h"
#include "tessera/core/attention_backend.h"
#include "tessera/core/atomic_file.h"
#include "tessera/core/error.h"
#include "tessera/core/precision.h"
#include "tessera/dist/broadcast.h"
#include "tessera/dist/step_agreement.h"
#include "tessera/nn/sdpa.h"
#include "tessera/train/checkpoint.h"
#include "tessera/train/device_memory.h"
#include "tessera/train/metrics_log.h"
#include "tessera/train/optimizer.h"
#include "tessera/train/progress.h"
#include "tessera/train/stop_signal.h"

namespace tessera::train {

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

GradScalerOptions scaler_options(const config::RecipeConfig& c) {
  // Loss scaling only for fp16, whose narrow range underflows small gradients.
  return GradScalerOptions()
      .init_scale(c.train.grad_scaler.init_scale)
      .growth_factor(c.train.grad_scaler.growth_factor)
      .backoff_factor(c.train.grad_scaler.backoff_factor)
      .growth_interval(c.train.grad_scaler.growth_interval)
      .enabled(c.precision == config::Precision::FP16);
}

// Keeps the first `rows` lines of metrics.jsonl: the rows a killed run wrote after its
// last checkpoint are written again, identically, by the resumed run.
void keep_metrics_rows(const std::filesystem::path& path, int64_t rows) {
  if (!std::filesystem::exists(path)) return;
  std::ifstream in(path);
  std::ostringstream kept;
  std::string line;
  int64_t n = 0;
  while (n < rows && std::getline(in, line)) {
    kept << line << '\n';
    ++n;
  }
  in.close();
  core::write_file_atomic(path, kept.str());
}

}  // namespace

Trainer::Trainer(const config::RecipeConfig& config, std::unique_ptr<Task> task, data::Pipeline& loaders,
                 c10::Device device, std::filesystem::path run_dir, std::shared_ptr<dist::ProcessGroup> group)
    : config_(config),
      task_(std::move(task)),
      model_(task_->model()),
      loaders_(loaders),
      device_(device),
      run_dir_(std::move(run_dir)),
      scaler_(scaler_options(config), device),
      group_(std::move(group)) {
  // train.attention: ATen's SDPA switches, checked against the run's attention shapes.
  const nn::AttentionShapes shapes = task_->attention_shapes();
  core::AttentionProbe probe;
  if (!shapes.head_dims.empty()) probe.head_dims = shapes.head_dims;
  probe.with_mask = shapes.masked;
  probe.dtype = core::attention_dtype(config_.precision);
  probe.device = device_;
  spdlog::info("{}", core::apply_attention_backend(config_.train.attention, probe));
  for (const auto& line : task_->describe()) spdlog::info("{}", line);
  groups_ = task_->param_groups(config_.optim);
  std::vector<std::pair<std::string, at::Tensor>> named_trained;
  for (const auto& item : model_.named_parameters()) {
    if (!item.value().requires_grad()) continue;  // a frozen (locked) tower has no gradients
    trained_params_.push_back(item.value());
    named_trained.emplace_back(item.key(), item.value());
  }
  if (group_) {
    const auto bucket_bytes = static_cast<int64_t>(config_.dist.bucket_mb * 1024 * 1024);
    // Before EMA copies the weights: every replica starts from rank 0's.
    dist::broadcast_module(*group_, model_, bucket_bytes);
    reducer_ = std::make_unique<dist::GradReducer>(std::move(named_trained), group_,
                                                   dist::GradReducerOptions().bucket_bytes(bucket_bytes));
    task_->set_process_group(group_);
    const int64_t buckets = reducer_->num_buckets();
    spdlog::info("data parallel: {} processes ({}), gradients all-reduced in {} bucket{} of up to {:g} MB, "
                 "global batch {} ({} per process)",
                 group_->size(), dist::backend_name(group_->backend()), buckets, buckets == 1 ? "" : "s",
                 config_.dist.bucket_mb, config_.data.batch_size, config_.data.batch_size / group_->size());
  }
  optimizer_ = build_optimizer(config_.optim, groups_);
  const int64_t accum = config_.train.accum_steps;
  const int64_t batches = loaders_.train->size();
  TORCH_CHECK(batches > 0, "Trainer: the training loader yields no batch");
  if (batches < accum) {
    throw Error("train.accum_steps", "accumulates " + std::to_string(accum) + " batches per step but an epoch has " +
                                         std::to_string(batches) + "; lower train.accum_steps or data.batch_size");
  }
  steps_per_epoch_ = batches / accum;  // micro-batches left over at the end of an epoch are not used
  if (config_.train.ema.decay > 0) {
    ema_.emplace(model_,
                 EmaOptions()
                     .decay(config_.train.ema.decay)
                     .warmup(config_.train.ema.warmup)
                     .warmup_power(config_.train.ema.warmup_power),
                 config_.train.ema.on_cpu ? c10::Device(c10::kCPU) : device_);
    ema_model_ = task_->make_twin();
  }
  // Batch-size lr scaling sees the images per optimizer step.
  base_lr_ = effective_learning_rate(config_.optim, config_.data.batch_size * accum);
  schedule_ = make_schedule(config_.schedule, base_lr_, steps_per_epoch_, steps_per_epoch_ * config_.train.epochs);
}

void Trainer::log_param_groups() const {
  for (const auto& g : groups_) {
    spdlog::info("param group {:<24} {:>4} tensors {:>10} params  lr x{:<10.6g} weight_decay {:g}", g.label,
                 g.params.size(), g.numel(), g.lr_scale, g.weight_decay);
  }
}

TrainStateRefs Trainer::state_refs() {
  return TrainStateRefs{model_, *optimizer_, scaler_, ema_ ? &*ema_ : nullptr};
}

void Trainer::resume_from(const LoadedCheckpoint& checkpoint) {
  load_weights(model_, checkpoint.files.weights);
  progress_ = restore_train_state(checkpoint.state, state_refs(), checkpoint.files.state.string());
  if (progress_.batches_in_epoch > loaders_.train->size()) {
    throw Error(checkpoint.files.state.string(), "the run stopped at batch " +
                                                     std::to_string(progress_.batches_in_epoch) +
                                                     " of an epoch that now has " +
                                                     std::to_string(loaders_.train->size()));
  }
  resumed_ = true;
  spdlog::info("resuming from {}: step {}, epoch {} at batch {} of {}", checkpoint.files.state.string(),
               progress_.step, progress_.epoch + 1, progress_.batches_in_epoch, loaders_.train->size());
}

std::map<std::string, std::string> Trainer::weights_metadata() const {
  std::string classes;
  for (const auto& name : loaders_.class_names) classes += (classes.empty() ? "" : "\n") + name;
  return {{"format", "tessera"},
          {"model", config_.model.name},
          {"epoch", std::to_string(progress_.epoch)},
          {"step", std::to_string(progress_.step)},
          {"class_names", classes}};
}

CheckpointFiles Trainer::save_checkpoint() {
  const auto dir = run_dir_ / "checkpoints";
  const auto files = checkpoint_files(dir, progress_.step);
  // Weights first, then the state that names them: the state's rename commits the pair.
  save_weights(model_, files.weights, weights_metadata());
  const auto bytes = serialize_train_state(
      progress_, state_refs(),
      {{"weights_file", files.weights.filename().string()},
       {"weights_bytes", std::to_string(std::filesystem::file_size(files.weights))}});
  if (crash_during_save_step_ && *crash_during_save_step_ == progress_.step) crash_while_writing(files.state, bytes);
  core::write_file_atomic(files.state, bytes);
  for (const auto& removed : prune_checkpoints(dir, config_.checkpoint.keep_last)) {
    spdlog::debug("checkpoint.keep_last: removed {}", removed.string());
  }
  if (progress_.batches_in_epoch == 0) {
    spdlog::info("checkpoint at step {} (end of epoch {}): {}", progress_.step, progress_.epoch,
                 files.weights.string());
  } else {
    spdlog::info("checkpoint at step {} (epoch {}, batch {}): {}", progress_.step, progress_.epoch + 1,
                 progress_.batches_in_epoch, files.weights.string());
  }
  return files;
}

void Trainer::save_final_weights(TrainSummary& summary) {
  summary.checkpoint = run_dir_ / "checkpoints" / "last.safetensors";
  auto meta = weights_metadata();
  save_weights(model_, summary.checkpoint, meta);
  if (ema_) {
    ema_->copy_to(*ema_model_);
    meta["ema_decay"] = std::to_string(config_.train.ema.decay);
    save_weights(*ema_model_, run_dir_ / "checkpoints" / "last_ema.safetensors", meta);
  }
}

EvalResult Trainer::evaluate_ema() {
  ema_->copy_to(*ema_model_);
  return task_->evaluate(*ema_model_, *loaders_.eval);
}

std::optional<double> Trainer::train_step(double lr, int64_t& images) {
  const int64_t accum = config_.train.accum_steps;
  set_learning_rate(*optimizer_, groups_, lr);
  optimizer_->zero_grad();
  double loss_sum = 0.0;
  bool finite = true;
  int64_t step_images = 0;
  step_metrics_.clear();
  for (int64_t micro = 0; micro < accum; ++micro) {
    const auto wait_started = std::chrono::steady_clock::now();
    auto batch = loaders_.train->next();
    data_wait_seconds_ += seconds_since(wait_started);
    TORCH_CHECK(batch, "Trainer: the loader ended inside an optimizer step");
    ++progress_.batches_in_epoch;
    step_images += batch->labels.size(0);
    // Data parallel: the gradients are all-reduced during the last micro-batch's backward
    // only; the others accumulate locally (DDP's no_sync).
    if (reducer_) reducer_->prepare(/*sync=*/micro + 1 == accum);
    const auto output = task_->loss(*batch, progress_.step * accum + micro);
    const auto& loss = output.loss;
    // The loss and the task's metrics reach the host in one copy (one device sync).
    std::vector<at::Tensor> scalars = {loss.detach().to(at::kDouble)};
    for (const auto& metric : output.metrics) scalars.push_back(metric.second.detach().to(at::kDouble));
    const at::Tensor host = at::stack(scalars).cpu();
    const double* values = host.const_data_ptr<double>();
    const double value = values[0];
    for (size_t i = 0; i < output.metrics.size(); ++i) {
      const double v = values[i + 1] / static_cast<double>(accum);
      if (micro == 0) {
        step_metrics_.emplace_back(output.metrics[i].first, v);
      } else {
        step_metrics_[i].second += v;
      }
    }
    loss_sum += value;
    if (!std::isfinite(value)) finite = false;
    // The step's loss is the mean over its micro-batches, so each contributes 1/accum of
    // its gradient. After a non-finite loss the rest of the step's batches are still
    // drawn (the data order must not depend on it) but not back-propagated, except in
    // a data-parallel run, where each backward takes part in the gradient all-reduce
    // that every rank must join (the ranks then skip the step together).
    if (finite || reducer_) scaler_.scale(accum == 1 ? loss : loss / static_cast<double>(accum)).backward();
  }
  if (reducer_) reducer_->finish();
  double step_loss = loss_sum / static_cast<double>(accum);
  if (group_) {
    // One small all-reduce: the global batch's loss and metrics, whether any rank's loss
    // was not finite, and whether any rank was asked to stop.
    dist::StepReport local{step_loss, {}, step_images, finite, stop_requested()};
    for (const auto& m : step_metrics_) local.metrics.push_back(m.second);
    const auto global = dist::agree_on_step(*group_, local);
    step_loss = global.loss;
    for (size_t i = 0; i < step_metrics_.size(); ++i) step_metrics_[i].second = global.metrics[i];
    step_images = global.images;
    finite = global.finite;
    step_stop_signal_ = global.stop_signal;
  }
  images += step_images;
  if (!finite) {
    optimizer_->zero_grad();
    return std::nullopt;
  }
  if (config_.optim.clip_grad_norm > 0) {
    scaler_.unscale(*optimizer_);  // clip the true gradients, not the scaled ones
    torch::nn::utils::clip_grad_norm_(trained_params_, config_.optim.clip_grad_norm);
  }
  if (scaler_.step(*optimizer_)) {
    task_->after_step();
  } else {
    spdlog::warn("step {}: inf/nan gradients at loss scale {:g}; step skipped", progress_.step + 1,
                 scaler_.current_scale());
  }
  scaler_.update();
  return step_loss;
}

int Trainer::agreed_stop_signal() {
  if (!group_) return stop_requested();
  dist::StepReport local;
  local.stop_signal = stop_requested();
  return dist::agree_on_step(*group_, local).stop_signal;
}

TrainSummary Trainer::fit() {
  const auto& c = config_;
  auto& p = progress_;
  const int64_t accum = c.train.accum_steps;
  const int64_t total_steps = steps_per_epoch_ * c.train.epochs;
  spdlog::info("training {} for {} epochs x {} steps (batch {}{}), {} on {}", c.model.name, c.train.epochs,
               steps_per_epoch_, c.data.batch_size,
               accum > 1 ? " x " + std::to_string(accum) + " accumulated" : std::string(),
               config::to_string(c.precision), device_.str());
  if (c.optim.lr_base_size > 0) {
    spdlog::info("learning rate {:g} per {} images, {} scaled to the batch of {}: {:g}", c.optim.learning_rate,
                 c.optim.lr_base_size, config::to_string(c.optim.lr_base_scale), c.data.batch_size * accum, base_lr_);
  }
  log_param_groups();
  std::optional<MetricsLog> metrics;  // rank 0's
  if (writes()) {
    const auto metrics_path = run_dir_ / "metrics.jsonl";
    if (resumed_) keep_metrics_rows(metrics_path, p.metrics_rows);
    std::optional<std::filesystem::path> tensorboard_dir;
    if (c.logging.tensorboard) tensorboard_dir = run_dir_ / "tensorboard";
    metrics.emplace(metrics_path, tensorboard_dir);
    if (resumed_) metrics->mark_resume(p.step + 1);  // TensorBoard forgets the interrupted run's later points
  }
  auto write_metrics = [&](const nlohmann::json& row) {
    if (metrics) metrics->write(row);
    ++p.metrics_rows;  // on every rank: the counter is part of the train state
  };
  Progress progress(c.logging.progress, c.logging.log_every);
  TrainSummary summary;
  const auto started = std::chrono::steady_clock::now();
  int64_t images_total = 0;
  // The progress at the newest checkpoint: a stop request right after one needs no second.
  std::optional<std::tuple<int64_t, int64_t, int64_t>> saved_at;
  auto checkpoint = [&] {
    if (writes()) summary.resumable = save_checkpoint().state;
    if (group_) group_->barrier("the checkpoint at step " + std::to_string(p.step));  // rank 0 has written it
    saved_at = std::make_tuple(p.step, p.epoch, p.batches_in_epoch);
  };
  // `signal`: the stop signal received (by any rank, in a data-parallel run), or 0.
  auto stop_if_requested = [&](int signal) -> bool {
    if (!signal) return false;
    progress.finish_line();
    if (saved_at != std::make_tuple(p.step, p.epoch, p.batches_in_epoch)) checkpoint();
    summary.stopped_by_signal = signal;
    spdlog::warn("stopped by {} after step {}; the run resumes from {}", signal == SIGINT ? "SIGINT" : "SIGTERM",
                 p.step, summary.resumable.string());
    return true;
  };

  task_->train_mode();
  while (p.epoch < c.train.epochs) {
    const auto epoch_started = std::chrono::steady_clock::now();
    data_wait_seconds_ = 0.0;
    int64_t images = 0;
    loaders_.train->start_epoch(p.epoch, p.batches_in_epoch);
    while (p.batches_in_epoch + accum <= loaders_.train->size()) {
      const double lr = schedule_.at(p.step);
      const auto loss_value = train_step(lr, images);
      if (!loss_value) {
        // Skip the step (the weights stay as they were); only a run of them is fatal.
        progress.finish_line();
        spdlog::warn("step {}: the loss is not finite; step skipped ({} in a row)", p.step + 1,
                     ++p.nonfinite_in_a_row);
        if (p.nonfinite_in_a_row >= c.train.max_nonfinite_steps) {
          throw Error("step " + std::to_string(p.step + 1),
                      std::to_string(p.nonfinite_in_a_row) + " non-finite losses in a row (train.max_nonfinite_steps); " +
                          "lower optim.learning_rate or set optim.clip_grad_norm. Checkpoints written so far are intact");
        }
        continue;
      }
      p.nonfinite_in_a_row = 0;
      ++p.step;
      ++p.steps_in_epoch;
      if (ema_) ema_->update(model_, p.step);

      p.epoch_loss_sum += *loss_value;
      StepStats stats{p.epoch, c.train.epochs, p.steps_in_epoch, steps_per_epoch_, p.step, total_steps,
                      p.epoch_loss_sum / p.steps_in_epoch, lr, images / seconds_since(epoch_started)};
      if (writes()) progress.update(stats);
      if (p.step % c.logging.log_every == 0) {
        nlohmann::json row = {{"step", p.step}, {"epoch", p.epoch + 1}, {"loss", *loss_value}, {"lr", lr},
                              {"images_per_second", stats.images_per_second}};
        for (const auto& [name, value] : step_metrics_) row[name] = value;
        write_metrics(row);
      }
      if (stop_if_requested(group_ ? step_stop_signal_ : stop_requested())) break;
      const bool epoch_ends = p.batches_in_epoch + accum > loaders_.train->size();
      // A step checkpoint that falls on the epoch's end is written after its evaluation.
      if (c.checkpoint.every_steps > 0 && p.step % c.checkpoint.every_steps == 0 && !epoch_ends) {
        progress.finish_line();
        checkpoint();
      }
    }
    progress.finish_line();
    data::log_bad_samples(*loaders_.train, "epoch " + std::to_string(p.epoch + 1) + " (training)");
    images_total += images;
    if (summary.stopped_by_signal) break;
    const double epoch_seconds = seconds_since(epoch_started);
    const double train_loss = p.epoch_loss_sum / std::max<int64_t>(1, p.steps_in_epoch);
    const double images_per_second = epoch_seconds > 0 ? images / epoch_seconds : 0.0;
    // Work outside the trained model (the distillation teacher), reported apart, over this
    // process's images (`images` counts every rank's).
    summary.task_stats = task_->take_epoch_stats(p.steps_in_epoch, images / (group_ ? group_->size() : 1));
    const double data_wait = epoch_seconds > 0 ? data_wait_seconds_ / epoch_seconds : 0.0;
    std::string throughput = fmt::format("{:.0f} img/s, data wait {:.1f}%", images_per_second, 100 * data_wait);
    for (const auto& s : summary.task_stats) throughput += fmt::format(", {} {:.4g}", s.name, s.value);

    const bool last = p.epoch + 1 == c.train.epochs;
    if (last || (p.epoch + 1) % c.train.eval_every == 0) {
      auto result = task_->evaluate(model_, *loaders_.eval);
      task_->train_mode();
      summary.final_eval = result;
      spdlog::info("epoch {}/{}: train loss {:.4f} | eval {} | {}, {}", p.epoch + 1, c.train.epochs, train_loss,
                   result.describe(), throughput, Progress::format_duration(epoch_seconds));
      nlohmann::json row = {{"step", p.step}, {"epoch", p.epoch + 1}, {"train_loss", train_loss},
                            {"eval_loss", result.loss}};
      for (const auto& m : result.metrics) row["eval_" + m.name] = m.value;
      row["epoch_seconds"] = epoch_seconds;
      row["data_wait_fraction"] = data_wait;
      for (const auto& s : summary.task_stats) row[s.name] = s.value;
      if (const auto peak = peak_memory_mib(device_)) {
        row["peak_memory_mib"] = *peak;
        summary.peak_memory_mib = *peak;
      }
      if (ema_) {
        const auto ema_result = evaluate_ema();
        summary.final_ema_eval = ema_result;
        spdlog::info("epoch {}/{}: EMA weights | eval {}", p.epoch + 1, c.train.epochs, ema_result.describe());
        row["ema_eval_loss"] = ema_result.loss;
        for (const auto& m : ema_result.metrics) row["ema_eval_" + m.name] = m.value;
      }
      write_metrics(row);
      if (result.score() > p.best_top1) {
        p.best_top1 = result.score();
        if (c.checkpoint.best) {
          summary.best = run_dir_ / "checkpoints" / "best.safetensors";
          auto meta = weights_metadata();
          meta["eval_" + result.score_name()] = std::to_string(result.score());
          if (writes()) save_weights(model_, summary.best, meta);
          spdlog::info("best eval {} so far ({:.4f}): {}", result.score_name(), result.score(), summary.best.string());
        }
      }
    } else {
      spdlog::info("epoch {}/{}: train loss {:.4f} | {}, {}", p.epoch + 1, c.train.epochs, train_loss, throughput,
                   Progress::format_duration(epoch_seconds));
    }
    // The epoch is done: the state a resume starts the next one from.
    ++p.epoch;
    p.batches_in_epoch = 0;
    p.steps_in_epoch = 0;
    p.epoch_loss_sum = 0.0;
    const bool epoch_due = c.checkpoint.every_epochs > 0 && p.epoch % c.checkpoint.every_epochs == 0;
    const bool step_due = c.checkpoint.every_steps > 0 && p.step % c.checkpoint.every_steps == 0;
    if (epoch_due || step_due || (last && c.checkpoint.save_last)) checkpoint();
    if (p.epoch < c.train.epochs && stop_if_requested(agreed_stop_signal())) break;
  }
  if (summary.final_eval.samples == 0 && !summary.stopped_by_signal) {
    // A resumed run that had nothing left to train still reports its model.
    spdlog::info("the run has finished its {} epochs; raise train.epochs to train on", c.train.epochs);
    summary.final_eval = task_->evaluate(model_, *loaders_.eval);
    if (ema_) summary.final_ema_eval = evaluate_ema();
  }
  summary.epochs = p.epoch;
  summary.steps = p.step;
  summary.best_score = std::max(0.0, p.best_top1);
  summary.train_seconds = seconds_since(started);
  summary.images_per_second = summary.train_seconds > 0 ? images_total / summary.train_seconds : 0.0;
  if (c.checkpoint.save_last && !summary.stopped_by_signal) {
    if (writes()) save_final_weights(summary);
    if (group_) group_->barrier("the final weights");
  }
  return summary;
}

}  // namespace tessera::train
