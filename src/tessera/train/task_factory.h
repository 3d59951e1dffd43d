// From a recipe to its training task: the model family and the distill section choose
// classification, DeiT distillation or CLIP's contrastive learning, and the model (and
// teacher, tokenizer) are built, checked against the data and loaded.
#pragma once

#include <c10/core/Device.h>

#include <memory>

#include "tessera/config/recipe.h"
#include "tessera/data/pipeline.h"
#include "tessera/train/task.h"

namespace tessera::train {

// Whether the recipe's model is a CLIP (contrastive training; zero-shot evaluation).
bool is_clip(const config::ModelConfig& model);

// The image size and channels the recipe's model takes, for data::build: model.img_size /
// model.in_chans, or a CLIP's vision.image_size and channels (the preset's when unset).
data::ModelInput model_input(const config::ModelConfig& model);

// The model numbers the data decides, taken from it where the recipe leaves them out:
// num_classes (not for CLIP) and in_chans.
config::ModelConfig fill_from_data(config::ModelConfig model, const data::Pipeline& data);

// The recipe's task with a freshly built model on `device`; model.pretrained is loaded
// when `load_pretrained` (not when a checkpoint will replace the weights). A model that
// cannot take the data (image size, channels, classes; a CLIP without captions), a
// distillation student without a distillation head or a teacher that does not fit is a
// tessera::Error naming the key to change.
std::unique_ptr<Task> build_task(const config::RecipeConfig& config, const data::Pipeline& data, c10::Device device,
                                 bool load_pretrained);

}  // namespace tessera::train
