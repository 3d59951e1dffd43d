// torchvision's ColorJitter on uint8 images: brightness, contrast, saturation and hue
// factors drawn per sample and applied in a random order (color_ops.h).
#pragma once

#include <array>
#include <optional>

#include "tessera/data/image.h"
#include "tessera/data/sample_rng.h"
#include "tessera/data/transform_spec.h"

namespace tessera::data {

// One sample's draw. An adjustment the spec turns off (0) has no factor and is skipped.
struct ColorJitterDraw {
  std::array<int, 4> order{0, 1, 2, 3};  // 0 brightness, 1 contrast, 2 saturation, 3 hue
  std::optional<double> brightness;      // in [max(0, 1 - b), 1 + b]
  std::optional<double> contrast;        // in [max(0, 1 - c), 1 + c]
  std::optional<double> saturation;      // in [max(0, 1 - s), 1 + s]
  std::optional<double> hue;             // in [-h, h]
};

// ColorJitter.get_params: a uniform permutation of the four, then a uniform factor for
// each adjustment that is on, in the order brightness, contrast, saturation, hue.
ColorJitterDraw draw_color_jitter(const ColorJitterSpec& spec, SampleRng& rng);

// The adjustments of `draw` in its order, in place.
void apply_color_jitter(Image& image, const ColorJitterDraw& draw);

}  // namespace tessera::data
