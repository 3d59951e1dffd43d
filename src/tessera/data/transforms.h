// Per-sample image transforms, uint8 (C, H, W) → float (C, H, W): torchvision's
// RandomCrop(size, padding), RandomHorizontalFlip(p), ToTensor and Normalize, fused.
//
// The steps run as one pass over the output pixels (no intermediate padded or
// float image), and normalization is a 256-entry table per channel, so a pixel
// costs one load and one table lookup. The random draws are separated from the
// pixel work (draw() → Placement → apply()) so tests can hand-pick a crop.
#pragma once

#include <cstdint>
#include <vector>

#include "tessera/config/recipe.h"
#include "tessera/data/sample_rng.h"

namespace tessera::data {

struct TransformOptions {
  int64_t crop_padding = 0;       // pad every side with p zero pixels, crop back a random HxW window; 0 = off
  double hflip = 0.0;             // probability of a horizontal flip (after the crop, as torchvision orders them)
  std::vector<double> mean{0.5};  // per channel, after scaling pixels to [0, 1]; one value = all channels
  std::vector<double> std{0.5};
};

// The training pipeline of a recipe: crop + flip + normalize.
TransformOptions train_transform(const config::DataConfig& config);
// The evaluation pipeline: normalize only.
TransformOptions eval_transform(const config::DataConfig& config);

// Where one sample's random draws landed. top/left are the crop window's
// corner in the padded image (torchvision's i, j), in [0, 2 * crop_padding];
// top = left = crop_padding is the uncropped image.
struct Placement {
  int64_t top = 0;
  int64_t left = 0;
  bool flip = false;
};

class Transform {
 public:
  // For images of (channels, height, width); output has the same size.
  Transform(int64_t channels, int64_t height, int64_t width, TransformOptions options);

  // The random part: the crop corner (uniform over the 2p+1 positions on each
  // axis) then the flip; draws nothing for a step that is off.
  Placement draw(SampleRng& rng) const;

  // The deterministic part: writes channels*height*width floats to `dst`.
  // Pixels that fall in the padding read as 0 before normalization.
  void apply(const uint8_t* src, const Placement& placement, float* dst) const;

  void operator()(const uint8_t* src, SampleRng& rng, float* dst) const { apply(src, draw(rng), dst); }

  int64_t channels() const { return channels_; }
  int64_t height() const { return height_; }
  int64_t width() const { return width_; }
  bool is_random() const { return options_.crop_padding > 0 || options_.hflip > 0.0; }
  const TransformOptions& options() const { return options_; }

 private:
  int64_t channels_;
  int64_t height_;
  int64_t width_;
  TransformOptions options_;
  std::vector<float> table_;  // (channels, 256): (v / 255 - mean[c]) / std[c]
};

}  // namespace tessera::data
