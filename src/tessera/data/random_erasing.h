// timm's RandomErasing on one normalized float image (Zhong et al., 2017, "Random
// Erasing Data Augmentation"): boxes of random area and aspect overwritten with zeros
// or standard-normal noise.
#pragma once

#include <cstdint>
#include <vector>

#include "tessera/data/resize.h"
#include "tessera/data/sample_rng.h"
#include "tessera/data/transform_spec.h"

namespace tessera::data {

// With probability spec.prob (one uniform, erasing when it is <= prob as timm's
// `random() > prob` test skips): count = min_count, or uniform in [min_count, max_count]
// when they differ; for each of the count boxes up to 10 tries of area share
// U(min_area, max_area) / count and aspect exp(U(log min_aspect, -log min_aspect)),
// h = round(sqrt(area * aspect)), w = round(sqrt(area / aspect)), kept when w < width
// and h < height, at top uniform in [0, height - h] and left in [0, width - w]; the box
// is then filled ('const' zeros, 'rand' one normal per channel, 'pixel' one per value in
// (channel, row, column) order) before the next box is drawn. `image` is (channels,
// height, width). Boxes that were erased are appended to `erased` when it is given.
void random_erase(float* image, int64_t channels, int64_t height, int64_t width, const RandomErasingSpec& spec,
                  SampleRng& rng, std::vector<CropBox>* erased = nullptr);

// Standard normal numbers from a SampleRng by the Box–Muller transform: each call
// fills `out` (n values) using one pair of uniforms per two values.
void fill_standard_normal(float* out, int64_t n, SampleRng& rng);

}  // namespace tessera::data
