// The op tables of the two auto-augment policies: timm's RandAugment (Cubuk et al.,
// 2020, as timm's auto_augment.py has it) and torchvision's TrivialAugmentWide (Müller
// & Hutter, 2021): which ops each draws from, how a magnitude becomes an op's
// argument, and the settings in timm's RandAugment string. auto_augment.cpp draws from
// these per sample; the pixel work is in augment_color.h and augment_geometry.h.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "tessera/data/image.h"
#include "tessera/data/sample_rng.h"
#include "tessera/data/transform_spec.h"

namespace tessera::data {

// ---- timm's RandAugment ------------------------------------------------------------

// timm's op names (auto_augment.py's NAME_TO_OP / LEVEL_TO_ARG) that its 'rand' sets use.
enum class RandAugmentOp {
  AutoContrast,
  Equalize,
  Invert,
  Rotate,
  Posterize,
  PosterizeIncreasing,
  Solarize,
  SolarizeIncreasing,
  SolarizeAdd,
  Color,
  ColorIncreasing,
  Contrast,
  ContrastIncreasing,
  Brightness,
  BrightnessIncreasing,
  Sharpness,
  SharpnessIncreasing,
  ShearX,
  ShearY,
  TranslateXRel,
  TranslateYRel,
};

std::string_view rand_augment_op_name(RandAugmentOp op);  // timm's spelling

// timm's _RAND_TRANSFORMS, or _RAND_INCREASING_TRANSFORMS when `increasing` (15 ops each).
std::span<const RandAugmentOp> rand_augment_op_set(bool increasing);

// Whether timm's level function draws a random sign (rotate, shear, translate and the
// *Increasing enhance ops), and whether the op resamples (timm then picks bilinear or
// bicubic at random).
bool rand_augment_op_signed(RandAugmentOp op);
bool rand_augment_op_geometric(RandAugmentOp op);

// timm's AugmentOp after its draws: the level function at `level` (the magnitude,
// already noised and clipped; level / 10 scales each op's range), `negate` = the random
// sign (unused by unsigned ops), `interpolation` for geometric ops, `fill` per channel
// or one for all.
// Posterize levels past the 0..8 bits PIL accepts are clamped: 0 bits is black, 8 is the image.
void apply_rand_augment_op(Image& image, RandAugmentOp op, double level, bool negate, Interpolation interpolation,
                           std::span<const uint8_t> fill);

// The settings of timm's RandAugment string ("rand-m9-n2-mstd0.5-mmax10-inc1-p0.5").
struct RandAugmentSettings {
  int magnitude = 10;           // 'm': the level on timm's 0..10 scale (_LEVEL_DENOM = 10)
  int num_ops = 2;              // 'n': ops drawn per image, with replacement, uniformly
  double magnitude_std = 0.0;   // 'mstd': each op's level ~ Normal(m, mstd); infinity (mstd > 100) = Uniform(0, m)
  double magnitude_max = 10.0;  // 'mmax': the noised level is clipped to [0, mmax] (mmax0 means 10, as in timm)
  bool increasing = false;      // 'inc1': the increasing-severity op set
  double prob = 0.5;            // 'p': the probability of applying each drawn op
};

// Parses a "rand-..." string; sections after 'rand' in any order. Throws
// tessera::Error(key, ...) naming the section that is unknown or has a bad value.
RandAugmentSettings parse_rand_augment(const std::string& spec, const std::string& key);

// One op's level, as timm's AugmentOp draws it: the magnitude, or Normal(magnitude,
// magnitude_std) (Uniform(0, magnitude) when magnitude_std is infinite), clipped to
// [0, magnitude_max]. Draws nothing when magnitude_std is 0.
double draw_rand_augment_level(const RandAugmentSettings& settings, SampleRng& rng);

// ---- torchvision's TrivialAugmentWide ----------------------------------------------
//
// As torchvision runs it on PIL images (the default backend of its classification
// references): PIL's enhance ops and resampling. On uint8 tensors torchvision's enhance
// ops differ by one grey level, and its solarize and nearest rotations at ties
// (tests/unit/augment_ops_test.cpp measures it). torchvision's default fill is 0; the
// policy takes the fill it is given.

// Its op set, in the order of torchvision's _AUGMENTATION_SPACE (v2; no Invert).
enum class TrivialAugmentOp {
  Identity,
  ShearX,
  ShearY,
  TranslateX,
  TranslateY,
  Rotate,
  Brightness,
  Color,
  Contrast,
  Sharpness,
  Posterize,
  Solarize,
  AutoContrast,
  Equalize,
};
inline constexpr int kTrivialAugmentOps = 14;
inline constexpr int kTrivialAugmentBins = 31;  // num_magnitude_bins

std::string_view trivial_augment_op_name(TrivialAugmentOp op);  // torchvision's spelling
bool trivial_augment_op_has_magnitude(TrivialAugmentOp op);     // draws a bin
bool trivial_augment_op_signed(TrivialAugmentOp op);            // draws a sign

// The magnitude of `op` at `bin` in [0, 31), as torchvision's float32 tables hold it:
// shear, brightness, color, contrast, sharpness linspace(0, 0.99); translate
// linspace(0, 32) pixels; rotate linspace(0, 135) degrees; posterize 8 - round(bin / 5)
// bits; solarize linspace(1, 0) (× 255 is the threshold). 0 for ops without magnitude.
double trivial_augment_magnitude(TrivialAugmentOp op, int bin);

// torchvision's _apply_image_or_video_transform at ±magnitude(bin) (negated when
// `negate` and the op is signed) with nearest interpolation, on a PIL-semantics image.
void apply_trivial_augment_op(Image& image, TrivialAugmentOp op, int bin, bool negate, std::span<const uint8_t> fill);

}  // namespace tessera::data
