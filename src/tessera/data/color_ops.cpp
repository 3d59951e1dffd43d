// Colour adjustments of uint8 images, torchvision's uint8-tensor arithmetic step by step.
#include "tessera/data/color_ops.h"

#include <c10/util/Exception.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <vector>

namespace tessera::data {
namespace {

// a * b + c rounded once to float, as an FMA instruction does (torch's vectorized add
// with alpha). The product of two floats is exact in double, so only the sum rounds
// there; the double then rounds to float (equal to a true fused result except in
// astronomically rare ties), and the loop still vectorizes.
inline float fused(float a, float b, float c) {
  return static_cast<float>(static_cast<double>(a) * static_cast<double>(b) + static_cast<double>(c));
}

// A float in uint8's range the way a float tensor's .clamp(0, 255).to(torch.uint8) does
// (min / max and an int32 conversion rather than std::clamp: the loops vectorize).
inline uint8_t to_level(float x) {
  return static_cast<uint8_t>(static_cast<int32_t>(std::min(std::max(x, 0.0f), 255.0f)));
}

// floor of a non-negative float below 2^31: truncation, which vectorizes where floor
// needs SSE4.1.
inline float floor_non_negative(float x) { return static_cast<float>(static_cast<int32_t>(x)); }

// torchvision's rgb_to_grayscale in float: r * 0.2989, then + g * 0.587, then + b * 0.114.
inline float grey_of(uint8_t r, uint8_t g, uint8_t b) {
  return fused(static_cast<float>(b), 0.114f, fused(static_cast<float>(g), 0.587f, static_cast<float>(r) * 0.2989f));
}

// A per-value op (the same function of v for every pixel of every channel) as a table.
template <typename F>
void apply_table(Image& image, F&& of_value) {
  std::array<uint8_t, 256> table;
  for (int v = 0; v < 256; ++v) table[static_cast<size_t>(v)] = of_value(static_cast<float>(v));
  for (uint8_t& p : image.pixels) p = table[p];
}

// ratio * v + (1 - ratio) * other, torchvision's _blend for uint8 images.
inline uint8_t blend(float v, float ratio, float one_minus_ratio, float other) {
  return to_level(fused(other, one_minus_ratio, v * ratio));
}

}  // namespace

void check_image(const Image& image, const char* op) {
  TORCH_CHECK(image.channels == 1 || image.channels == 3, op, ": images have 1 or 3 channels, got ", image.channels);
  TORCH_CHECK(static_cast<int64_t>(image.pixels.size()) == image.channels * image.plane_size(), op,
              ": the image holds ", image.pixels.size(), " bytes for ", image.channels, "x", image.height, "x",
              image.width);
}

void adjust_brightness(Image& image, double factor) {
  check_image(image, "adjust_brightness");
  TORCH_CHECK(factor >= 0.0, "adjust_brightness: factor must be >= 0, got ", factor);
  const auto f = static_cast<float>(factor);
  apply_table(image, [f](float v) { return to_level(v * f); });
}

void adjust_contrast(Image& image, double factor) {
  check_image(image, "adjust_contrast");
  TORCH_CHECK(factor >= 0.0, "adjust_contrast: factor must be >= 0, got ", factor);
  const int64_t n = image.plane_size();
  if (n == 0) return;
  // The grey values are whole numbers (floored), so the sum is exact in double.
  double sum = 0.0;
  if (image.channels == 3) {
    const uint8_t *r = image.plane(0), *g = image.plane(1), *b = image.plane(2);
    for (int64_t i = 0; i < n; ++i) sum += floor_non_negative(grey_of(r[i], g[i], b[i]));
  } else {
    for (uint8_t v : image.pixels) sum += v;
  }
  const auto mean = static_cast<float>(sum / static_cast<double>(n));
  const auto ratio = static_cast<float>(factor);
  const auto rest = static_cast<float>(1.0 - factor);
  apply_table(image, [&](float v) { return blend(v, ratio, rest, mean); });
}

void adjust_saturation(Image& image, double factor) {
  check_image(image, "adjust_saturation");
  TORCH_CHECK(factor >= 0.0, "adjust_saturation: factor must be >= 0, got ", factor);
  if (image.channels == 1) return;
  const auto ratio = static_cast<float>(factor);
  const auto rest = static_cast<float>(1.0 - factor);
  uint8_t *r = image.plane(0), *g = image.plane(1), *b = image.plane(2);
  for (int64_t i = 0, n = image.plane_size(); i < n; ++i) {
    const float grey = floor_non_negative(grey_of(r[i], g[i], b[i]));
    r[i] = blend(r[i], ratio, rest, grey);
    g[i] = blend(g[i], ratio, rest, grey);
    b[i] = blend(b[i], ratio, rest, grey);
  }
}

void adjust_hue(Image& image, double hue_factor) {
  check_image(image, "adjust_hue");
  TORCH_CHECK(hue_factor >= -0.5 && hue_factor <= 0.5, "adjust_hue: hue_factor must be in [-0.5, 0.5], got ",
              hue_factor);
  if (image.channels == 1) return;
  const auto shift = static_cast<float>(hue_factor);
  constexpr float kToUnit = static_cast<float>(1.0 / 255.0);
  constexpr float kSixth = static_cast<float>(1.0 / 6.0);
  constexpr float kToLevel = 255.999f;  // torchvision's to_dtype float → uint8: x * (255 + 1 - 1e-3)
  uint8_t *rp = image.plane(0), *gp = image.plane(1), *bp = image.plane(2);
  for (int64_t i = 0, n = image.plane_size(); i < n; ++i) {
    const float r = static_cast<float>(rp[i]) * kToUnit;
    const float g = static_cast<float>(gp[i]) * kToUnit;
    const float b = static_cast<float>(bp[i]) * kToUnit;
    // RGB → HSV as torchvision's _rgb_to_hsv (PIL's algorithm), its masks as branches.
    const float maxc = std::max(std::max(r, g), b);
    const float minc = std::min(std::min(r, g), b);
    const bool grey = maxc == minc;  // torchvision divides by 1 there (the numerators are 0)
    const float range = maxc - minc;
    const float s = range / (grey ? 1.0f : maxc);
    const float divisor = grey ? 1.0f : range;
    const float rc = (maxc - r) / divisor;
    const float gc = (maxc - g) / divisor;
    const float bc = (maxc - b) / divisor;
    float h;
    if (maxc == r) {
      h = bc - gc;
    } else if (maxc == g) {
      h = (rc + 2.0f) - bc;
    } else {
      h = (gc + 4.0f) - rc;
    }
    h = h * kSixth + 1.0f;     // in [5/6, 11/6]
    if (h >= 1.0f) h -= 1.0f;  // fmod(h, 1), exact here
    h += shift;                // in [-1/2, 3/2): torch's remainder(h, 1) is h - floor(h)
    if (h < 0.0f) {
      h += 1.0f;
    } else if (h >= 1.0f) {
      h -= 1.0f;
    }
    // HSV → RGB as torchvision's _hsv_to_rgb.
    const float v = maxc;
    const float h6 = h * 6.0f;
    const float sector = floor_non_negative(h6);
    const float f = h6 - sector;
    const float sxf = s * f;
    const float one_minus_s = 1.0f - s;
    const float q = std::min(std::max((1.0f - sxf) * v, 0.0f), 1.0f);
    const float t = std::min(std::max((sxf + one_minus_s) * v, 0.0f), 1.0f);
    const float p = std::min(std::max(one_minus_s * v, 0.0f), 1.0f);
    float ro, go, bo;
    // clang-format off
    switch (static_cast<int>(sector)) {  // 6 (h6 = 6) is sector 0 again
      case 1: ro = q, go = v, bo = p; break;
      case 2: ro = p, go = v, bo = t; break;
      case 3: ro = p, go = q, bo = v; break;
      case 4: ro = t, go = p, bo = v; break;
      case 5: ro = v, go = p, bo = q; break;
      default: ro = v, go = t, bo = p; break;
    }
    // clang-format on
    rp[i] = static_cast<uint8_t>(ro * kToLevel);
    gp[i] = static_cast<uint8_t>(go * kToLevel);
    bp[i] = static_cast<uint8_t>(bo * kToLevel);
  }
}

void rgb_to_grayscale(const Image& src, Image& dst) {
  check_image(src, "rgb_to_grayscale");
  TORCH_CHECK(&src != &dst, "rgb_to_grayscale: the output must be another image than the input");
  dst.resize(1, src.height, src.width);
  if (src.channels == 1) {
    std::memcpy(dst.pixels.data(), src.pixels.data(), src.pixels.size());
    return;
  }
  const uint8_t *r = src.plane(0), *g = src.plane(1), *b = src.plane(2);
  uint8_t* out = dst.plane(0);
  for (int64_t i = 0, n = src.plane_size(); i < n; ++i) out[i] = to_level(grey_of(r[i], g[i], b[i]));
}

}  // namespace tessera::data
