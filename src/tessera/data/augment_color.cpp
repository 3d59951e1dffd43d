// PIL's ImageOps / ImageEnhance colour ops on channel-planar uint8 images. The
// arithmetic follows Pillow's C code step by step (float blends truncated, the same
// summation order in the smoothing filter), so results match PIL exactly as long as the
// compiler does not fuse multiply-adds (the default x86-64 flags do not).
#include "tessera/data/augment_color.h"

#include <c10/util/Exception.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <vector>

namespace tessera::data {
namespace {

using Lut = std::array<uint8_t, 256>;
using Histogram = std::array<int64_t, 256>;

void apply_lut(uint8_t* values, int64_t count, const Lut& lut) {
  for (int64_t i = 0; i < count; ++i) values[i] = lut[values[i]];
}

Histogram histogram(const uint8_t* values, int64_t count) {
  Histogram h{};
  for (int64_t i = 0; i < count; ++i) ++h[values[i]];
  return h;
}

// Image.blend(im1, im2, alpha) for one value (Pillow's Blend.c): im1 + alpha * (im2 - im1)
// in float, truncated. Pillow clamps to [0, 255] only when alpha lies outside [0, 1];
// inside, the value cannot leave [0, 255], so clamping always is the same (and branchless).
inline uint8_t blend(int degenerate, int value, float alpha) {
  float v = static_cast<float>(degenerate) + alpha * static_cast<float>(value - degenerate);
  v = v < 0.0f ? 0.0f : v;
  v = v > 255.0f ? 255.0f : v;
  return static_cast<uint8_t>(static_cast<int>(v));
}

// blend(degenerate, v, alpha) for every v, when the degenerate image is one flat value.
Lut blend_lut(int degenerate, float alpha) {
  Lut lut;
  for (int v = 0; v < 256; ++v) lut[v] = blend(degenerate, v, alpha);
  return lut;
}

void apply_lut_all(Image& image, const Lut& lut) {
  apply_lut(image.pixels.data(), static_cast<int64_t>(image.pixels.size()), lut);
}

// Per channel, the table `make_table(histogram, pixel count)` builds (none: the channel
// stays as it is), as ImageOps does with an 'RGB' image's 768-entry histogram.
template <typename MakeTable>
void apply_channel_tables(Image& image, MakeTable&& make_table) {
  const int64_t n = image.plane_size();
  for (int64_t c = 0; c < image.channels; ++c) {
    uint8_t* plane = image.plane(c);
    if (const std::optional<Lut> lut = make_table(histogram(plane, n), n)) apply_lut(plane, n, *lut);
  }
}

// PIL's SMOOTH filter on one plane (Filter.c, ImagingFilter3x3): float taps summed row
// y+1, y, y-1, +0.5 and truncated; the outer one-pixel ring is copied from the source.
void smooth_plane(const uint8_t* in, int64_t height, int64_t width, uint8_t* out) {
  const float side = 1.0f / 13.0f;
  const float centre = 5.0f / 13.0f;
  std::copy(in, in + width, out);
  for (int64_t y = 1; y < height - 1; ++y) {
    const uint8_t* above = in + (y - 1) * width;
    const uint8_t* row = in + y * width;
    const uint8_t* below = in + (y + 1) * width;
    uint8_t* o = out + y * width;
    o[0] = row[0];
    for (int64_t x = 1; x < width - 1; ++x) {
      float ss = 0.5f;
      ss += static_cast<float>(below[x - 1]) * side + static_cast<float>(below[x]) * side +
            static_cast<float>(below[x + 1]) * side;
      ss += static_cast<float>(row[x - 1]) * side + static_cast<float>(row[x]) * centre +
            static_cast<float>(row[x + 1]) * side;
      ss += static_cast<float>(above[x - 1]) * side + static_cast<float>(above[x]) * side +
            static_cast<float>(above[x + 1]) * side;
      o[x] = static_cast<uint8_t>(std::min(std::max(ss, 0.0f), 255.0f));  // clip8
    }
    o[width - 1] = row[width - 1];
  }
  std::copy(in + (height - 1) * width, in + height * width, out + (height - 1) * width);
}

}  // namespace

void auto_contrast(Image& image) {
  check_image(image, "auto_contrast");
  apply_channel_tables(image, [](const Histogram& h, int64_t) -> std::optional<Lut> {
    int lo = 0;
    while (lo < 256 && h[lo] == 0) ++lo;
    int hi = 255;
    while (hi >= 0 && h[hi] == 0) --hi;
    if (hi <= lo) return std::nullopt;  // constant (or empty): PIL's identity table
    const double scale = 255.0 / (hi - lo);
    const double offset = -lo * scale;
    Lut lut;
    for (int v = 0; v < 256; ++v) {
      const int mapped = static_cast<int>(v * scale + offset);  // Python's int(): toward zero
      lut[v] = static_cast<uint8_t>(std::clamp(mapped, 0, 255));
    }
    return lut;
  });
}

void equalize(Image& image) {
  check_image(image, "equalize");
  apply_channel_tables(image, [](const Histogram& h, int64_t count) -> std::optional<Lut> {
    int used = 0;
    int64_t last = 0;  // the count of the highest value present
    for (int v = 0; v < 256; ++v) {
      if (h[v] == 0) continue;
      ++used;
      last = h[v];
    }
    if (used <= 1) return std::nullopt;
    const int64_t step = (count - last) / 255;
    if (step == 0) return std::nullopt;
    Lut lut;
    int64_t acc = step / 2;
    for (int v = 0; v < 256; ++v) {
      lut[v] = static_cast<uint8_t>(std::min<int64_t>(acc / step, 255));  // Image.point clamps to 255
      acc += h[v];
    }
    return lut;
  });
}

void invert(Image& image) {
  check_image(image, "invert");
  for (auto& v : image.pixels) v = static_cast<uint8_t>(255 - v);
}

void posterize(Image& image, int bits) {
  check_image(image, "posterize");
  TORCH_CHECK(bits >= 0 && bits <= 8, "posterize: bits must be in [0, 8], not ", bits);
  const auto mask = static_cast<uint8_t>(~((1 << (8 - bits)) - 1) & 0xff);
  for (auto& v : image.pixels) v &= mask;
}

void solarize(Image& image, double threshold) {
  check_image(image, "solarize");
  Lut lut;
  for (int v = 0; v < 256; ++v) lut[v] = static_cast<uint8_t>(v < threshold ? v : 255 - v);
  apply_lut_all(image, lut);
}

void solarize_add(Image& image, int add, int threshold) {
  check_image(image, "solarize_add");
  Lut lut;
  for (int v = 0; v < 256; ++v) lut[v] = static_cast<uint8_t>(v < threshold ? std::clamp(v + add, 0, 255) : v);
  apply_lut_all(image, lut);
}

void enhance_color(Image& image, double factor) {
  check_image(image, "enhance_color");
  if (image.channels == 1) return;  // PIL's 'L' image is its own grayscale
  const auto alpha = static_cast<float>(factor);
  uint8_t* r = image.plane(0);
  uint8_t* g = image.plane(1);
  uint8_t* b = image.plane(2);
  const int64_t n = image.plane_size();
  for (int64_t i = 0; i < n; ++i) {
    const int gray = pil_luma(r[i], g[i], b[i]);
    r[i] = blend(gray, r[i], alpha);
    g[i] = blend(gray, g[i], alpha);
    b[i] = blend(gray, b[i], alpha);
  }
}

void enhance_contrast(Image& image, double factor) {
  check_image(image, "enhance_contrast");
  const int64_t n = image.plane_size();
  Histogram h{};
  if (image.channels == 1) {
    h = histogram(image.plane(0), n);
  } else {
    const uint8_t* r = image.plane(0);
    const uint8_t* g = image.plane(1);
    const uint8_t* b = image.plane(2);
    for (int64_t i = 0; i < n; ++i) ++h[pil_luma(r[i], g[i], b[i])];
  }
  // ImageStat's mean of the grayscale image, rounded as int(mean + 0.5).
  double sum = 0.0;
  for (int v = 0; v < 256; ++v) sum += static_cast<double>(v) * static_cast<double>(h[v]);
  const int mean = n > 0 ? static_cast<int>(sum / static_cast<double>(n) + 0.5) : 0;
  apply_lut_all(image, blend_lut(mean, static_cast<float>(factor)));
}

void enhance_brightness(Image& image, double factor) {
  check_image(image, "enhance_brightness");
  apply_lut_all(image, blend_lut(0, static_cast<float>(factor)));
}

void enhance_sharpness(Image& image, double factor) {
  check_image(image, "enhance_sharpness");
  if (image.height < 3 || image.width < 3) return;  // PIL's filter returns a copy: blend(x, x) = x
  const auto alpha = static_cast<float>(factor);
  const int64_t n = image.plane_size();
  thread_local std::vector<uint8_t> smooth;
  smooth.resize(static_cast<size_t>(n));
  uint8_t* degenerate = smooth.data();  // a local pointer: stores to the image cannot move it
  for (int64_t c = 0; c < image.channels; ++c) {
    uint8_t* plane = image.plane(c);
    smooth_plane(plane, image.height, image.width, degenerate);
    for (int64_t i = 0; i < n; ++i) plane[i] = blend(degenerate[i], plane[i], alpha);
  }
}

}  // namespace tessera::data
