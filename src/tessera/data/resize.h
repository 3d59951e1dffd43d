// Resampling uint8 images: torchvision's F.resize / F.resized_crop on uint8 tensors
// with antialias=True, i.e. PIL's separable filters whose support widens with the
// downscale factor (bilinear: triangle, bicubic: Keys a = -0.5), and 'nearest'.
#pragma once

#include <cstdint>

#include "tessera/data/image.h"
#include "tessera/data/transform_spec.h"

namespace tessera::data {

// A window of an image in pixels: torchvision's (top, left, height, width) = (i, j, h, w).
struct CropBox {
  int64_t top = 0;
  int64_t left = 0;
  int64_t height = 0;
  int64_t width = 0;

  bool operator==(const CropBox&) const = default;
};

// F.resized_crop(src, box, [out_h, out_w], interpolation, antialias=True): the box
// (which must lie inside `src`) resized to out_h x out_w, into `dst` (same channel
// count; its buffer is reused). Bilinear and bicubic run a horizontal then a vertical
// pass with half-pixel centres and taps normalized to sum 1, in 16-bit fixed point as
// torch's uint8 kernel (after Pillow-SIMD) does: weights with the most fraction bits
// that fit, sums in int32, each pass rounded to the nearest uint8 and clamped. The
// results are torch's bit for bit, and the same on every machine. An axis whose length does not
// change is copied, not filtered (torchvision skips it too). Nearest reads source
// index floor(dst * in / out) (torch's 'nearest', float32 scale).
void resized_crop(const Image& src, const CropBox& box, int64_t out_h, int64_t out_w, Interpolation interpolation,
                  Image& dst);

// F.resize(src, [out_h, out_w], interpolation, antialias=True).
void resize(const Image& src, int64_t out_h, int64_t out_w, Interpolation interpolation, Image& dst);

// The pixels of `window` (a box inside the out_h x out_w result) of resized_crop(src,
// box, out_h, out_w): exactly those pixels of the full result, at the cost of the
// window only. A resize followed by a center crop computes just what the crop keeps.
void resized_crop_window(const Image& src, const CropBox& box, int64_t out_h, int64_t out_w, const CropBox& window,
                         Interpolation interpolation, Image& dst);

}  // namespace tessera::data
