// tessera eval RUN_DIR: evaluate a run's weights on its recipe's evaluation split.
#include <spdlog/spdlog.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "tessera/config/load.h"
#include "tessera/core/device.h"
#include "tessera/core/error.h"
#include "tessera/data/pipeline.h"
#include "tessera/models/registry.h"
#include "tessera/train/checkpoint.h"
#include "tessera/train/evaluate.h"

namespace tessera::cli {

namespace {

struct EvalArgs {
  std::string run_dir;
  std::string checkpoint;  // default: <run_dir>/checkpoints/last.safetensors
  std::vector<std::string> overrides;
  bool json = false;
};

void run_eval(const EvalArgs& args) {
  const std::filesystem::path run_dir = args.run_dir;
  const auto recipe = run_dir / "config.yaml";
  if (!std::filesystem::exists(recipe)) {
    throw Error(run_dir.string(), "not a run folder (no config.yaml); pass the folder `tessera train` created");
  }
  auto cfg = config::load(recipe.string(), args.overrides);
  const std::filesystem::path weights =
      args.checkpoint.empty() ? run_dir / "checkpoints" / "last.safetensors" : std::filesystem::path(args.checkpoint);
  if (!std::filesystem::exists(weights)) throw Error(weights.string(), "no such checkpoint");

  core::set_cpu_threads(cfg.train.threads);
  const auto device = core::choose_device(cfg.train.device);
  auto loaders = data::build(cfg.data, cfg.train.seed, {cfg.model.img_size, cfg.model.in_chans}, device.is_cuda());
  auto model = models::create(cfg.model);
  train::load_weights(*model, weights);
  model->to(device);
  const auto r = train::evaluate(*model, *loaders.eval, device, cfg.precision);
  if (args.json) {
    std::cout << nlohmann::json{{"checkpoint", weights.string()}, {"samples", r.samples}, {"loss", r.loss},
                                {"top1", r.top1}, {"top5", r.top5}}
                     .dump()
              << std::endl;
  } else {
    std::cout << "checkpoint " << weights.string() << "\n"
              << fmt::format("samples {} | loss {:.4f} | top-1 {:.4f} | top-5 {:.4f}", r.samples, r.loss, r.top1,
                             r.top5)
              << std::endl;
  }
}

}  // namespace

void add_eval_command(CLI::App& app) {
  auto args = std::make_shared<EvalArgs>();
  auto* cmd = app.add_subcommand("eval", "Evaluate a trained run on its evaluation split");
  cmd->add_option("run", args->run_dir, "the run folder, e.g. runs/quickstart")->required();
  cmd->add_option("--checkpoint", args->checkpoint, "weights to evaluate (default: checkpoints/last.safetensors)");
  cmd->add_option("--set", args->overrides, "override a key of the run's config.yaml (e.g. data.root=...)");
  cmd->add_flag("--json", args->json, "print the result as one JSON object");
  cmd->callback([args] { run_eval(*args); });
}

}  // namespace tessera::cli
