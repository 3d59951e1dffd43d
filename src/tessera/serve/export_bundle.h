// `tessera export`: a trained run (or one checkpoint) becomes a serving bundle
// (bundle.h) holding the weights, the model section, the class names and the run's
// evaluation preprocessing.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "tessera/config/recipe.h"
#include "tessera/serve/bundle.h"

namespace tessera::serve {

struct ExportOptions {
  // A run folder (its checkpoints/last.safetensors, or the newest complete step
  // checkpoint), a checkpoint inside a run's checkpoints/ folder, or any weights file
  // with reference names together with `recipe` and/or `overrides` saying what model it is.
  std::filesystem::path source;
  std::string recipe;                      // a recipe for a weights file outside a run folder
  std::vector<std::string> overrides;      // --set key=value on the run's config.yaml or the recipe
  std::filesystem::path out;               // the bundle folder to write
  bool ema = false;                        // the run's EMA weights (last_ema.safetensors, or a step's train state)
  std::optional<config::Precision> dtype;  // floating weights in the file (default fp32)
  bool force = false;                      // replace an existing bundle at `out`
  // Class names in output order when the checkpoint has none; for CLIP, the default
  // zero-shot labels stored in the bundle.
  std::vector<std::string> labels;
};

// Resolves the source, loads the weights strictly into the recipe's model, and writes
// the bundle (write_bundle). Every user mistake (no such run, no EMA in it, a recipe
// that does not fit the weights, an existing --out) is a tessera::Error.
BundleInfo export_bundle(const ExportOptions& options);

}  // namespace tessera::serve
