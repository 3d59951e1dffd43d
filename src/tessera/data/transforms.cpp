// Per-sample image transforms: random crop with zero padding, horizontal flip, normalize.
#include "tessera/data/transforms.h"

#include <c10/util/Exception.h>

#include <algorithm>

namespace tessera::data {

TransformOptions train_transform(const config::DataConfig& config) {
  TransformOptions o;
  o.crop_padding = config.augment.random_crop_padding;
  o.hflip = config.augment.hflip;
  o.mean = config.mean;
  o.std = config.std;
  return o;
}

TransformOptions eval_transform(const config::DataConfig& config) {
  TransformOptions o;
  o.mean = config.mean;
  o.std = config.std;
  return o;
}

Transform::Transform(int64_t channels, int64_t height, int64_t width, TransformOptions options)
    : channels_(channels), height_(height), width_(width), options_(std::move(options)) {
  TORCH_CHECK(channels > 0 && height > 0 && width > 0, "Transform: bad image size ", channels, "x", height, "x",
              width);
  TORCH_CHECK(options_.crop_padding >= 0, "Transform: crop_padding must be >= 0, got ", options_.crop_padding);
  TORCH_CHECK(options_.hflip >= 0.0 && options_.hflip <= 1.0, "Transform: hflip must be in [0, 1], got ",
              options_.hflip);
  const auto per_channel = [&](const std::vector<double>& v, const char* name) {
    TORCH_CHECK(v.size() == 1 || static_cast<int64_t>(v.size()) == channels, "Transform: ", name, " has ", v.size(),
                " values for ", channels, " channels");
    return std::vector<double>(v.size() == 1 ? std::vector<double>(channels, v[0]) : v);
  };
  options_.mean = per_channel(options_.mean, "mean");
  options_.std = per_channel(options_.std, "std");

  table_.resize(channels * 256);
  for (int64_t c = 0; c < channels; ++c) {
    TORCH_CHECK(options_.std[c] > 0.0, "Transform: std must be positive, got ", options_.std[c]);
    // Same float steps as ToTensor (v / 255 in float) then Normalize ((x - mean) / std).
    const float mean = static_cast<float>(options_.mean[c]);
    const float std = static_cast<float>(options_.std[c]);
    for (int v = 0; v < 256; ++v) table_[c * 256 + v] = (static_cast<float>(v) / 255.0f - mean) / std;
  }
}

Placement Transform::draw(SampleRng& rng) const {
  const int64_t p = options_.crop_padding;
  Placement out{p, p, false};
  if (p > 0) {
    out.top = rng.below(2 * p + 1);
    out.left = rng.below(2 * p + 1);
  }
  if (options_.hflip > 0.0) out.flip = rng.bernoulli(options_.hflip);
  return out;
}

void Transform::apply(const uint8_t* src, const Placement& placement, float* dst) const {
  const int64_t H = height_, W = width_;
  // Output (y, x) reads the padded image at (y + top, x' + left), x' = flip ? W-1-x : x,
  // which is the source at (y + dy, x' + dx); outside the source it is padding (0).
  const int64_t dy = placement.top - options_.crop_padding;
  const int64_t dx = placement.left - options_.crop_padding;
  // Output columns [x0, x1) read inside the source row; the rest are padding.
  const int64_t x0 = placement.flip ? std::max<int64_t>(0, dx) : std::max<int64_t>(0, -dx);
  const int64_t x1 = std::max(x0, placement.flip ? std::min(W, W + dx) : std::min(W, W - dx));

  for (int64_t c = 0; c < channels_; ++c) {
    const float* table = &table_[c * 256];
    const float pad = table[0];
    const uint8_t* plane = src + c * H * W;
    float* out = dst + c * H * W;
    for (int64_t y = 0; y < H; ++y) {
      float* row = out + y * W;
      const int64_t sy = y + dy;
      if (sy < 0 || sy >= H) {
        std::fill(row, row + W, pad);
        continue;
      }
      const uint8_t* srow = plane + sy * W;
      std::fill(row, row + x0, pad);
      if (placement.flip) {
        const int64_t last = W - 1 + dx;  // output x reads source column last - x
        for (int64_t x = x0; x < x1; ++x) row[x] = table[srow[last - x]];
      } else {
        for (int64_t x = x0; x < x1; ++x) row[x] = table[srow[x + dx]];
      }
      std::fill(row + x1, row + W, pad);
    }
  }
}

}  // namespace tessera::data
