// tessera export RUN_OR_CHECKPOINT --out DIR: write a serving bundle (model.safetensors
// under timm / open_clip names + tessera.json) from a trained run or one checkpoint.
#include <iostream>

#include "cli/commands.h"
#include "cli/predictor_flags.h"
#include "tessera/serve/export_bundle.h"
#include "tessera/serve/labels.h"

namespace tessera::cli {

namespace {

struct ExportArgs {
  serve::ExportOptions options;
  std::string source;
  std::string out;
  std::string dtype;
  std::string labels;
  std::string labels_file;
};

void run_export(ExportArgs& args) {
  auto& o = args.options;
  o.source = args.source;
  o.out = args.out;
  if (!args.dtype.empty()) o.dtype = parse_choice<config::Precision>("--dtype", args.dtype);
  o.labels = serve::read_labels(args.labels, args.labels_file);
  const auto info = serve::export_bundle(o);
  std::cout << "wrote bundle " << args.out << ": " << info.model.name << " (" << info.family << "), "
            << info.class_names.size() << " classes, " << serve::dtype_name(info.weights_dtype) << " weights"
            << (info.ema ? " (EMA)" : "") << ", " << info.weights_bytes << " bytes, sha256 " << info.weights_sha256
            << "\n  from " << info.source.checkpoint
            << (info.source.step >= 0 ? " (step " + std::to_string(info.source.step) + ")" : std::string()) << "\n"
            << "  preprocessing " << info.preprocessing.channels << "x" << info.preprocessing.height << "x"
            << info.preprocessing.width << ", crop_pct " << info.preprocessing.crop_pct << ", "
            << serve::interpolation_name(info.preprocessing.interpolation) << std::endl;
}

}  // namespace

void add_export_command(CLI::App& app) {
  auto args = std::make_shared<ExportArgs>();
  auto* cmd = app.add_subcommand("export", "Write a serving bundle (weights + tessera.json) from a run or checkpoint");
  cmd->add_option("source", args->source,
                  "a run folder (e.g. runs/quickstart), a checkpoint in one, or a weights file with --recipe/--set")
      ->required();
  cmd->add_option("--out", args->out, "the bundle folder to write")->required();
  cmd->add_flag("--ema", args->options.ema, "export the run's EMA weights");
  cmd->add_option("--dtype", args->dtype,
                  "floating weights as fp32 (default), fp16 or bf16; also the serving precision");
  cmd->add_flag("--force", args->options.force, "replace an existing bundle at --out");
  cmd->add_option("--recipe", args->options.recipe, "the recipe of a weights file outside a run folder");
  cmd->add_option("--set", args->options.overrides,
                  "override a key of the run's config.yaml or the recipe (e.g. data.crop_pct=0.875; repeatable)")
      ->allow_extra_args(false);
  cmd->add_option("--labels", args->labels, "class names, comma-separated (CLIP: default zero-shot labels)");
  cmd->add_option("--labels-file", args->labels_file, "class names, one per line");
  cmd->callback([args] { run_export(*args); });
}

}  // namespace tessera::cli
