// tessera eval RUN_DIR: evaluate a run's weights on its recipe's evaluation split: an
// image classifier's top-1 / top-5 (each head's too for a distilled DeiT), a CLIP's
// image-text retrieval recall@{1,5,10}, or with --zero-shot a CLIP's zero-shot accuracy
// on a labelled dataset chosen with --set data.* (class embeddings from prompt templates).
#include <spdlog/spdlog.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "tessera/config/load.h"
#include "tessera/config/prompt_templates.h"
#include "tessera/core/device.h"
#include "tessera/core/error.h"
#include "tessera/data/pipeline.h"
#include "tessera/models/clip.h"
#include "tessera/models/registry.h"
#include "tessera/serve/zero_shot.h"
#include "tessera/text/bpe_tokenizer.h"
#include "tessera/train/checkpoint.h"
#include "tessera/train/evaluate.h"
#include "tessera/train/retrieval.h"
#include "tessera/train/task_factory.h"
#include "tessera/train/zero_shot.h"

namespace tessera::cli {

namespace {

struct EvalArgs {
  std::string run_dir;
  std::string checkpoint;  // default: <run_dir>/checkpoints/last.safetensors
  std::vector<std::string> overrides;
  bool json = false;
  bool zero_shot = false;
  std::string templates;  // a YAML file of prompt templates (and class names)
};

// A CLIP's zero-shot top-1 / top-5 on the labelled evaluation split of `loaders`.
train::EvalResult zero_shot(models::ClipImpl& clip, data::Pipeline& loaders, const EvalArgs& args,
                            const config::RecipeConfig& cfg, c10::Device device, nlohmann::json& info) {
  config::PromptTemplates prompts{{serve::kDefaultPrompt}, {}};
  if (!args.templates.empty()) prompts = config::load_prompt_templates(args.templates);
  auto classnames = prompts.classnames.empty() ? loaders.class_names : prompts.classnames;
  if (classnames.size() != loaders.class_names.size()) {
    throw Error(args.templates, "names " + std::to_string(classnames.size()) + " classes but the dataset has " +
                                    std::to_string(loaders.class_names.size()));
  }
  if (classnames.empty()) {
    throw Error("data.dataset", "zero-shot accuracy needs a labelled dataset; choose one with --set "
                                "data.dataset=... --set data.root=... (e.g. fashion_mnist with data.channels=3)");
  }
  const text::BpeTokenizer tokenizer;
  const auto classes = serve::class_embeddings(clip, tokenizer, classnames, prompts.templates);
  info["templates"] = prompts.templates.size();
  info["classes"] = classnames;
  return train::evaluate_zero_shot(clip, classes, *loaders.eval, device, cfg.precision);
}

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
  const bool clip_run = train::is_clip(cfg.model);
  if (args.zero_shot && !clip_run) throw Error("--zero-shot", "needs a CLIP run; " + cfg.model.name + " is not one");
  if (!args.templates.empty() && !args.zero_shot) throw Error("--templates", "goes with --zero-shot");

  core::set_cpu_threads(cfg.train.threads);
  const auto device = core::choose_device(cfg.train.device);
  auto loaders = data::build(cfg.data, cfg.train.seed, train::model_input(cfg.model), device.is_cuda());
  nlohmann::json info = {{"checkpoint", weights.string()}};
  train::EvalResult r;
  if (clip_run) {
    auto clip = models::create_clip(cfg.model);
    train::load_weights(*clip, weights);
    clip->to(device);
    if (args.zero_shot) {
      r = zero_shot(*clip, loaders, args, cfg, device, info);
    } else {
      const text::BpeTokenizer tokenizer;
      r = train::evaluate_retrieval(*clip, tokenizer, *loaders.eval, device, cfg.precision);
    }
  } else {
    auto model = models::create(cfg.model);
    train::load_weights(*model, weights);
    model->to(device);
    r = train::evaluate(*model, *loaders.eval, device, cfg.precision);
  }
  if (args.json) {
    info["samples"] = r.samples;
    info["loss"] = r.loss;
    for (const auto& m : r.metrics) info[m.name] = m.value;
    std::cout << info.dump() << std::endl;
  } else {
    std::cout << "checkpoint " << weights.string() << "\n";
    if (args.zero_shot) std::cout << "zero-shot with " << info["templates"].get<size_t>() << " prompt template(s)\n";
    std::cout << "samples " << r.samples << " | " << r.describe() << std::endl;
  }
}

}  // namespace

void add_eval_command(CLI::App& app) {
  auto args = std::make_shared<EvalArgs>();
  auto* cmd = app.add_subcommand("eval", "Evaluate a trained run on its evaluation split (CLIP: retrieval, or zero-shot)");
  cmd->add_option("run", args->run_dir, "the run folder, e.g. runs/quickstart")->required();
  cmd->add_option("--checkpoint", args->checkpoint, "weights to evaluate (default: checkpoints/last.safetensors)");
  cmd->add_option("--set", args->overrides, "override a key of the run's config.yaml (e.g. data.root=...)");
  cmd->add_flag("--json", args->json, "print the result as one JSON object");
  cmd->add_flag("--zero-shot", args->zero_shot,
                "CLIP: zero-shot top-1 / top-5 on a labelled dataset (--set data.dataset=fashion_mnist "
                "--set data.root=... --set data.channels=3), classes as prompts");
  cmd->add_option("--templates", args->templates,
                  "with --zero-shot: a YAML list of prompt templates (default \"a photo of a {}.\"), or "
                  "{templates: [...], classnames: [...]}");
  cmd->callback([args] { run_eval(*args); });
}

}  // namespace tessera::cli
