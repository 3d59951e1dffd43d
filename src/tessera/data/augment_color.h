// The colour ops of the auto-augment policies on uint8 images, with PIL's semantics
// (ImageOps and ImageEnhance): what timm's RandAugment runs, and what torchvision's
// TrivialAugmentWide runs on PIL images (its F.adjust_* / F.posterize / ... call PIL).
// Each changes the image in place, works on 1- and 3-channel images (a 1-channel image
// is PIL's mode 'L', 3 channels 'RGB') and agrees with PIL bit for bit.
#pragma once

#include <cstdint>

#include "tessera/data/image.h"

namespace tessera::data {

// PIL's RGB → L of one pixel: ITU-R 601-2 luma in 16-bit fixed point, rounded.
constexpr uint8_t pil_luma(uint8_t r, uint8_t g, uint8_t b) {
  return static_cast<uint8_t>((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16);
}

// ImageOps.autocontrast(image): per channel, the range [min, max] stretched to
// [0, 255] (int(v * scale + offset), truncated); a constant channel is left alone.
void auto_contrast(Image& image);

// ImageOps.equalize(image): per channel, PIL's histogram equalization table.
void equalize(Image& image);

// ImageOps.invert(image): 255 - v.
void invert(Image& image);

// ImageOps.posterize(image, bits): keeps the `bits` (0..8) high bits of each value.
// Recent Pillows (13 in the tests) reject bits = 0, which timm's RandAugment asks for at
// full magnitude (an exception there); this returns the black image older Pillows gave.
void posterize(Image& image, int bits);

// ImageOps.solarize(image, threshold): v >= threshold becomes 255 - v.
void solarize(Image& image, double threshold);

// timm's solarize_add: v < threshold becomes min(255, v + add).
void solarize_add(Image& image, int add, int threshold = 128);

// ImageEnhance.<X>(image).enhance(factor): Image.blend(degenerate, image, factor), i.e.
// degenerate + factor * (image - degenerate) in float, truncated (clamped when factor is
// outside [0, 1]). The degenerate image is
//   color:      the grayscale image (pil_luma); a 1-channel image is unchanged
//   contrast:   a flat image at the rounded mean of the grayscale image
//   brightness: black
//   sharpness:  PIL's SMOOTH filter (3x3, weights 1 1 1 / 1 5 1 / 1 1 1 over 13) with the
//               one-pixel border copied; images under 3x3 are unchanged
void enhance_color(Image& image, double factor);
void enhance_contrast(Image& image, double factor);
void enhance_brightness(Image& image, double factor);
void enhance_sharpness(Image& image, double factor);

}  // namespace tessera::data
