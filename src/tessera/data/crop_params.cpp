// Crop placement and resize output sizes of the per-sample pipeline (torchvision / timm).
#include "tessera/data/crop_params.h"

#include <c10/util/Exception.h>

#include <algorithm>
#include <cmath>

namespace tessera::data {
namespace {

// Python's int(round(x)): halves go to the even neighbour (the default FP rounding mode).
int64_t round_half_even(double x) { return static_cast<int64_t>(std::nearbyint(x)); }

}  // namespace

CropBox random_resized_crop_box(int64_t height, int64_t width, const RandomResizedCropSpec& spec, SampleRng& rng) {
  const double area = static_cast<double>(height * width);
  const double log_r0 = std::log(spec.ratio[0]);
  const double log_r1 = std::log(spec.ratio[1]);
  for (int attempt = 0; attempt < 10; ++attempt) {
    const double target_area = area * (spec.scale[0] + (spec.scale[1] - spec.scale[0]) * rng.uniform());
    const double aspect = std::exp(log_r0 + (log_r1 - log_r0) * rng.uniform());
    const int64_t w = round_half_even(std::sqrt(target_area * aspect));
    const int64_t h = round_half_even(std::sqrt(target_area / aspect));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      const int64_t top = rng.below(height - h + 1);
      const int64_t left = rng.below(width - w + 1);
      return CropBox{top, left, h, w};
    }
  }
  // Fallback: the whole image, trimmed to the nearest allowed aspect ratio, centred.
  const double in_ratio = static_cast<double>(width) / static_cast<double>(height);
  const double min_ratio = std::min(spec.ratio[0], spec.ratio[1]);
  const double max_ratio = std::max(spec.ratio[0], spec.ratio[1]);
  int64_t w = width, h = height;
  if (in_ratio < min_ratio) {
    h = round_half_even(static_cast<double>(w) / min_ratio);
  } else if (in_ratio > max_ratio) {
    w = round_half_even(static_cast<double>(h) * max_ratio);
  }
  return CropBox{(height - h) / 2, (width - w) / 2, h, w};
}

CropBox center_crop_box(int64_t height, int64_t width, int64_t out_h, int64_t out_w) {
  // Per axis: a crop larger than the image pads floor(excess / 2) before it and takes
  // the padded image whole; a smaller one starts at round((size - crop) / 2).
  const auto start = [](int64_t size, int64_t crop) {
    if (crop > size) return -((crop - size) / 2);
    return round_half_even(static_cast<double>(size - crop) / 2.0);
  };
  return CropBox{start(height, out_h), start(width, out_w), out_h, out_w};
}

std::array<int64_t, 2> shorter_side_size(int64_t height, int64_t width, int64_t size) {
  TORCH_CHECK(height > 0 && width > 0 && size > 0, "resize: bad sizes ", height, "x", width, " to ", size);
  const int64_t shorter = std::min(height, width), longer = std::max(height, width);
  const auto scaled = static_cast<int64_t>(static_cast<double>(size * longer) / static_cast<double>(shorter));
  return width <= height ? std::array<int64_t, 2>{scaled, size} : std::array<int64_t, 2>{size, scaled};
}

std::array<int64_t, 2> eval_resize_size(int64_t height, int64_t width, int64_t out_h, int64_t out_w, double crop_pct) {
  const auto scale_h = static_cast<int64_t>(std::floor(static_cast<double>(out_h) / crop_pct));
  const auto scale_w = static_cast<int64_t>(std::floor(static_cast<double>(out_w) / crop_pct));
  if (scale_h == scale_w) return shorter_side_size(height, width, scale_h);
  const double ratio = std::min(static_cast<double>(height) / static_cast<double>(scale_h),
                                static_cast<double>(width) / static_cast<double>(scale_w));
  return {round_half_even(static_cast<double>(height) / ratio), round_half_even(static_cast<double>(width) / ratio)};
}

}  // namespace tessera::data
