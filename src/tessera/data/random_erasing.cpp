// timm's RandomErasing (Zhong et al., 2017) on a normalized float image.
#include "tessera/data/random_erasing.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <vector>

namespace tessera::data {

void fill_standard_normal(float* out, int64_t n, SampleRng& rng) {
  for (int64_t i = 0; i < n; i += 2) {
    const double radius = std::sqrt(-2.0 * std::log(1.0 - rng.uniform()));  // 1 - U in (0, 1]: log is finite
    const double angle = 2.0 * std::numbers::pi * rng.uniform();
    out[i] = static_cast<float>(radius * std::cos(angle));
    if (i + 1 < n) out[i + 1] = static_cast<float>(radius * std::sin(angle));
  }
}

void random_erase(float* image, int64_t channels, int64_t height, int64_t width, const RandomErasingSpec& spec,
                  SampleRng& rng, std::vector<CropBox>* erased) {
  if (spec.prob <= 0.0 || rng.uniform() > spec.prob) return;
  const double area = static_cast<double>(height * width);
  const int64_t count = spec.min_count == spec.max_count
                            ? spec.min_count
                            : spec.min_count + rng.below(spec.max_count - spec.min_count + 1);
  const double log_aspect0 = std::log(spec.min_aspect);
  const double log_aspect1 = -log_aspect0;
  for (int64_t box = 0; box < count; ++box) {
    for (int attempt = 0; attempt < 10; ++attempt) {
      const double target_area =
          (spec.min_area + (spec.max_area - spec.min_area) * rng.uniform()) * area / static_cast<double>(count);
      const double aspect = std::exp(log_aspect0 + (log_aspect1 - log_aspect0) * rng.uniform());
      const auto h = static_cast<int64_t>(std::nearbyint(std::sqrt(target_area * aspect)));
      const auto w = static_cast<int64_t>(std::nearbyint(std::sqrt(target_area / aspect)));
      if (!(w < width && h < height)) continue;
      const int64_t top = rng.below(height - h + 1);
      const int64_t left = rng.below(width - w + 1);
      if (spec.mode == ErasingMode::Pixel) {
        // timm draws a (channels, h, w) block of normals and copies it in.
        for (int64_t c = 0; c < channels; ++c) {
          for (int64_t y = 0; y < h; ++y) fill_standard_normal(image + (c * height + top + y) * width + left, w, rng);
        }
      } else {
        std::vector<float> fill(static_cast<size_t>(channels), 0.0f);  // 'const': zeros
        if (spec.mode == ErasingMode::Rand) fill_standard_normal(fill.data(), channels, rng);
        for (int64_t c = 0; c < channels; ++c) {
          for (int64_t y = 0; y < h; ++y) {
            float* row = image + (c * height + top + y) * width + left;
            std::fill(row, row + w, fill[static_cast<size_t>(c)]);
          }
        }
      }
      if (erased) erased->push_back(CropBox{top, left, h, w});
      break;
    }
  }
}

}  // namespace tessera::data
