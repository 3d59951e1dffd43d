// torchvision's ColorJitter: random factors, random order.
#include "tessera/data/color_jitter.h"

#include <algorithm>
#include <utility>

#include "tessera/data/color_ops.h"

namespace tessera::data {
namespace {

// A factor uniform in [lo, hi], or none when the adjustment is off (spread 0).
std::optional<double> draw_factor(double spread, double lo, double hi, SampleRng& rng) {
  if (spread <= 0.0) return std::nullopt;
  return lo + (hi - lo) * rng.uniform();
}

}  // namespace

ColorJitterDraw draw_color_jitter(const ColorJitterSpec& spec, SampleRng& rng) {
  ColorJitterDraw draw;
  for (int i = 3; i > 0; --i) std::swap(draw.order[i], draw.order[rng.below(i + 1)]);  // Fisher–Yates
  const auto symmetric = [&](double x) { return draw_factor(x, std::max(0.0, 1.0 - x), 1.0 + x, rng); };
  draw.brightness = symmetric(spec.brightness);
  draw.contrast = symmetric(spec.contrast);
  draw.saturation = symmetric(spec.saturation);
  draw.hue = draw_factor(spec.hue, -spec.hue, spec.hue, rng);
  return draw;
}

void apply_color_jitter(Image& image, const ColorJitterDraw& draw) {
  for (const int op : draw.order) {
    if (op == 0 && draw.brightness) adjust_brightness(image, *draw.brightness);
    if (op == 1 && draw.contrast) adjust_contrast(image, *draw.contrast);
    if (op == 2 && draw.saturation) adjust_saturation(image, *draw.saturation);
    if (op == 3 && draw.hue) adjust_hue(image, *draw.hue);
  }
}

}  // namespace tessera::data
