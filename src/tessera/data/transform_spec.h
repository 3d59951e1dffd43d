// What the per-sample image pipeline does, as plain settings: the recipe's data
// section turns into one TransformSpec for training and one for evaluation, and
// SampleTransform (sample_transform.h) runs it. Semantics are torchvision's / timm's.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tessera/config/recipe.h"

namespace tessera::data {

// The recipe's enums, shared so a recipe setting goes into a spec as it is.
using Interpolation = config::Interpolation;

// torchvision's RandomResizedCrop(size, scale, ratio): a box of a random share of the
// area and a log-uniform aspect ratio (10 tries, then a center crop), resized to the output.
struct RandomResizedCropSpec {
  std::array<double, 2> scale{0.08, 1.0};
  std::array<double, 2> ratio{3.0 / 4.0, 4.0 / 3.0};
};

// torchvision's ColorJitter: factors drawn uniformly from [max(0, 1 - x), 1 + x]
// (hue: [-x, x]), applied in a random order; 0 = that adjustment is off.
struct ColorJitterSpec {
  double brightness = 0.0;
  double contrast = 0.0;
  double saturation = 0.0;
  double hue = 0.0;
};

using ErasingMode = config::ErasingMode;  // timm's 'const' (zeros), 'rand' (per channel), 'pixel' (per pixel)

// timm's RandomErasing, on the normalized image: with probability `prob`, between
// min_count and max_count boxes of area share [min_area, max_area] and log-uniform
// aspect in [min_aspect, 1 / min_aspect] filled as `mode` says.
struct RandomErasingSpec {
  double prob = 0.0;  // 0 = off
  ErasingMode mode = ErasingMode::Pixel;
  int64_t min_count = 1;
  int64_t max_count = 1;
  double min_area = 0.02;
  double max_area = 1.0 / 3.0;
  double min_aspect = 0.3;
};

struct TransformSpec {
  // The output: channels (a 1-channel source is replicated when this is 3), height, width.
  int64_t channels = 3;
  int64_t height = 224;
  int64_t width = 224;
  Interpolation interpolation = Interpolation::Bilinear;

  // --- geometry, in this order --------------------------------------------
  // Training: a random resized crop to the output size. When unset, the image is
  // resized (shorter side to floor(size / crop_pct)) and center-cropped to the output
  // size, both skipped when the image already has the output size.
  std::optional<RandomResizedCropSpec> random_resized_crop;
  double crop_pct = 1.0;       // timm's eval crop_pct: 0.875 resizes 224 → 256 then center-crops 224
  int64_t crop_padding = 0;    // then torchvision's RandomCrop(size, padding) with zero fill; 0 = off
  double hflip = 0.0;          // then a horizontal flip with this probability

  // --- colour, on uint8 ---------------------------------------------------
  std::optional<ColorJitterSpec> color_jitter;
  std::string auto_augment;    // "" (off), timm's "rand-m9-mstd0.5-inc1"-style string, or "trivialaugment"

  // --- to float -----------------------------------------------------------
  std::vector<double> mean{0.5};  // per channel after scaling to [0, 1]; one value = all channels
  std::vector<double> std{0.5};
  RandomErasingSpec random_erasing;  // last, on the normalized image

  bool is_random() const {
    return random_resized_crop.has_value() || crop_padding > 0 || hflip > 0.0 || color_jitter.has_value() ||
           !auto_augment.empty() || random_erasing.prob > 0.0;
  }
};

}  // namespace tessera::data
