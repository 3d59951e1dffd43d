// tessera train RECIPE [--set key=value ...] [--resume RUN_DIR]: train a model from a recipe,
// or continue a run from its newest complete checkpoint. Started by torchrun or `tessera
// launch` (WORLD_SIZE and the others set), the process is one rank of a data-parallel run.
#include <ATen/ATen.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdlib>
#include <optional>

#include "cli/commands.h"
#include "tessera/config/load.h"
#include "tessera/config/names.h"
#include "tessera/core/atomic_file.h"
#include "tessera/core/device.h"
#include "tessera/core/error.h"
#include "tessera/core/logging.h"
#include "tessera/core/precision.h"
#include "tessera/data/pipeline.h"
#include "tessera/dist/dist_env.h"
#include "tessera/dist/process_group.h"
#include "tessera/train/progress.h"
#include "tessera/train/checkpoint_store.h"
#include "tessera/train/resume_config.h"
#include "tessera/train/run_dir.h"
#include "tessera/train/stop_signal.h"
#include "tessera/train/task_factory.h"
#include "tessera/train/trainer.h"

namespace tessera::cli {

namespace {

struct TrainArgs {
  std::string recipe;
  std::vector<std::string> overrides;
  std::string resume;  // --resume: a run folder to continue
};

// Where a resumed run continues: its folder and its newest complete checkpoint.
struct ResumePoint {
  std::filesystem::path run_dir;
  train::LoadedCheckpoint checkpoint;
};

// --resume DIR wins over train.resume. "never": a fresh run. "auto": runs/<name> when it
// holds a complete checkpoint, else a fresh run. A folder: that run, which must hold one.
std::optional<ResumePoint> find_resume_point(const config::RecipeConfig& cfg, const std::string& flag) {
  const std::string what = flag.empty() ? cfg.train.resume : flag;
  const std::string key = flag.empty() ? "train.resume" : "--resume";
  if (what == "never") return std::nullopt;
  const bool automatic = what == "auto";
  const std::filesystem::path dir = automatic ? std::filesystem::path(cfg.logging.output_dir) / cfg.name
                                                     : std::filesystem::path(what);
  if (!std::filesystem::is_directory(dir)) {
    if (automatic) return std::nullopt;
    throw Error(key, "there is no run folder " + dir.string() + " to resume");
  }
  auto checkpoint = train::newest_complete_checkpoint(dir / "checkpoints");
  if (!checkpoint) {
    if (automatic) {
      spdlog::info("train.resume: auto: {} has no complete checkpoint; starting a fresh run", dir.string());
      return std::nullopt;
    }
    throw Error(dir.string(), "no complete checkpoint to resume from (checkpoints/step-*.state.safetensors); "
                              "start a fresh run instead (leave out " + key + ")");
  }
  return ResumePoint{dir, std::move(*checkpoint)};
}

// Test hook for crash safety (see Trainer::crash_during_save_at).
std::optional<int64_t> crash_during_save_step() {
  const char* value = std::getenv("TESSERA_TEST_CRASH_DURING_SAVE");
  if (!value || !*value) return std::nullopt;
  return std::stoll(value);
}

void log_summary(const train::TrainSummary& s, const config::RecipeConfig& cfg, double wall) {
  const auto& eval = s.final_eval;
  const auto top1 = eval.metric("top1");
  if (top1) {
    spdlog::info("final test accuracy (top-1): {:.4f} | top-5 {:.4f} | best top-1 {:.4f}", *top1,
                 eval.metric("top5").value_or(0.0), s.best_score);
  } else {
    spdlog::info("final eval: {} | best {} {:.4f}", eval.describe(), eval.score_name(), s.best_score);
  }
  spdlog::info("wall time: {} (training and evaluation {}) for {} steps", train::Progress::format_duration(wall),
               train::Progress::format_duration(s.train_seconds), s.steps);
  spdlog::info("summary ---------------------------------------------");
  spdlog::info("  epochs              {} / {}", s.epochs, cfg.train.epochs);
  spdlog::info("  optimizer steps     {}", s.steps);
  for (const auto& m : eval.metrics) spdlog::info("  final {:<13} {:.4f}", m.name, m.value);
  spdlog::info("  best {:<14} {:.4f}", eval.score_name(), s.best_score);
  if (s.final_ema_eval) spdlog::info("  EMA {:<15} {:.4f}", s.final_ema_eval->score_name(), s.final_ema_eval->score());
  spdlog::info("  wall time           {}", train::Progress::format_duration(wall));
  spdlog::info("  throughput          {:.0f} img/s", s.images_per_second);
  for (const auto& m : s.task_stats) spdlog::info("  {:<19} {:.4g}", m.name, m.value);
  if (s.peak_memory_mib) spdlog::info("  peak GPU memory     {:.0f} MiB", *s.peak_memory_mib);
  if (!s.checkpoint.empty()) spdlog::info("  weights             {}", s.checkpoint.string());
  if (!s.best.empty()) spdlog::info("  best weights        {}", s.best.string());
  if (!s.resumable.empty()) spdlog::info("  resumable state     {}", s.resumable.string());
}

// A data-parallel run's process group, joined once every rank has reached this point.
std::shared_ptr<dist::ProcessGroup> join_job(const dist::DistEnv& env, const config::RecipeConfig& cfg,
                                             c10::Device device) {
  std::optional<dist::Backend> backend;
  if (cfg.dist.backend == config::DistBackend::Gloo) backend = dist::Backend::Gloo;
  if (cfg.dist.backend == config::DistBackend::Nccl) backend = dist::Backend::Nccl;
  dist::ProcessGroupOptions options;
  options.backend = dist::resolve_backend(backend, device);
  options.timeout = std::chrono::milliseconds(static_cast<int64_t>(cfg.dist.timeout_s * 1000));
  options.rendezvous_timeout = std::chrono::milliseconds(static_cast<int64_t>(cfg.dist.rendezvous_timeout_s * 1000));
  auto group = dist::ProcessGroup::connect(env, options);
  spdlog::info("rank {} of {} joined the {} group at {}:{} (dist.timeout_s {:g})", env.rank, env.world_size,
               dist::backend_name(options.backend), env.master_addr, env.master_port, cfg.dist.timeout_s);
  return group;
}

// Returns the process exit code: 0, or 128 + the signal that stopped the run.
int run_train(const TrainArgs& args) {
  const auto started = std::chrono::steady_clock::now();
  const auto job = dist::read_dist_env();
  if (job && job->rank > 0) {
    // Rank 0 speaks for the run; the others say only what goes wrong, and who they are.
    spdlog::set_level(spdlog::level::warn);
    spdlog::set_pattern(fmt::format("[%H:%M:%S] rank {}: %v", job->rank));
  }
  auto cfg = config::load(args.recipe, args.overrides);
  // Every rank looks before rank 0 can create the run folder (that waits for the group).
  const auto resume = find_resume_point(cfg, args.resume);

  const int threads = core::set_cpu_threads(cfg.train.threads);
  auto device = core::choose_device(cfg.train.device);
  if (job && device.is_cuda()) device = c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(job->local_rank));
  core::check_precision(cfg.precision, device);
  at::manual_seed(cfg.train.seed);

  std::shared_ptr<dist::ProcessGroup> group;
  data::Shard shard;
  if (job) {
    group = join_job(*job, cfg, device);
    shard = {job->rank, job->world_size, cfg.dist.drop_last_shard};
  }
  const bool writes = !job || job->rank == 0;

  auto loaders = data::build(cfg.data, cfg.train.seed, train::model_input(cfg.model), device.is_cuda(), shard);
  cfg.model = train::fill_from_data(cfg.model, loaders);
  // A resumed run gets its weights from its checkpoint.
  auto task = train::build_task(cfg, loaders, device, /*load_pretrained=*/!resume);

  // Ranks other than 0 write nothing; resuming, they read the run's checkpoint too (the
  // run folder must be on a file system they share).
  std::filesystem::path run_dir;
  if (resume) run_dir = resume->run_dir;
  if (writes && resume) {
    const auto saved_path = run_dir / "config.yaml";
    if (!std::filesystem::exists(saved_path)) throw Error(saved_path.string(), "missing: this is not a run folder");
    train::check_resume_config(config::load(saved_path.string()), cfg, saved_path);
    core::add_log_file(run_dir / "log.txt");
    for (const auto& removed : train::remove_incomplete_checkpoints(run_dir / "checkpoints")) {
      spdlog::warn("removed {}: left incomplete by an interrupted save", removed.string());
    }
    spdlog::info("resuming the run in {}", run_dir.string());
  } else if (writes) {
    // Only now, with a recipe that loads, data that reads and a model that builds, does
    // the run get a folder: a failed start leaves nothing behind.
    run_dir = train::create_run_dir(cfg.logging.output_dir, cfg.name);
    core::add_log_file(run_dir / "log.txt");
    spdlog::info("run folder {} (resolved recipe in config.yaml)", run_dir.string());
  }
  if (writes) core::write_file_atomic(run_dir / "config.yaml", config::to_yaml(cfg));
  const std::string labels = loaders.train->dataset().has_captions()
                                 ? std::string("with captions")
                                 : std::to_string(loaders.class_names.size()) + " classes";
  // A rank's loaders read its shard of each epoch.
  const std::string per_rank = job ? fmt::format(" in rank 0's shard (of {} / {})", loaders.train->dataset().size(),
                                                 loaders.eval->dataset().size())
                                   : "";
  spdlog::info("data: {} train / {} eval images{} of {}x{}x{}, {}; {} CPU threads", loaders.train->num_samples(),
               loaders.eval->num_samples(), per_rank, loaders.channels, loaders.height, loaders.width, labels,
               threads);
  int64_t params = 0;
  for (const auto& p : task->model().parameters()) params += p.numel();
  spdlog::info("model: {} ({:.2f}M parameters)", cfg.model.name, params / 1e6);

  train::Trainer trainer(cfg, std::move(task), loaders, device, run_dir, group);
  if (const auto step = crash_during_save_step()) trainer.crash_during_save_at(*step);
  if (resume) trainer.resume_from(resume->checkpoint);  // last: it restores the random generators
  // The replicas hold rank 0's weights now (the trainer broadcast them, or each loaded the
  // checkpoint); their random streams (dropout, drop path) differ, as timm seeds seed + rank.
  if (job && job->rank > 0) at::manual_seed(cfg.train.seed + static_cast<uint64_t>(job->rank));
  train::install_stop_handlers();
  const auto summary = trainer.fit();

  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (summary.stopped_by_signal) {
    spdlog::info("to continue: tessera train {} --resume {}", args.recipe, run_dir.string());
    return 128 + summary.stopped_by_signal;
  }
  log_summary(summary, cfg, wall);
  return 0;
}

}  // namespace

void add_train_command(CLI::App& app) {
  auto args = std::make_shared<TrainArgs>();
  auto* cmd = app.add_subcommand("train", "Train a model from a YAML recipe");
  cmd->add_option("recipe", args->recipe, "the recipe file, e.g. recipes/quickstart.yaml")->required();
  cmd->add_option("--set", args->overrides, "override a recipe key: --set optim.learning_rate=3e-4 (repeatable)");
  cmd->add_option("--resume", args->resume,
                  "continue the run in this folder (e.g. runs/quickstart) from its newest complete checkpoint");
  cmd->callback([args] {
    // Ctrl-C / SIGTERM stop the run after a checkpoint; the exit code says which (130 / 143).
    const int code = run_train(*args);
    if (code != 0) {
      spdlog::shutdown();
      std::exit(code);
    }
  });
}

}  // namespace tessera::cli
