// tessera train RECIPE [--set key=value ...]: train a model from a recipe.
#include <ATen/ATen.h>
#include <spdlog/spdlog.h>

#include <chrono>

#include "cli/commands.h"
#include "tessera/config/load.h"
#include "tessera/config/names.h"
#include "tessera/core/atomic_file.h"
#include "tessera/core/device.h"
#include "tessera/core/error.h"
#include "tessera/core/logging.h"
#include "tessera/core/precision.h"
#include "tessera/data/pipeline.h"
#include "tessera/models/pretrained.h"
#include "tessera/models/registry.h"
#include "tessera/train/progress.h"
#include "tessera/train/run_dir.h"
#include "tessera/train/trainer.h"

namespace tessera::cli {

namespace {

struct TrainArgs {
  std::string recipe;
  std::vector<std::string> overrides;
};

// The model numbers the data decides (classes, channels) are taken from the data when
// the recipe leaves them out.
config::ModelConfig fill_from_data(config::ModelConfig model, const data::Pipeline& data) {
  if (!model.num_classes) model.num_classes = data.num_classes;
  if (!model.in_chans) model.in_chans = data.channels;
  return model;
}

// A model that cannot take the data's images or predict its classes is the recipe's
// mistake: say which key to change.
void check_model_fits_data(const models::ImageClassifierImpl& model, const data::Pipeline& data) {
  if (model.img_size() != data.height || model.img_size() != data.width) {
    throw Error("model.img_size", "the model takes " + std::to_string(model.img_size()) + "x" +
                                      std::to_string(model.img_size()) + " images but the data's are " +
                                      std::to_string(data.height) + "x" + std::to_string(data.width) +
                                      "; set model.img_size: " + std::to_string(data.height));
  }
  if (model.in_chans() != data.channels) {
    throw Error("model.in_chans", "the model takes " + std::to_string(model.in_chans()) +
                                      " channels but the data has " + std::to_string(data.channels));
  }
  if (model.num_classes() != data.num_classes) {
    throw Error("model.num_classes", "the model has " + std::to_string(model.num_classes()) +
                                         " outputs but the data has " + std::to_string(data.num_classes) +
                                         " classes");
  }
}

void run_train(const TrainArgs& args) {
  const auto started = std::chrono::steady_clock::now();
  auto cfg = config::load(args.recipe, args.overrides);

  const int threads = core::set_cpu_threads(cfg.train.threads);
  const auto device = core::choose_device(cfg.train.device);
  core::check_precision(cfg.precision, device);
  at::manual_seed(cfg.train.seed);

  auto loaders = data::build(cfg.data, cfg.train.seed);
  cfg.model = fill_from_data(cfg.model, loaders);
  auto model = models::create(cfg.model);
  check_model_fits_data(*model, loaders);
  if (cfg.model.pretrained) models::load_pretrained(*model, *cfg.model.pretrained);

  // Only now, with a recipe that loads, data that reads and a model that builds, does
  // the run get a folder: a failed start leaves nothing behind.
  const auto run_dir = train::create_run_dir(cfg.logging.output_dir, cfg.name);
  core::add_log_file(run_dir / "log.txt");
  core::write_file_atomic(run_dir / "config.yaml", config::to_yaml(cfg));
  spdlog::info("run folder {} (resolved recipe in config.yaml)", run_dir.string());
  spdlog::info("data: {} train / {} eval images of {}x{}x{}, {} classes; {} CPU threads", loaders.train->num_samples(),
               loaders.eval->num_samples(), loaders.channels, loaders.height, loaders.width, loaders.class_names.size(),
               threads);
  int64_t params = 0;
  for (const auto& p : model->parameters()) params += p.numel();
  spdlog::info("model: {} ({:.2f}M parameters)", cfg.model.name, params / 1e6);

  train::Trainer trainer(cfg, model, loaders, device, run_dir);
  const auto summary = trainer.fit();

  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  spdlog::info("final test accuracy (top-1): {:.4f} | top-5 {:.4f} | best top-1 {:.4f}", summary.final_eval.top1,
               summary.final_eval.top5, summary.best_top1);
  spdlog::info("wall time: {} (training and evaluation {}) for {} steps", train::Progress::format_duration(wall),
               train::Progress::format_duration(summary.train_seconds), summary.steps);
  if (!summary.checkpoint.empty()) spdlog::info("weights: {}", summary.checkpoint.string());
}

}  // namespace

void add_train_command(CLI::App& app) {
  auto args = std::make_shared<TrainArgs>();
  auto* cmd = app.add_subcommand("train", "Train a model from a YAML recipe");
  cmd->add_option("recipe", args->recipe, "the recipe file, e.g. recipes/quickstart.yaml")->required();
  cmd->add_option("--set", args->overrides, "override a recipe key: --set optim.learning_rate=3e-4 (repeatable)");
  cmd->callback([args] { run_train(*args); });
}

}  // namespace tessera::cli
