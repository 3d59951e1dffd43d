// PIL's affine resampling (libImaging/Geometry.c) on channel-planar uint8 images: the
// same coordinate arithmetic in the same order, so the sampled pixels and the
// truncated values agree with PIL exactly (without fused multiply-adds, as the default
// x86-64 flags compile it).
#include "tessera/data/augment_geometry.h"

#include <c10/util/Exception.h>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <vector>

namespace tessera::data {
namespace {

// CPython's math.radians: x * (pi / 180).
double radians(double degrees) { return degrees * (std::numbers::pi / 180.0); }

// CPython's float `%`: the result takes the divisor's sign.
double python_mod(double x, double m) {
  double r = std::fmod(x, m);
  if (r != 0.0) {
    if ((m < 0) != (r < 0)) r += m;
  } else {
    r = std::copysign(0.0, m);
  }
  return r;
}

// CPython's round(x, 15): the correctly rounded 15-decimal string read back.
double python_round15(double x) {
  char buffer[64];
  const auto written = std::to_chars(buffer, buffer + sizeof(buffer), x, std::chars_format::fixed, 15);
  double rounded = x;
  std::from_chars(buffer, written.ptr, rounded);
  return rounded;
}

// Pillow's FLOOR and COORD macros.
inline int64_t pil_floor(double v) { return v < 0.0 ? static_cast<int64_t>(std::floor(v)) : static_cast<int64_t>(v); }
inline int64_t pil_coord(double v) { return v < 0.0 ? -1 : static_cast<int64_t>(v); }
inline int64_t clip(int64_t v, int64_t size) { return v < 0 ? 0 : v < size ? v : size - 1; }

struct Source {
  const uint8_t* pixels;
  int64_t channels, height, width;
  const uint8_t* plane(int64_t c) const { return pixels + c * height * width; }
};

// The output's pixel i reads the source's pixel index[i], or takes the fill when -1
// (planes hold fewer than 2^31 pixels: affine_transform checks).
void gather(const Source& src, const int32_t* index, std::span<const uint8_t> fill, Image& out) {
  const int64_t n = out.plane_size();
  for (int64_t c = 0; c < out.channels; ++c) {
    const uint8_t* in = src.plane(c);
    uint8_t* o = out.plane(c);
    const uint8_t f = fill[fill.size() == 1 ? 0 : c];
    for (int64_t i = 0; i < n; ++i) o[i] = index[i] < 0 ? f : in[index[i]];
  }
}

// Nearest for maps without rotation or shear (ImagingScaleAffine): positions stepped
// along each axis in double.
void nearest_axis_aligned(const Source& src, const AffineCoefficients& a, int32_t* index) {
  const int64_t h = src.height, w = src.width;
  thread_local std::vector<int64_t> columns;
  columns.resize(static_cast<size_t>(w));
  int64_t* column = columns.data();
  double xo = a[2] + a[0] * 0.5;
  for (int64_t x = 0; x < w; ++x) {
    const int64_t xin = pil_coord(xo);
    column[x] = xin >= 0 && xin < w ? xin : -1;
    xo += a[0];
  }
  double yo = a[5] + a[4] * 0.5;
  for (int64_t y = 0; y < h; ++y) {
    const int64_t yin = pil_coord(yo);
    const bool row_inside = yin >= 0 && yin < h;
    for (int64_t x = 0; x < w; ++x) {
      index[y * w + x] = row_inside && column[x] >= 0 ? static_cast<int32_t>(yin * w + column[x]) : -1;
    }
    yo += a[4];
  }
}

// Pillow's check that a map stays within what 16.16 fixed point holds.
bool fits_fixed_point(const AffineCoefficients& a, int64_t x, int64_t y) {
  return std::fabs(x * a[0] + y * a[1] + a[2]) < 32768.0 && std::fabs(x * a[3] + y * a[4] + a[5]) < 32768.0;
}

// Nearest for a general map (affine_fixed): coordinates stepped in 16.16 fixed point.
void nearest_fixed_point(const Source& src, const AffineCoefficients& a, int32_t* index) {
  const int64_t h = src.height, w = src.width;
  const auto fix = [](double v) { return pil_floor(v * 65536.0 + 0.5); };
  const int64_t a0 = fix(a[0]), a1 = fix(a[1]), a3 = fix(a[3]), a4 = fix(a[4]);
  int64_t a2 = fix(a[2] + a[0] * 0.5 + a[1] * 0.5);
  int64_t a5 = fix(a[5] + a[3] * 0.5 + a[4] * 0.5);
  for (int64_t y = 0; y < h; ++y) {
    int64_t xx = a2, yy = a5;
    for (int64_t x = 0; x < w; ++x) {
      const int64_t xin = xx >> 16, yin = yy >> 16;
      index[y * w + x] = xin >= 0 && xin < w && yin >= 0 && yin < h ? static_cast<int32_t>(yin * w + xin) : -1;
      xx += a0;
      yy += a3;
    }
    a2 += a1;
    a5 += a4;
  }
}

// Nearest for a map too large for fixed point: the same stepping in double.
void nearest_stepped(const Source& src, const AffineCoefficients& a, int32_t* index) {
  const int64_t h = src.height, w = src.width;
  double xo = a[2] + a[1] * 0.5 + a[0] * 0.5;
  double yo = a[5] + a[4] * 0.5 + a[3] * 0.5;
  for (int64_t y = 0; y < h; ++y) {
    double xx = xo, yy = yo;
    for (int64_t x = 0; x < w; ++x) {
      const int64_t xin = pil_coord(xx), yin = pil_coord(yy);
      index[y * w + x] = xin >= 0 && xin < w && yin >= 0 && yin < h ? static_cast<int32_t>(yin * w + xin) : -1;
      xx += a[0];
      yy += a[3];
    }
    xo += a[1];
    yo += a[4];
  }
}

void nearest(const Source& src, const AffineCoefficients& a, std::span<const uint8_t> fill, Image& out) {
  thread_local std::vector<int32_t> indices;
  indices.resize(static_cast<size_t>(out.plane_size()));
  int32_t* index = indices.data();
  const int64_t h = src.height, w = src.width;
  if (a[1] == 0 && a[3] == 0) {
    nearest_axis_aligned(src, a, index);
  } else if (fits_fixed_point(a, 0, 0) && fits_fixed_point(a, w, h) && fits_fixed_point(a, 0, h) &&
             fits_fixed_point(a, w, 0)) {
    nearest_fixed_point(src, a, index);
  } else {
    nearest_stepped(src, a, index);
  }
  gather(src, index, fill, out);
}

// Pillow's generic engine (ImagingGenericTransform with affine_transform): each output
// pixel centre (x + 0.5, y + 0.5) is mapped; a centre outside [0, w) x [0, h) takes the
// fill, any other is handed to `sample(xs, ys, o)` in sample coordinates (the mapped
// point - 0.5, where pixel i's centre is i), which writes every channel of output pixel o.
template <typename Sample>
void resample(const Source& src, const AffineCoefficients& a, std::span<const uint8_t> fill, Image& out,
              Sample&& sample) {
  const int64_t h = src.height, w = src.width;
  for (int64_t y = 0; y < h; ++y) {
    const double yc = static_cast<double>(y) + 0.5;
    for (int64_t x = 0; x < w; ++x) {
      const double xc = static_cast<double>(x) + 0.5;
      const double xin = a[0] * xc + a[1] * yc + a[2];
      const double yin = a[3] * xc + a[4] * yc + a[5];
      const int64_t o = y * w + x;
      if (xin < 0.0 || xin >= static_cast<double>(w) || yin < 0.0 || yin >= static_cast<double>(h)) {
        for (int64_t c = 0; c < out.channels; ++c) out.plane(c)[o] = fill[fill.size() == 1 ? 0 : c];
      } else {
        sample(xin - 0.5, yin - 0.5, o);
      }
    }
  }
}

// bilinear_filter8 / bilinear_filter32RGB: 2x2 taps, edges clamped, truncated.
void bilinear(const Source& src, const AffineCoefficients& a, std::span<const uint8_t> fill, Image& out) {
  const int64_t h = src.height, w = src.width;
  resample(src, a, fill, out, [&](double xs, double ys, int64_t o) {
    const int64_t xi = pil_floor(xs), yi = pil_floor(ys);
    const double dx = xs - static_cast<double>(xi), dy = ys - static_cast<double>(yi);
    const int64_t row0 = clip(yi, h) * w;
    const bool has_row1 = yi + 1 >= 0 && yi + 1 < h;
    const int64_t row1 = (yi + 1) * w;
    const int64_t x0 = clip(xi, w), x1 = clip(xi + 1, w);
    for (int64_t c = 0; c < out.channels; ++c) {
      const uint8_t* in = src.plane(c);
      double v1 = in[row0 + x0] + (in[row0 + x1] - in[row0 + x0]) * dx;
      const double v2 = has_row1 ? in[row1 + x0] + (in[row1 + x1] - in[row1 + x0]) * dx : v1;
      v1 = v1 + (v2 - v1) * dy;
      out.plane(c)[o] = static_cast<uint8_t>(v1);
    }
  });
}

// Pillow's BICUBIC macro: the cubic through four samples at offset d in [0, 1).
inline double cubic(double v1, double v2, double v3, double v4, double d) {
  const double p1 = v2;
  const double p2 = -v1 + v3;
  const double p3 = 2 * (v1 - v2) + v3 - v4;
  const double p4 = -v1 + v2 - v3 + v4;
  return p1 + d * (p2 + d * (p3 + d * p4));
}

// bicubic_filter8 / bicubic_filter32RGB: 4x4 taps, edges clamped, clamped to [0, 255]
// and truncated.
void bicubic(const Source& src, const AffineCoefficients& a, std::span<const uint8_t> fill, Image& out) {
  const int64_t h = src.height, w = src.width;
  resample(src, a, fill, out, [&](double xs, double ys, int64_t o) {
    const int64_t xi = pil_floor(xs) - 1, yi = pil_floor(ys) - 1;
    const double dx = xs - static_cast<double>(xi + 1), dy = ys - static_cast<double>(yi + 1);
    const int64_t cols[4] = {clip(xi, w), clip(xi + 1, w), clip(xi + 2, w), clip(xi + 3, w)};
    // The first row is clamped; a later row outside the image repeats the row before.
    int64_t rows[4];
    rows[0] = clip(yi, h);
    for (int k = 1; k < 4; ++k) rows[k] = yi + k >= 0 && yi + k < h ? yi + k : rows[k - 1];
    for (int64_t c = 0; c < out.channels; ++c) {
      const uint8_t* in = src.plane(c);
      double v[4];
      for (int k = 0; k < 4; ++k) {
        const uint8_t* row = in + rows[k] * w;
        v[k] = cubic(row[cols[0]], row[cols[1]], row[cols[2]], row[cols[3]], dx);
      }
      const double r = cubic(v[0], v[1], v[2], v[3], dy);
      out.plane(c)[o] = r <= 0.0 ? 0 : r >= 255.0 ? 255 : static_cast<uint8_t>(r);
    }
  });
}

}  // namespace

void affine_transform(Image& image, const AffineCoefficients& inverse, Interpolation interpolation,
                      std::span<const uint8_t> fill) {
  check_image(image, "affine_transform");
  TORCH_CHECK(fill.size() == 1 || static_cast<int64_t>(fill.size()) == image.channels,
              "affine_transform: the fill has ", fill.size(), " values for ", image.channels, " channels");
  TORCH_CHECK(image.plane_size() < (int64_t{1} << 31), "affine_transform: ", image.height, "x", image.width,
              " is too large");
  thread_local std::vector<uint8_t> source;
  source.assign(image.pixels.begin(), image.pixels.end());
  const Source src{source.data(), image.channels, image.height, image.width};
  switch (interpolation) {
    case Interpolation::Nearest: nearest(src, inverse, fill, image); break;
    case Interpolation::Bilinear: bilinear(src, inverse, fill, image); break;
    case Interpolation::Bicubic: bicubic(src, inverse, fill, image); break;
  }
}

void rotate(Image& image, double degrees, Interpolation interpolation, std::span<const uint8_t> fill) {
  const double angle = python_mod(degrees, 360.0);
  if (angle == 0.0) return;  // PIL returns a copy
  // PIL's 180 / 90 / 270 fast paths (transposes) give what the map below samples exactly.
  const double t = -radians(angle);
  const double cos_t = python_round15(std::cos(t)), sin_t = python_round15(std::sin(t));
  AffineCoefficients a{cos_t, sin_t, 0.0, python_round15(-std::sin(t)), cos_t, 0.0};
  const double cx = static_cast<double>(image.width) / 2.0, cy = static_cast<double>(image.height) / 2.0;
  a[2] = a[0] * -cx + a[1] * -cy + 0.0 + cx;
  a[5] = a[3] * -cx + a[4] * -cy + 0.0 + cy;
  affine_transform(image, a, interpolation, fill);
}

void shear_x(Image& image, double factor, Interpolation interpolation, std::span<const uint8_t> fill) {
  affine_transform(image, {1.0, factor, 0.0, 0.0, 1.0, 0.0}, interpolation, fill);
}

void shear_y(Image& image, double factor, Interpolation interpolation, std::span<const uint8_t> fill) {
  affine_transform(image, {1.0, 0.0, 0.0, factor, 1.0, 0.0}, interpolation, fill);
}

void translate(Image& image, double dx, double dy, Interpolation interpolation, std::span<const uint8_t> fill) {
  affine_transform(image, {1.0, 0.0, -dx, 0.0, 1.0, -dy}, interpolation, fill);
}

AffineCoefficients torchvision_inverse_affine(std::array<double, 2> center, double angle,
                                              std::array<double, 2> translate, double scale,
                                              std::array<double, 2> shear) {
  const double rot = radians(angle);
  const double sx = radians(shear[0]);
  const double sy = radians(shear[1]);
  const auto [cx, cy] = center;
  const auto [tx, ty] = translate;
  const double cos_sy = std::cos(sy);
  const double tan_sx = std::tan(sx);
  const double rot_minus_sy = rot - sy;
  const double cx_plus_tx = cx + tx;
  const double cy_plus_ty = cy + ty;
  const double a = std::cos(rot_minus_sy) / cos_sy;
  const double b = -(a * tan_sx + std::sin(rot));
  const double c = std::sin(rot_minus_sy) / cos_sy;
  const double d = std::cos(rot) - c * tan_sx;
  AffineCoefficients m{d / scale, -b / scale, 0.0, -c / scale, a / scale, 0.0};
  m[2] += cx - m[0] * cx_plus_tx - m[1] * cy_plus_ty;
  m[5] += cy - m[3] * cx_plus_tx - m[4] * cy_plus_ty;
  return m;
}

}  // namespace tessera::data
