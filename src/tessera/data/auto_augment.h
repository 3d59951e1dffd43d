// Automatic augmentation policies on uint8 images: timm's RandAugment, configured by
// its string ("rand-m9-mstd0.5-inc1": magnitude 9, magnitude noise std 0.5, the
// increasing-severity op set; see timm's rand_augment_transform), and torchvision's
// TrivialAugmentWide (Müller & Hutter, 2021). RandAugment: Cubuk et al., 2020.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tessera/data/image.h"
#include "tessera/data/sample_rng.h"

namespace tessera::data {

class AutoAugment {
 public:
  virtual ~AutoAugment() = default;
  // Changes `image` in place (same size and channel count), drawing from `rng` only.
  // Safe to call from several threads at once.
  virtual void operator()(Image& image, SampleRng& rng) const = 0;
};

// Parses `spec` ("rand-..." or "trivialaugment"); `fill` is the per-channel uint8
// colour geometric ops expose (timm: the dataset mean × 255). Throws
// tessera::Error(key, ...) naming what is wrong in the string.
std::unique_ptr<const AutoAugment> make_auto_augment(const std::string& spec, const std::vector<uint8_t>& fill,
                                                     const std::string& key = "data.augment.auto_augment");

}  // namespace tessera::data
