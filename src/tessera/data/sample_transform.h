// The per-sample image pipeline: any-size uint8 Image in, normalized float (C, H, W)
// out, as torchvision's Compose of the steps a TransformSpec names (transform_spec.h),
// in timm's order: geometry (random resized crop, or resize + center crop; random crop
// with padding; flip) → colour (auto-augment, color jitter) → ToTensor + Normalize →
// random erasing.
//
// Channels: a 3-channel source for a 1-channel output is turned grey first
// (torchvision's rgb_to_grayscale, as if the file had been decoded grey). A 1-channel
// source for a 3-channel output is replicated after the geometry, which equals
// replicating it first (every geometric step treats the channels alike), so the colour
// ops see three equal channels, like timm's datasets that convert images to RGB on load.
//
// Colour: as timm, color jitter is skipped when an auto-augment policy is set, unless
// the policy string contains '3a' (then auto-augment runs first, then the jitter).
//
// The random draws come in this order: crop box (random_resized_crop_box), RandomCrop's
// top then left, the flip, the auto-augment's own draws, color jitter (order, then
// factors), random erasing. Without colour ops the crop, the flip, the replication and
// the normalization are one pass over the output (a 256-entry table per channel).
// Nothing here calls ATen: it runs in the loader's worker threads.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "tessera/data/image.h"
#include "tessera/data/sample_rng.h"
#include "tessera/data/transform_spec.h"

namespace tessera::data {

class AutoAugment;

class SampleTransform {
 public:
  // Checks every setting (TORCH_CHECK with the bad value).
  explicit SampleTransform(TransformSpec spec);
  ~SampleTransform();
  SampleTransform(SampleTransform&&) noexcept;
  SampleTransform& operator=(SampleTransform&&) noexcept;

  int64_t channels() const { return spec_.channels; }
  int64_t height() const { return spec_.height; }
  int64_t width() const { return spec_.width; }
  int64_t output_floats() const { return spec_.channels * spec_.height * spec_.width; }
  bool is_random() const { return spec_.is_random(); }

  // Writes output_floats() floats to `dst`. All randomness comes from `rng` (the
  // sample's own stream), so the output is a pure function of (src, rng state).
  // Safe to call from several threads at once. `src` has 1 or 3 channels and any size.
  void operator()(const Image& src, SampleRng& rng, float* dst) const;

 private:
  TransformSpec spec_;
  std::unique_ptr<const AutoAugment> auto_augment_;  // null when spec_.auto_augment is empty
  bool jitter_on_ = false;                           // color_jitter set and not turned off by auto_augment
  std::vector<float> table_;                         // (channels, 256): (v / 255 - mean[c]) / std[c]
};

}  // namespace tessera::data
