// timm's RandAugment level functions and string, and torchvision's TrivialAugmentWide
// magnitude tables, over the PIL-semantics ops of augment_color / augment_geometry.
#include "tessera/data/augment_ops.h"

#include <c10/util/Exception.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <limits>
#include <numbers>
#include <vector>

#include "tessera/core/error.h"
#include "tessera/data/augment_color.h"
#include "tessera/data/augment_geometry.h"

namespace tessera::data {
namespace {

constexpr double kLevelDenom = 10.0;  // timm's _LEVEL_DENOM

// ---- RandAugment -------------------------------------------------------------------

constexpr std::array<RandAugmentOp, 15> kRandOps = {
    RandAugmentOp::AutoContrast, RandAugmentOp::Equalize,      RandAugmentOp::Invert,        RandAugmentOp::Rotate,
    RandAugmentOp::Posterize,    RandAugmentOp::Solarize,      RandAugmentOp::SolarizeAdd,   RandAugmentOp::Color,
    RandAugmentOp::Contrast,     RandAugmentOp::Brightness,    RandAugmentOp::Sharpness,     RandAugmentOp::ShearX,
    RandAugmentOp::ShearY,       RandAugmentOp::TranslateXRel, RandAugmentOp::TranslateYRel,
};

constexpr std::array<RandAugmentOp, 15> kRandIncreasingOps = {
    RandAugmentOp::AutoContrast,
    RandAugmentOp::Equalize,
    RandAugmentOp::Invert,
    RandAugmentOp::Rotate,
    RandAugmentOp::PosterizeIncreasing,
    RandAugmentOp::SolarizeIncreasing,
    RandAugmentOp::SolarizeAdd,
    RandAugmentOp::ColorIncreasing,
    RandAugmentOp::ContrastIncreasing,
    RandAugmentOp::BrightnessIncreasing,
    RandAugmentOp::SharpnessIncreasing,
    RandAugmentOp::ShearX,
    RandAugmentOp::ShearY,
    RandAugmentOp::TranslateXRel,
    RandAugmentOp::TranslateYRel,
};

// timm's level functions: level / 10 scales a range; int() truncates as Python's does.
double enhance_level(double level) { return (level / kLevelDenom) * 1.8 + 0.1; }  // [0.1, 1.9]
double enhance_increasing_level(double level, bool negate) {                      // 1 ± [0, 0.9], >= 0.1
  const double v = (level / kLevelDenom) * 0.9;
  return std::max(0.1, 1.0 + (negate ? -v : v));
}
int posterize_level(double level) { return static_cast<int>((level / kLevelDenom) * 4); }
int solarize_level(double level) { return std::min(256, static_cast<int>((level / kLevelDenom) * 256)); }
double signed_level(double level, double range, bool negate) {
  const double v = (level / kLevelDenom) * range;
  return negate ? -v : v;
}

// timm's posterize skips bits >= 8; PIL takes 1..8; past those ends: black / unchanged.
void posterize_clamped(Image& image, int bits) {
  if (bits >= 8) return;
  posterize(image, std::max(bits, 0));
}

// ---- TrivialAugmentWide ------------------------------------------------------------

// torch.linspace(start, end, 31) in float32. Its CPU kernel computes start + step * i
// for the first half and end - step * (steps - 1 - i) for the second, and torch builds
// that kernel with FMA on x86-64 (AVX2 / AVX-512 dispatch) and aarch64: one rounding
// per value, not two. (On a CPU without FMA torch's own table differs in a few last bits.)
float linspace(float start, float end, int bin) {
  constexpr int steps = kTrivialAugmentBins;
  const float step = (end - start) / static_cast<float>(steps - 1);
  if (bin < steps / 2) return std::fma(step, static_cast<float>(bin), start);
  return std::fma(-step, static_cast<float>(steps - bin - 1), end);
}

// CPython's math.degrees.
double degrees(double radians) { return radians * (180.0 / std::numbers::pi); }

// F.affine(image, angle=0, translate, scale=1, shear, NEAREST, fill, center) on a PIL image.
void torchvision_affine(Image& image, std::array<double, 2> center, std::array<double, 2> shift,
                        std::array<double, 2> shear, std::span<const uint8_t> fill) {
  affine_transform(image, torchvision_inverse_affine(center, 0.0, shift, 1.0, shear), Interpolation::Nearest, fill);
}

// ---- the RandAugment string ----------------------------------------------------------

[[noreturn]] void bad_section(const std::string& spec, const std::string& key, const std::string& section,
                              const std::string& why) {
  throw Error(key, "RandAugment string '" + spec + "': section '" + section + "' " + why);
}

int parse_int(const std::string& spec, const std::string& key, const std::string& section, std::string_view value) {
  int out = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), out);
  if (ec != std::errc() || end != value.data() + value.size()) {
    bad_section(spec, key, section, "needs a whole number, not '" + std::string(value) + "'");
  }
  return out;
}

double parse_float(const std::string& spec, const std::string& key, const std::string& section,
                   std::string_view value) {
  double out = 0.0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), out);
  if (ec != std::errc() || end != value.data() + value.size() || !std::isfinite(out)) {
    bad_section(spec, key, section, "needs a number, not '" + std::string(value) + "'");
  }
  return out;
}

}  // namespace

std::string_view rand_augment_op_name(RandAugmentOp op) {
  switch (op) {
    case RandAugmentOp::AutoContrast: return "AutoContrast";
    case RandAugmentOp::Equalize: return "Equalize";
    case RandAugmentOp::Invert: return "Invert";
    case RandAugmentOp::Rotate: return "Rotate";
    case RandAugmentOp::Posterize: return "Posterize";
    case RandAugmentOp::PosterizeIncreasing: return "PosterizeIncreasing";
    case RandAugmentOp::Solarize: return "Solarize";
    case RandAugmentOp::SolarizeIncreasing: return "SolarizeIncreasing";
    case RandAugmentOp::SolarizeAdd: return "SolarizeAdd";
    case RandAugmentOp::Color: return "Color";
    case RandAugmentOp::ColorIncreasing: return "ColorIncreasing";
    case RandAugmentOp::Contrast: return "Contrast";
    case RandAugmentOp::ContrastIncreasing: return "ContrastIncreasing";
    case RandAugmentOp::Brightness: return "Brightness";
    case RandAugmentOp::BrightnessIncreasing: return "BrightnessIncreasing";
    case RandAugmentOp::Sharpness: return "Sharpness";
    case RandAugmentOp::SharpnessIncreasing: return "SharpnessIncreasing";
    case RandAugmentOp::ShearX: return "ShearX";
    case RandAugmentOp::ShearY: return "ShearY";
    case RandAugmentOp::TranslateXRel: return "TranslateXRel";
    case RandAugmentOp::TranslateYRel: return "TranslateYRel";
  }
  return "?";
}

std::span<const RandAugmentOp> rand_augment_op_set(bool increasing) {
  return increasing ? std::span<const RandAugmentOp>(kRandIncreasingOps) : std::span<const RandAugmentOp>(kRandOps);
}

bool rand_augment_op_signed(RandAugmentOp op) {
  switch (op) {
    case RandAugmentOp::Rotate:
    case RandAugmentOp::ColorIncreasing:
    case RandAugmentOp::ContrastIncreasing:
    case RandAugmentOp::BrightnessIncreasing:
    case RandAugmentOp::SharpnessIncreasing:
    case RandAugmentOp::ShearX:
    case RandAugmentOp::ShearY:
    case RandAugmentOp::TranslateXRel:
    case RandAugmentOp::TranslateYRel: return true;
    default: return false;
  }
}

bool rand_augment_op_geometric(RandAugmentOp op) {
  return op == RandAugmentOp::Rotate || op == RandAugmentOp::ShearX || op == RandAugmentOp::ShearY ||
         op == RandAugmentOp::TranslateXRel || op == RandAugmentOp::TranslateYRel;
}

void apply_rand_augment_op(Image& image, RandAugmentOp op, double level, bool negate, Interpolation interpolation,
                           std::span<const uint8_t> fill) {
  switch (op) {
    case RandAugmentOp::AutoContrast: return auto_contrast(image);
    case RandAugmentOp::Equalize: return equalize(image);
    case RandAugmentOp::Invert: return invert(image);
    case RandAugmentOp::Rotate: return rotate(image, signed_level(level, 30.0, negate), interpolation, fill);
    case RandAugmentOp::Posterize: return posterize_clamped(image, posterize_level(level));
    case RandAugmentOp::PosterizeIncreasing: return posterize_clamped(image, 4 - posterize_level(level));
    case RandAugmentOp::Solarize: return solarize(image, solarize_level(level));
    case RandAugmentOp::SolarizeIncreasing: return solarize(image, 256 - solarize_level(level));
    case RandAugmentOp::SolarizeAdd:
      return solarize_add(image, std::min(128, static_cast<int>((level / kLevelDenom) * 110)), 128);
    case RandAugmentOp::Color: return enhance_color(image, enhance_level(level));
    case RandAugmentOp::ColorIncreasing: return enhance_color(image, enhance_increasing_level(level, negate));
    case RandAugmentOp::Contrast: return enhance_contrast(image, enhance_level(level));
    case RandAugmentOp::ContrastIncreasing: return enhance_contrast(image, enhance_increasing_level(level, negate));
    case RandAugmentOp::Brightness: return enhance_brightness(image, enhance_level(level));
    case RandAugmentOp::BrightnessIncreasing: return enhance_brightness(image, enhance_increasing_level(level, negate));
    case RandAugmentOp::Sharpness: return enhance_sharpness(image, enhance_level(level));
    case RandAugmentOp::SharpnessIncreasing: return enhance_sharpness(image, enhance_increasing_level(level, negate));
    case RandAugmentOp::ShearX: return shear_x(image, signed_level(level, 0.3, negate), interpolation, fill);
    case RandAugmentOp::ShearY: return shear_y(image, signed_level(level, 0.3, negate), interpolation, fill);
    // timm's translate_x_rel: the map (1, 0, pct * width, ...) moves the content left.
    case RandAugmentOp::TranslateXRel: {
      const double pixels = signed_level(level, 0.45, negate) * static_cast<double>(image.width);
      return translate(image, -pixels, 0.0, interpolation, fill);
    }
    case RandAugmentOp::TranslateYRel: {
      const double pixels = signed_level(level, 0.45, negate) * static_cast<double>(image.height);
      return translate(image, 0.0, -pixels, interpolation, fill);
    }
  }
}

RandAugmentSettings parse_rand_augment(const std::string& spec, const std::string& key) {
  RandAugmentSettings settings;
  std::vector<std::string> sections;
  size_t begin = 0;
  while (true) {
    const size_t dash = spec.find('-', begin);
    sections.push_back(spec.substr(begin, dash == std::string::npos ? std::string::npos : dash - begin));
    if (dash == std::string::npos) break;
    begin = dash + 1;
  }
  if (sections.front() != "rand") {
    throw Error(key, "RandAugment string '" + spec + "' must start with 'rand', not '" + sections.front() + "'");
  }
  for (size_t i = 1; i < sections.size(); ++i) {
    const std::string& section = sections[i];
    if (section.empty())
      throw Error(key, "RandAugment string '" + spec + "' has an empty section ('--' or a trailing '-')");
    if (section[0] == 't') {
      bad_section(spec, key, section,
                  "names one of timm's weighted op sets ('t...'), which Tessera does not implement");
    }
    // timm's re.split(r'(\d.*)'): the name is what precedes the first digit.
    const size_t digit = section.find_first_of("0123456789");
    const std::string name = section.substr(0, digit);
    const std::string_view value =
        digit == std::string::npos ? std::string_view() : std::string_view(section).substr(digit);
    const bool known = name == "m" || name == "n" || name == "mstd" || name == "mmax" || name == "inc" || name == "p";
    if (!known)
      bad_section(spec, key, section, "is unknown (known: m<int>, n<int>, mstd<float>, mmax<int>, inc<0|1>, p<float>)");
    if (value.empty()) bad_section(spec, key, section, "has no value");
    if (name == "m") {
      settings.magnitude = parse_int(spec, key, section, value);
    } else if (name == "n") {
      settings.num_ops = parse_int(spec, key, section, value);
    } else if (name == "mstd") {
      const double mstd = parse_float(spec, key, section, value);
      settings.magnitude_std = mstd > 100.0 ? std::numeric_limits<double>::infinity() : mstd;
    } else if (name == "mmax") {
      const int mmax = parse_int(spec, key, section, value);
      settings.magnitude_max = mmax == 0 ? kLevelDenom : mmax;  // timm: `magnitude_max or _LEVEL_DENOM`
    } else if (name == "inc") {
      const int inc = parse_int(spec, key, section, value);
      if (inc != 0 && inc != 1) bad_section(spec, key, section, "must be inc0 or inc1");
      settings.increasing = inc == 1;
    } else {
      settings.prob = parse_float(spec, key, section, value);
      if (settings.prob < 0.0 || settings.prob > 1.0) bad_section(spec, key, section, "needs a probability in [0, 1]");
    }
  }
  return settings;
}

double draw_rand_augment_level(const RandAugmentSettings& settings, SampleRng& rng) {
  double level = settings.magnitude;
  if (std::isinf(settings.magnitude_std)) {
    level = rng.uniform() * level;  // random.uniform(0, m)
  } else if (settings.magnitude_std > 0.0) {
    // random.gauss(m, mstd) in distribution (Box-Muller).
    const double u1 = rng.uniform();
    const double u2 = rng.uniform();
    level += settings.magnitude_std * std::sqrt(-2.0 * std::log(1.0 - u1)) * std::cos(2.0 * std::numbers::pi * u2);
  }
  return std::max(0.0, std::min(level, settings.magnitude_max));
}

std::string_view trivial_augment_op_name(TrivialAugmentOp op) {
  switch (op) {
    case TrivialAugmentOp::Identity: return "Identity";
    case TrivialAugmentOp::ShearX: return "ShearX";
    case TrivialAugmentOp::ShearY: return "ShearY";
    case TrivialAugmentOp::TranslateX: return "TranslateX";
    case TrivialAugmentOp::TranslateY: return "TranslateY";
    case TrivialAugmentOp::Rotate: return "Rotate";
    case TrivialAugmentOp::Brightness: return "Brightness";
    case TrivialAugmentOp::Color: return "Color";
    case TrivialAugmentOp::Contrast: return "Contrast";
    case TrivialAugmentOp::Sharpness: return "Sharpness";
    case TrivialAugmentOp::Posterize: return "Posterize";
    case TrivialAugmentOp::Solarize: return "Solarize";
    case TrivialAugmentOp::AutoContrast: return "AutoContrast";
    case TrivialAugmentOp::Equalize: return "Equalize";
  }
  return "?";
}

bool trivial_augment_op_has_magnitude(TrivialAugmentOp op) {
  return op != TrivialAugmentOp::Identity && op != TrivialAugmentOp::AutoContrast && op != TrivialAugmentOp::Equalize;
}

bool trivial_augment_op_signed(TrivialAugmentOp op) {
  return trivial_augment_op_has_magnitude(op) && op != TrivialAugmentOp::Posterize && op != TrivialAugmentOp::Solarize;
}

double trivial_augment_magnitude(TrivialAugmentOp op, int bin) {
  TORCH_CHECK(bin >= 0 && bin < kTrivialAugmentBins, "trivial_augment_magnitude: bin ", bin, " is not in [0, 31)");
  switch (op) {
    case TrivialAugmentOp::ShearX:
    case TrivialAugmentOp::ShearY:
    case TrivialAugmentOp::Brightness:
    case TrivialAugmentOp::Color:
    case TrivialAugmentOp::Contrast:
    case TrivialAugmentOp::Sharpness: return linspace(0.0f, 0.99f, bin);
    case TrivialAugmentOp::TranslateX:
    case TrivialAugmentOp::TranslateY: return linspace(0.0f, 32.0f, bin);
    case TrivialAugmentOp::Rotate: return linspace(0.0f, 135.0f, bin);
    case TrivialAugmentOp::Posterize:
      // (8 - arange(31) / ((31 - 1) / 6)).round().int(), in float32
      return std::nearbyint(8.0f - static_cast<float>(bin) / 5.0f);  // no ties: bin / 5 is never x.5
    case TrivialAugmentOp::Solarize: return linspace(1.0f, 0.0f, bin);
    default: return 0.0;
  }
}

void apply_trivial_augment_op(Image& image, TrivialAugmentOp op, int bin, bool negate, std::span<const uint8_t> fill) {
  double magnitude = trivial_augment_op_has_magnitude(op) ? trivial_augment_magnitude(op, bin) : 0.0;
  if (negate && trivial_augment_op_signed(op)) magnitude = -magnitude;
  const std::array<double, 2> centre{static_cast<double>(image.width) * 0.5, static_cast<double>(image.height) * 0.5};
  switch (op) {
    case TrivialAugmentOp::Identity: return;
    // torchvision shears by atan(magnitude) degrees about the top-left corner, so the
    // map is (1, tan(atan(m)), 0, ...), timm's (1, m, 0, ...) up to rounding.
    case TrivialAugmentOp::ShearX:
      return torchvision_affine(image, {0.0, 0.0}, {0.0, 0.0}, {degrees(std::atan(magnitude)), 0.0}, fill);
    case TrivialAugmentOp::ShearY:
      return torchvision_affine(image, {0.0, 0.0}, {0.0, 0.0}, {0.0, degrees(std::atan(magnitude))}, fill);
    case TrivialAugmentOp::TranslateX:  // translate=[int(magnitude), 0]
      return torchvision_affine(image, centre, {std::trunc(magnitude), 0.0}, {0.0, 0.0}, fill);
    case TrivialAugmentOp::TranslateY:
      return torchvision_affine(image, centre, {0.0, std::trunc(magnitude)}, {0.0, 0.0}, fill);
    case TrivialAugmentOp::Rotate: return rotate(image, magnitude, Interpolation::Nearest, fill);
    case TrivialAugmentOp::Brightness: return enhance_brightness(image, 1.0 + magnitude);
    case TrivialAugmentOp::Color: return enhance_color(image, 1.0 + magnitude);
    case TrivialAugmentOp::Contrast: return enhance_contrast(image, 1.0 + magnitude);
    case TrivialAugmentOp::Sharpness: return enhance_sharpness(image, 1.0 + magnitude);
    case TrivialAugmentOp::Posterize: return posterize(image, static_cast<int>(magnitude));
    case TrivialAugmentOp::Solarize: return solarize(image, 255.0 * magnitude);
    case TrivialAugmentOp::AutoContrast: return auto_contrast(image);
    case TrivialAugmentOp::Equalize: return equalize(image);
  }
}

}  // namespace tessera::data
