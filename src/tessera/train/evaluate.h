// Evaluation of an image classifier over a whole loader: loss, top-1, top-5.
#pragma once

#include <c10/core/Device.h>

#include "tessera/config/recipe.h"
#include "tessera/data/loader.h"
#include "tessera/models/image_classifier.h"

namespace tessera::train {

struct EvalResult {
  double loss = 0.0;  // mean cross-entropy (no label smoothing)
  double top1 = 0.0;  // fraction in [0, 1]
  double top5 = 0.0;
  int64_t samples = 0;
};

// Runs one pass over `loader` in eval mode without gradients; restores the model's mode.
EvalResult evaluate(models::ImageClassifierImpl& model, data::Loader& loader, c10::Device device,
                    config::Precision precision);

}  // namespace tessera::train
