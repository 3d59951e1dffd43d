// Whether a recipe may continue a run: the model, data, optimizer and schedule must be
// the run's own (its resolved config.yaml); only keys that do not change what is being
// trained may differ.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "tessera/config/recipe.h"

namespace tessera::train {

// The keys a resumed run may change. train.epochs is allowed (to extend a run) but
// lengthens the schedule, so it is warned about; the others only change how the run is
// watched, saved or spread over threads: name, logging.*, checkpoint.*, train.resume,
// train.threads, train.eval_every, data.num_workers, data.prefetch_batches.
bool may_change_on_resume(const std::string& dotted_key);

// Throws tessera::Error naming `run_config` and each key whose value differs between the
// run's saved config and the recipe (outside may_change_on_resume), with both values.
// Warns about the allowed keys that changed.
void check_resume_config(const config::RecipeConfig& saved, const config::RecipeConfig& recipe,
                         const std::filesystem::path& run_config);

}  // namespace tessera::train
