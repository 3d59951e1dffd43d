// The geometric ops of the auto-augment policies on uint8 images, as PIL's
// Image.transform(size, AFFINE, ...) and Image.rotate run them: what timm's RandAugment
// calls, and what torchvision's F.affine / F.rotate call on PIL images. The output has
// the input's size; pixels that map outside the input take a fill colour.
//
// Conventions (PIL's): pixel (x, y) covers [x, x + 1) x [y, y + 1), so its centre is
// (x + 0.5, y + 0.5); rotations turn about (width / 2, height / 2). Sampling:
//   nearest:  Pillow's fast paths (16.16 fixed point for a general map), floor of the
//             mapped centre;
//   bilinear: 2x2 taps around the mapped centre, edges clamped, truncated to uint8;
//   bicubic:  PIL's 4x4 cubic (the a = -1 kernel of its transform filter), edges
//             clamped, clamped to [0, 255] and truncated.
// A point maps outside (and takes the fill) when its coordinate is < 0 or >= the size.
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "tessera/data/image.h"
#include "tessera/data/transform_spec.h"

namespace tessera::data {

// PIL's affine `data`: the output pixel centre (x + 0.5, y + 0.5) reads the input at
// (a[0] (x + 0.5) + a[1] (y + 0.5) + a[2],  a[3] (x + 0.5) + a[4] (y + 0.5) + a[5]).
using AffineCoefficients = std::array<double, 6>;

// `fill` holds one value per channel of the image, or one value for all channels.
void affine_transform(Image& image, const AffineCoefficients& inverse, Interpolation interpolation,
                      std::span<const uint8_t> fill);

// Image.rotate(degrees, resample, fillcolor=fill): counter-clockwise about the centre,
// the matrix entries rounded to 15 decimals as PIL does; a multiple of 360 is a no-op.
void rotate(Image& image, double degrees, Interpolation interpolation, std::span<const uint8_t> fill);

// timm's shear_x / shear_y: the maps (1, factor, 0, 0, 1, 0) and (1, 0, 0, factor, 1, 0),
// sheared about the top-left corner.
void shear_x(Image& image, double factor, Interpolation interpolation, std::span<const uint8_t> fill);
void shear_y(Image& image, double factor, Interpolation interpolation, std::span<const uint8_t> fill);

// Moves the content by (dx, dy) pixels (positive: right / down), torchvision's
// translate convention; timm's translate_x(pixels) is translate(-pixels, 0).
void translate(Image& image, double dx, double dy, Interpolation interpolation, std::span<const uint8_t> fill);

// torchvision.transforms.v2.functional's _get_inverse_affine_matrix: the PIL
// coefficients of F.affine(angle, translate, scale, shear (degrees), center), computed
// with its exact expressions. F.affine's default center is (width / 2, height / 2).
AffineCoefficients torchvision_inverse_affine(std::array<double, 2> center, double angle,
                                              std::array<double, 2> translate, double scale,
                                              std::array<double, 2> shear);

}  // namespace tessera::data
