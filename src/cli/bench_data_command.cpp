// tessera bench-data RECIPE [--set key=value ...] [--split train|eval] [--batches N]
// [--warmup W] [--json]: images per second of a recipe's data pipeline alone (read,
// decode, augment, collate), no model, for comparing against torchvision's DataLoader
// on the same files (scripts/bench_loader.sh).
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "tessera/config/load.h"
#include "tessera/core/device.h"
#include "tessera/core/error.h"
#include "tessera/data/pipeline.h"
#include "tessera/train/task_factory.h"

namespace tessera::cli {

namespace {

struct BenchDataArgs {
  std::string recipe;
  std::vector<std::string> overrides;
  std::string split = "train";
  int64_t batches = 50;
  int64_t warmup = 5;
  bool json = false;
};

void run_bench_data(const BenchDataArgs& args) {
  if (args.split != "train" && args.split != "eval") throw Error("--split", "must be train or eval, got " + args.split);
  if (args.batches < 1 || args.warmup < 0) throw Error("--batches/--warmup", "need batches >= 1 and warmup >= 0");
  const auto cfg = config::load(args.recipe, args.overrides);
  core::set_cpu_threads(cfg.train.threads);
  auto pipeline = data::build(cfg.data, cfg.train.seed, train::model_input(cfg.model));
  data::Loader& loader = args.split == "train" ? *pipeline.train : *pipeline.eval;

  // Epochs follow one another as in training; the clock runs over `batches` batches
  // after `warmup` (threads started, files paged in).
  int64_t epoch = 0, seen = 0, images = 0;
  loader.start_epoch(epoch);
  auto next = [&]() {
    auto batch = loader.next();
    if (!batch) {
      loader.start_epoch(++epoch);
      batch = loader.next();
    }
    if (!batch) throw Error(args.recipe, "the " + args.split + " loader yields no batch");
    return *batch;
  };
  for (int64_t i = 0; i < args.warmup; ++i) next();
  const auto start = std::chrono::steady_clock::now();
  for (; seen < args.batches; ++seen) images += next().images.size(0);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const auto skipped = loader.take_bad_samples();

  const double per_second = images / seconds;
  if (args.json) {
    std::cout << nlohmann::json{{"framework", "tessera"},
                                {"split", args.split},
                                {"images", images},
                                {"seconds", seconds},
                                {"images_per_second", per_second},
                                {"workers", cfg.data.num_workers},
                                {"batch_size", loader.options().batch_size},
                                {"output", {pipeline.channels, pipeline.height, pipeline.width}},
                                {"skipped", skipped.count}}
                     .dump()
              << std::endl;
  } else {
    std::printf("%s pipeline, %lld workers, batch %lld, %lldx%lldx%lld: %.0f images/s (%lld images in %.2f s)\n",
                args.split.c_str(), static_cast<long long>(cfg.data.num_workers),
                static_cast<long long>(loader.options().batch_size), static_cast<long long>(pipeline.channels),
                static_cast<long long>(pipeline.height), static_cast<long long>(pipeline.width), per_second,
                static_cast<long long>(images), seconds);
  }
}

}  // namespace

void add_bench_data_command(CLI::App& app) {
  auto args = std::make_shared<BenchDataArgs>();
  auto* cmd = app.add_subcommand("bench-data", "Images per second of a recipe's data pipeline (no model)");
  cmd->add_option("recipe", args->recipe, "the recipe whose data section to run")->required();
  cmd->add_option("--set", args->overrides, "override a recipe key (e.g. data.num_workers=4)");
  cmd->add_option("--split", args->split, "train (augmented) or eval");
  cmd->add_option("--batches", args->batches, "batches timed");
  cmd->add_option("--warmup", args->warmup, "batches before the clock starts");
  cmd->add_flag("--json", args->json, "print the result as one JSON object");
  cmd->callback([args] { run_bench_data(*args); });
}

}  // namespace tessera::cli
