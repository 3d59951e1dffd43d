// tessera convert --model NAME --weights IN --out OUT [--set key=value ...]: check a timm
// image-classifier or open_clip CLIP checkpoint against a registered model and write it
// as a Tessera checkpoint (same names, plus metadata describing the architecture).
#include <ATen/ATen.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "tessera/config/load.h"
#include "tessera/config/names.h"
#include "tessera/core/error.h"
#include "tessera/models/clip.h"
#include "tessera/models/clip_pretrained.h"
#include "tessera/models/deit.h"
#include "tessera/models/pretrained.h"
#include "tessera/models/registry.h"
#include "tessera/models/vit.h"
#include "tessera/train/checkpoint.h"
#include "tessera/train/task_factory.h"

namespace tessera::cli {

namespace {

namespace fs = std::filesystem;

struct ConvertArgs {
  std::string model;
  std::string weights;
  std::string out;
  std::vector<std::string> overrides;  // model keys: img_size=96 or model.img_size=96
};

// The model section a recipe with these overrides would have, checked by the recipe
// loader (unknown keys and bad values get its messages and suggestions).
config::ModelConfig model_config(const ConvertArgs& args) {
  std::vector<std::string> overrides = {"model.name=" + args.model};
  for (const auto& o : args.overrides) overrides.push_back(o.rfind("model.", 0) == 0 ? o : "model." + o);
  return config::load_string("{}", "tessera convert", overrides).model;
}

// The numbers the model was built with, for the checkpoint's metadata.
nlohmann::json architecture(const models::ImageClassifierImpl& model, const std::string& name) {
  nlohmann::json arch = {{"name", name},
                         {"family", models::find_model(name).family},
                         {"img_size", model.img_size()},
                         {"in_chans", model.in_chans()},
                         {"num_classes", model.num_classes()}};
  if (const auto* vit = dynamic_cast<const models::VisionTransformerImpl*>(&model)) {
    const auto& o = vit->options;
    arch.update({{"patch_size", o.patch_size()},
                 {"embed_dim", o.embed_dim()},
                 {"depth", o.depth()},
                 {"num_heads", o.num_heads()},
                 {"mlp_ratio", o.mlp_ratio()},
                 {"qkv_bias", o.qkv_bias()},
                 {"class_token", o.class_token()},
                 {"global_pool", config::to_string(o.global_pool())},
                 {"distilled", dynamic_cast<const models::VisionTransformerDistilledImpl*>(&model) != nullptr}});
  }
  return arch;
}

// The numbers a CLIP was built with (open_clip's embed_dim, vision_cfg, text_cfg).
nlohmann::json clip_architecture(const models::ClipOptions& o, const std::string& name) {
  const auto& v = o.vision();
  const auto& t = o.text();
  return {{"name", name},
          {"family", "clip"},
          {"embed_dim", o.embed_dim()},
          {"activation", o.activation() == models::ClipActivation::QuickGELU ? "quick_gelu" : "gelu"},
          {"vision",
           {{"image_size", v.image_size()}, {"patch_size", v.patch_size()}, {"in_chans", v.in_chans()},
            {"width", v.width()}, {"layers", v.layers()}, {"heads", v.heads()}, {"mlp_ratio", v.mlp_ratio()}}},
          {"text",
           {{"context_length", t.context_length()}, {"vocab_size", t.vocab_size()}, {"width", t.width()},
            {"layers", t.layers()}, {"heads", t.heads()}, {"mlp_ratio", t.mlp_ratio()}}}};
}

// Writes the model's weights to `out` only if nothing is there: the file is written
// beside it, then hard-linked into place, which fails rather than replace a file that
// appeared in the meantime.
void save_new_file(torch::nn::Module& model, const fs::path& out,
                   const std::map<std::string, std::string>& metadata) {
  const fs::path temporary = out.string() + ".converting." + std::to_string(::getpid());
  train::save_weights(model, temporary, metadata);
  std::error_code error;
  fs::create_hard_link(temporary, out, error);
  if (error && !fs::exists(out) && error != std::errc::file_exists) {
    // A filesystem without hard links: a rename, after one more look.
    error.clear();
    fs::rename(temporary, out, error);
  }
  fs::remove(temporary);
  if (error) {
    throw Error(out.string(), fs::exists(out) ? "already exists; convert never overwrites a file"
                                              : "cannot be written: " + error.message());
  }
}

int64_t parameter_count(torch::nn::Module& model) {
  int64_t params = 0;
  for (const auto& p : model.parameters()) params += p.numel();
  return params;
}

// An open_clip state dict into a registered CLIP (ViT-B-32, ..., or "clip" with every
// number from --set model.vision.* / model.text.*).
void convert_clip(const ConvertArgs& args, const config::ModelConfig& model_cfg) {
  auto model = models::create_clip(model_cfg);
  models::load_clip_pretrained(*model, args.weights);
  const std::map<std::string, std::string> metadata = {
      {"format", "tessera"},
      {"model", model_cfg.name},
      {"architecture", clip_architecture(model->options, model_cfg.name).dump()},
      {"converted_from", fs::path(args.weights).filename().string()},
  };
  save_new_file(*model, args.out, metadata);
  std::cout << "wrote " << args.out << ": " << model_cfg.name << " (" << parameter_count(*model)
            << " parameters, from the open_clip weights " << args.weights << ")" << std::endl;
}

void run_convert(const ConvertArgs& args) {
  const fs::path out = args.out;
  if (fs::exists(out)) {
    throw Error(out.string(), "already exists; convert never overwrites a file (remove it or choose another --out)");
  }
  if (!fs::exists(args.weights)) throw Error(args.weights, "no such file");
  const auto model_cfg = model_config(args);
  if (model_cfg.pretrained) {
    throw Error("model.pretrained", "is what convert produces; pass the input with --weights");
  }

  // A fixed seed: a re-initialised head is the same on every run.
  at::manual_seed(0);
  if (train::is_clip(model_cfg)) {
    convert_clip(args, model_cfg);
    return;
  }
  auto model = models::create(model_cfg);
  const auto loaded = models::load_pretrained(*model, args.weights);

  std::map<std::string, std::string> metadata = {
      {"format", "tessera"},
      {"model", model_cfg.name},
      {"architecture", architecture(*model, model_cfg.name).dump()},
      {"converted_from", fs::path(args.weights).filename().string()},
  };
  if (!loaded.new_heads.empty()) {
    std::string heads;
    for (const auto& h : loaded.new_heads) heads += (heads.empty() ? "" : ",") + h;
    metadata["new_heads"] = heads;  // freshly initialised, not from the input
  }
  save_new_file(*model, out, metadata);
  std::cout << "wrote " << out.string() << ": " << model_cfg.name << " (" << parameter_count(*model) << " parameters, "
            << loaded.loaded << " tensors from " << args.weights << ")" << std::endl;
}

}  // namespace

void add_convert_command(CLI::App& app) {
  auto args = std::make_shared<ConvertArgs>();
  auto* cmd = app.add_subcommand(
      "convert",
      "Check a timm or open_clip checkpoint (safetensors) against a registered model and write a Tessera checkpoint");
  cmd->add_option("--model", args->model, "registered model name, e.g. deit_small_patch16_224 or ViT-B-32")->required();
  cmd->add_option("--weights", args->weights, "the timm / open_clip state dict, saved with safetensors")->required();
  cmd->add_option("--out", args->out, "the Tessera checkpoint to write (must not exist)")->required();
  cmd->add_option("--set", args->overrides,
                  "override a model key: --set num_classes=10 --set img_size=96, "
                  "--set vision.image_size=96 for CLIP (repeatable)");
  cmd->callback([args] { run_convert(*args); });
}

}  // namespace tessera::cli
