// Where the crops of the per-sample pipeline land and what size resizes produce:
// torchvision's RandomResizedCrop.get_params, CenterCrop's anchor, Resize(int)'s output
// size and timm's eval resize (crop_pct). Python's round() is round-half-even; so is
// every rounding here.
#pragma once

#include <array>
#include <cstdint>

#include "tessera/data/resize.h"
#include "tessera/data/sample_rng.h"
#include "tessera/data/transform_spec.h"

namespace tessera::data {

// RandomResizedCrop.get_params on a height x width image: up to 10 tries of a box of
// area share U(scale) and aspect exp(U(log ratio)), w = round(sqrt(area * aspect)),
// h = round(sqrt(area / aspect)), kept when 0 < w <= width and 0 < h <= height and
// placed uniformly (top in [0, height - h], left in [0, width - w]); else the largest
// centred box with an aspect inside `ratio`. Draws two uniforms per try, then top and
// left.
CropBox random_resized_crop_box(int64_t height, int64_t width, const RandomResizedCropSpec& spec, SampleRng& rng);

// CenterCrop(out_h, out_w) on a height x width image: top = round((height - out_h) / 2)
// (left likewise). Where the crop is larger than the image, torchvision pads with zeros
// first (floor half of the excess before), so top/left are negative and the box reaches
// outside the image: those pixels read 0.
CropBox center_crop_box(int64_t height, int64_t width, int64_t out_h, int64_t out_w);

// Resize(size) with an int: the shorter side becomes `size`, the longer
// int(size * long / short) (truncated). {height, width}.
std::array<int64_t, 2> shorter_side_size(int64_t height, int64_t width, int64_t size);

// timm's eval resize before CenterCrop(out_h, out_w): scale = floor(out / crop_pct) per
// side; a square target resizes the shorter side to it (shorter_side_size), a non-square
// one keeps the aspect ratio with the smaller of the two factors (timm's ResizeKeepRatio:
// round(side / min(height / scale_h, width / scale_w))). {height, width}.
std::array<int64_t, 2> eval_resize_size(int64_t height, int64_t width, int64_t out_h, int64_t out_w, double crop_pct);

}  // namespace tessera::data
