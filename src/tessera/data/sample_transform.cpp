// The per-sample image pipeline (sample_transform.h): geometry on uint8, colour on
// uint8, then one pass that places, replicates and normalizes into the float output.
#include "tessera/data/sample_transform.h"

#include <c10/util/Exception.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <string>

#include "tessera/data/auto_augment.h"
#include "tessera/data/color_jitter.h"
#include "tessera/data/color_ops.h"
#include "tessera/data/crop_params.h"
#include "tessera/data/random_erasing.h"
#include "tessera/data/resize.h"

namespace tessera::data {
namespace {

// How the output reads the image the geometry left: output (y, x) reads (y + dy,
// x' + dx) with x' = W - 1 - x when flipped, else x. Only the rectangle rows [y0, y1),
// columns [x0, x1) of that image holds the crop's pixels; everything else reads 0
// (torchvision's zero padding of CenterCrop and RandomCrop).
struct Placement {
  int64_t dy = 0;
  int64_t dx = 0;
  int64_t y0 = 0, y1 = 0, x0 = 0, x1 = 0;
  bool flip = false;
};

Placement whole(const Image& image) { return Placement{0, 0, 0, image.height, 0, image.width, false}; }

// Writes (channels, H, W) values: tables[c * table_stride + v] for the pixel value v the
// placement maps output (c, y, x) to, tables[c * table_stride] (the value of 0) where it
// maps outside. Output channel c reads image channel c, or 0 when the image is grey.
template <typename T>
void place(const Image& image, const Placement& p, int64_t channels, int64_t H, int64_t W, const T* tables,
           int64_t table_stride, T* out) {
  // Output columns [xa, xb) read inside the rectangle; see the Placement comment.
  int64_t xa, xb;
  if (p.flip) {
    xa = W + p.dx - p.x1;
    xb = W + p.dx - p.x0;
  } else {
    xa = p.x0 - p.dx;
    xb = p.x1 - p.dx;
  }
  xa = std::clamp<int64_t>(xa, 0, W);
  xb = std::clamp<int64_t>(xb, xa, W);
  for (int64_t c = 0; c < channels; ++c) {
    const T* table = tables + c * table_stride;
    const T pad = table[0];
    const uint8_t* plane = image.plane(image.channels == 1 ? 0 : c);
    T* plane_out = out + c * H * W;
    for (int64_t y = 0; y < H; ++y) {
      T* row = plane_out + y * W;
      const int64_t sy = y + p.dy;
      if (sy < p.y0 || sy >= p.y1) {
        std::fill(row, row + W, pad);
        continue;
      }
      const uint8_t* src = plane + sy * image.width;
      std::fill(row, row + xa, pad);
      if (p.flip) {
        const int64_t last = W - 1 + p.dx;  // output x reads column last - x
        for (int64_t x = xa; x < xb; ++x) row[x] = table[src[last - x]];
      } else {
        for (int64_t x = xa; x < xb; ++x) row[x] = table[src[x + p.dx]];
      }
      std::fill(row + xb, row + W, pad);
    }
  }
}

// Per-thread images, reused from sample to sample.
struct Scratch {
  Image grey;      // a colour source turned grey for a 1-channel output
  Image geometry;  // the resampled crop
  Image colour;    // the placed uint8 image the colour ops change
};

Scratch& scratch() {
  thread_local Scratch s;
  return s;
}

std::vector<double> per_channel(const std::vector<double>& values, int64_t channels, const char* name) {
  TORCH_CHECK(values.size() == 1 || static_cast<int64_t>(values.size()) == channels, "SampleTransform: ", name, " has ",
              values.size(), " values for ", channels, " channels");
  return values.size() == 1 ? std::vector<double>(static_cast<size_t>(channels), values[0]) : values;
}

void check_spec(const TransformSpec& s) {
  TORCH_CHECK(s.channels == 1 || s.channels == 3, "SampleTransform: channels must be 1 or 3, got ", s.channels);
  TORCH_CHECK(s.height > 0 && s.width > 0, "SampleTransform: bad output size ", s.height, "x", s.width);
  if (s.random_resized_crop) {
    const auto& r = *s.random_resized_crop;
    TORCH_CHECK(r.scale[0] > 0.0 && r.scale[0] <= r.scale[1], "SampleTransform: random_resized_crop scale must be 0 < ",
                "min <= max, got (", r.scale[0], ", ", r.scale[1], ")");
    TORCH_CHECK(r.ratio[0] > 0.0 && r.ratio[0] <= r.ratio[1], "SampleTransform: random_resized_crop ratio must be 0 < ",
                "min <= max, got (", r.ratio[0], ", ", r.ratio[1], ")");
  }
  // timm allows crop_pct > 1: the resize then falls short of the crop, which pads with zeros.
  TORCH_CHECK(s.crop_pct > 0.0 && std::isfinite(s.crop_pct), "SampleTransform: crop_pct must be > 0, got ", s.crop_pct);
  TORCH_CHECK(s.crop_padding >= 0, "SampleTransform: crop_padding must be >= 0, got ", s.crop_padding);
  TORCH_CHECK(s.hflip >= 0.0 && s.hflip <= 1.0, "SampleTransform: hflip must be in [0, 1], got ", s.hflip);
  if (s.color_jitter) {
    const auto& j = *s.color_jitter;
    TORCH_CHECK(j.brightness >= 0.0 && j.contrast >= 0.0 && j.saturation >= 0.0,
                "SampleTransform: color_jitter brightness, contrast and saturation must be >= 0, got ", j.brightness,
                ", ", j.contrast, ", ", j.saturation);
    TORCH_CHECK(j.hue >= 0.0 && j.hue <= 0.5, "SampleTransform: color_jitter hue must be in [0, 0.5], got ", j.hue);
  }
  const auto& e = s.random_erasing;
  TORCH_CHECK(e.prob >= 0.0 && e.prob <= 1.0, "SampleTransform: random_erasing prob must be in [0, 1], got ", e.prob);
  TORCH_CHECK(e.min_count >= 1 && e.max_count >= e.min_count, "SampleTransform: random_erasing counts must be ",
              "1 <= min_count <= max_count, got ", e.min_count, " and ", e.max_count);
  TORCH_CHECK(e.min_area > 0.0 && e.min_area <= e.max_area && e.max_area <= 1.0,
              "SampleTransform: random_erasing areas must be 0 < min_area <= max_area <= 1, got ", e.min_area, " and ",
              e.max_area);
  TORCH_CHECK(e.min_aspect > 0.0, "SampleTransform: random_erasing min_aspect must be > 0, got ", e.min_aspect);
}

}  // namespace

SampleTransform::SampleTransform(TransformSpec spec) : spec_(std::move(spec)) {
  check_spec(spec_);
  spec_.mean = per_channel(spec_.mean, spec_.channels, "mean");
  spec_.std = per_channel(spec_.std, spec_.channels, "std");
  table_.resize(static_cast<size_t>(spec_.channels * 256));
  for (int64_t c = 0; c < spec_.channels; ++c) {
    TORCH_CHECK(spec_.std[c] > 0.0, "SampleTransform: std must be positive, got ", spec_.std[c]);
    // ToTensor (v / 255 in float) then Normalize ((x - mean) / std), torchvision's float steps.
    const auto mean = static_cast<float>(spec_.mean[c]);
    const auto std = static_cast<float>(spec_.std[c]);
    for (int v = 0; v < 256; ++v) {
      table_[static_cast<size_t>(c * 256 + v)] = (static_cast<float>(v) / 255.0f - mean) / std;
    }
  }
  if (!spec_.auto_augment.empty()) {
    // timm's img_mean fill: min(255, round(255 * mean)) per channel.
    std::vector<uint8_t> fill;
    for (const double m : spec_.mean) {
      fill.push_back(static_cast<uint8_t>(std::clamp(std::nearbyint(255.0 * m), 0.0, 255.0)));
    }
    auto_augment_ = make_auto_augment(spec_.auto_augment, fill);
  }
  // timm turns colour jitter off under an auto-augment policy, except for '3a'.
  jitter_on_ = spec_.color_jitter.has_value() &&
               (spec_.auto_augment.empty() || spec_.auto_augment.find("3a") != std::string::npos);
}

SampleTransform::~SampleTransform() = default;
SampleTransform::SampleTransform(SampleTransform&&) noexcept = default;
SampleTransform& SampleTransform::operator=(SampleTransform&&) noexcept = default;

void SampleTransform::operator()(const Image& src, SampleRng& rng, float* dst) const {
  check_image(src, "SampleTransform");
  TORCH_CHECK(src.height > 0 && src.width > 0, "SampleTransform: the image is empty (", src.height, "x", src.width, ")");
  Scratch& s = scratch();
  const int64_t C = spec_.channels, H = spec_.height, W = spec_.width;

  // Channels: a colour source for a grey output turns grey first (as if decoded grey).
  const Image* image = &src;
  if (C == 1 && src.channels == 3) {
    rgb_to_grayscale(src, s.grey);
    image = &s.grey;
  }

  // Geometry: what of `image` the H x W crop holds, resampling into s.geometry when needed.
  Placement p = whole(*image);
  if (spec_.random_resized_crop) {
    const CropBox box = random_resized_crop_box(image->height, image->width, *spec_.random_resized_crop, rng);
    if (box.height == H && box.width == W) {
      p = Placement{box.top, box.left, box.top, box.top + H, box.left, box.left + W, false};
    } else {
      resized_crop(*image, box, H, W, spec_.interpolation, s.geometry);
      image = &s.geometry;
      p = whole(*image);
    }
  } else if (image->height != H || image->width != W || spec_.crop_pct != 1.0) {
    const auto [rh, rw] = eval_resize_size(image->height, image->width, H, W, spec_.crop_pct);
    const CropBox crop = center_crop_box(rh, rw, H, W);
    // The part of the crop inside the resized image; the rest is zero padding.
    const int64_t y0 = std::max<int64_t>(crop.top, 0), y1 = std::min(crop.top + H, rh);
    const int64_t x0 = std::max<int64_t>(crop.left, 0), x1 = std::min(crop.left + W, rw);
    if (rh == image->height && rw == image->width) {
      p = Placement{crop.top, crop.left, y0, y1, x0, x1, false};
    } else {
      const CropBox full{0, 0, image->height, image->width};
      resized_crop_window(*image, full, rh, rw, CropBox{y0, x0, y1 - y0, x1 - x0}, spec_.interpolation, s.geometry);
      image = &s.geometry;
      p = whole(*image);
      p.dy = crop.top - y0;
      p.dx = crop.left - x0;
    }
  }
  if (spec_.crop_padding > 0) {  // RandomCrop(size, padding): corner in the padded image
    const int64_t pad = spec_.crop_padding;
    p.dy += rng.below(2 * pad + 1) - pad;
    p.dx += rng.below(2 * pad + 1) - pad;
  }
  if (spec_.hflip > 0.0) p.flip = rng.bernoulli(spec_.hflip);

  // Colour, on the placed uint8 image; without colour ops the placing is fused into
  // the normalizing pass below.
  if (auto_augment_ || jitter_on_) {
    static constexpr auto kIdentity = [] {
      std::array<uint8_t, 256> t{};
      for (int v = 0; v < 256; ++v) t[static_cast<size_t>(v)] = static_cast<uint8_t>(v);
      return t;
    }();
    s.colour.resize(C, H, W);
    place(*image, p, C, H, W, kIdentity.data(), 0, s.colour.pixels.data());
    if (auto_augment_) (*auto_augment_)(s.colour, rng);
    if (jitter_on_) apply_color_jitter(s.colour, draw_color_jitter(*spec_.color_jitter, rng));
    image = &s.colour;
    p = whole(s.colour);
  }

  place(*image, p, C, H, W, table_.data(), 256, dst);

  if (spec_.random_erasing.prob > 0.0) random_erase(dst, C, H, W, spec_.random_erasing, rng);
}

}  // namespace tessera::data
