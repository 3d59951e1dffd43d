// Separable antialiased resampling of uint8 images: PIL's filters, in the fixed point of
// torch's uint8 interpolate kernel (which torchvision's resize with antialias=True runs).
#include "tessera/data/resize.h"

#include <c10/util/Exception.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

namespace tessera::data {
namespace {

// The taps of the output samples of one axis: output i reads `stride` source samples
// from first[i] on (box-relative), weighted by weights[i * stride + k] / 2^precision.
// Every output has the same number of taps (the filter's extent; zero weights pad the
// outputs near the edges, whose window is shifted inside the axis), so the inner loops
// have a fixed length.
struct AxisTaps {
  std::vector<int64_t> first;
  std::vector<int16_t> weights;
  int64_t stride = 0;
  int precision = 0;
};

double triangle(double x) {
  x = std::abs(x);
  return x < 1.0 ? 1.0 - x : 0.0;
}

// Keys' cubic convolution with a = -0.5 (PIL's and torch's antialiased bicubic).
double keys_cubic(double x) {
  constexpr double a = -0.5;
  x = std::abs(x);
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
  if (x < 2.0) return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
  return 0.0;
}

// The filter weights (normalized to sum 1) of output i of an axis of in_len samples
// resized to out_len, for source samples [lo, lo + count). The support grows with the
// downscale factor (antialiasing); half-pixel centres.
struct OutputFilter {
  double scale, support, inv_scale;
  bool cubic;

  OutputFilter(int64_t in_len, int64_t out_len, Interpolation interpolation)
      : scale(static_cast<double>(in_len) / static_cast<double>(out_len)),
        support((interpolation == Interpolation::Bicubic ? 2.0 : 1.0) * std::max(scale, 1.0)),
        inv_scale(scale >= 1.0 ? 1.0 / scale : 1.0),
        cubic(interpolation == Interpolation::Bicubic) {}

  int64_t extent() const { return 2 * static_cast<int64_t>(std::ceil(support)) + 1; }

  // Fills w[0, count) and returns lo.
  int64_t weights(int64_t i, int64_t in_len, double* w, int64_t& count) const {
    const double center = scale * (static_cast<double>(i) + 0.5);
    // Truncation, not floor, as PIL and torch: both ends are clamped to the axis anyway.
    const int64_t lo = std::max<int64_t>(static_cast<int64_t>(center - support + 0.5), 0);
    const int64_t hi = std::min<int64_t>(static_cast<int64_t>(center + support + 0.5), in_len);
    double total = 0.0;
    for (int64_t j = lo; j < hi; ++j) {
      const double x = (static_cast<double>(j) - center + 0.5) * inv_scale;
      w[j - lo] = cubic ? keys_cubic(x) : triangle(x);
      total += w[j - lo];
    }
    count = hi - lo;
    if (total != 0.0) {
      for (int64_t k = 0; k < count; ++k) w[k] /= total;
    }
    return lo;
  }
};

// Output samples [begin, begin + n) of an axis of in_len samples resized to out_len.
// The weights become 16-bit fixed point as in torch's uint8 kernel (after Pillow-SIMD):
// the most fraction bits (up to 22) that keep twice the largest weight of the whole
// axis under 2^15, each weight rounded half away from zero. Computing with exactly
// these integers gives torch's own results, not merely close ones.
void compute_taps(int64_t in_len, int64_t out_len, int64_t begin, int64_t n, Interpolation interpolation,
                  AxisTaps& taps) {
  const OutputFilter filter(in_len, out_len, interpolation);
  const int64_t extent = filter.extent();
  thread_local std::vector<double> w;
  w.resize(static_cast<size_t>(extent));
  double w_max = 0.0;  // over every output of the axis, so a window quantizes as the whole
  for (int64_t i = 0; i < out_len; ++i) {
    int64_t count;
    filter.weights(i, in_len, w.data(), count);
    for (int64_t k = 0; k < count; ++k) w_max = std::max(w_max, w[static_cast<size_t>(k)]);
  }
  taps.precision = 0;
  while (taps.precision < 22 &&
         static_cast<int64_t>(0.5 + w_max * static_cast<double>(int64_t{1} << (taps.precision + 1))) < (1 << 15)) {
    ++taps.precision;
  }
  const double one = static_cast<double>(int64_t{1} << taps.precision);

  taps.stride = std::min(extent, in_len);
  taps.first.resize(static_cast<size_t>(n));
  taps.weights.assign(static_cast<size_t>(n * taps.stride), 0);
  for (int64_t i = 0; i < n; ++i) {
    int64_t count;
    const int64_t lo = filter.weights(begin + i, in_len, w.data(), count);
    // The window [first, first + stride) holds [lo, lo + count) and stays inside the
    // axis; the zero weights it adds change no sum.
    const int64_t first = std::min(lo, in_len - taps.stride);
    int16_t* q = &taps.weights[static_cast<size_t>(i * taps.stride)];
    for (int64_t k = 0; k < count; ++k) {
      const double v = w[static_cast<size_t>(k)] * one;
      q[lo - first + k] = static_cast<int16_t>(v < 0.0 ? v - 0.5 : v + 0.5);  // truncation: half away from 0
    }
    taps.first[static_cast<size_t>(i)] = first;
  }
}

// A fixed-point sum back to a uint8 level: rounded (halves up) and clamped.
inline uint8_t to_level(int32_t sum, int precision) {
  const int32_t v = (sum + (int32_t{1} << (precision - 1))) >> precision;
  return static_cast<uint8_t>(std::min(std::max(v, 0), 255));
}

// One row through the horizontal filter; kTaps > 0 fixes the tap count at compile time
// (the common small filters unroll), 0 reads it from `taps`.
template <int kTaps>
[[gnu::always_inline]] inline void filter_row_with(const uint8_t* row, const AxisTaps& taps, int64_t n, uint8_t* out) {
  const int64_t count = kTaps > 0 ? kTaps : taps.stride;
  const int64_t* first = taps.first.data();
  const int16_t* w = taps.weights.data();
  for (int64_t x = 0; x < n; ++x, w += count) {
    const uint8_t* p = row + first[x];
    int32_t sum = 0;
    for (int64_t k = 0; k < count; ++k) sum += static_cast<int32_t>(w[k]) * static_cast<int32_t>(p[k]);
    out[x] = to_level(sum, taps.precision);
  }
}

// One output row of the vertical filter: the kTaps taps `w` weigh kTaps input rows of n
// values, `row_stride` apart from `rows` on. The loop runs along the row, so it vectorizes.
template <int kTaps>
[[gnu::always_inline]] inline void filter_column_with(const uint8_t* rows, int64_t row_stride, int64_t n,
                                                      const int16_t* w, int precision, uint8_t* out) {
  for (int64_t x = 0; x < n; ++x) {
    int32_t sum = 0;
    for (int64_t k = 0; k < kTaps; ++k)
      sum += static_cast<int32_t>(w[k]) * static_cast<int32_t>(rows[k * row_stride + x]);
    out[x] = to_level(sum, precision);
  }
}

// The same for any number of taps: row by row into `acc` (n values), so it vectorizes too.
[[gnu::always_inline]] inline void filter_column_any(const uint8_t* rows, int64_t row_stride, int64_t n,
                                                     const int16_t* w, int64_t count, int precision, int32_t* acc,
                                                     uint8_t* out) {
  std::fill(acc, acc + n, 0);
  for (int64_t k = 0; k < count; ++k) {
    const int32_t wk = w[k];
    const uint8_t* row = rows + k * row_stride;
    for (int64_t x = 0; x < n; ++x) acc[x] += wk * static_cast<int32_t>(row[x]);
  }
  for (int64_t x = 0; x < n; ++x) out[x] = to_level(acc[x], precision);
}

// The passes are most of the time of a resize, and AVX2 doubles the vector width: with
// GCC on x86-64 they are compiled for both and the CPU picks at load time. Integer
// arithmetic, so both give the same bits.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define TESSERA_WITH_AVX2_CLONE __attribute__((target_clones("avx2", "default")))
#else
#define TESSERA_WITH_AVX2_CLONE
#endif

// The horizontal filter over `count` rows, `in_stride` apart from `in` on, into rows
// of n values `out_stride` apart.
TESSERA_WITH_AVX2_CLONE
void filter_rows(const uint8_t* in, int64_t in_stride, int64_t count, const AxisTaps& taps, int64_t n, uint8_t* out,
                 int64_t out_stride) {
  for (int64_t r = 0; r < count; ++r, in += in_stride, out += out_stride) {
    // The common tap counts (bilinear up: 3, bicubic up: 5, 2x down: 5 and 9) as
    // constants, so their loops unroll; spelled out so the code is compiled in each clone.
    // clang-format off
    switch (taps.stride) {
      case 2: filter_row_with<2>(in, taps, n, out); break;
      case 3: filter_row_with<3>(in, taps, n, out); break;
      case 4: filter_row_with<4>(in, taps, n, out); break;
      case 5: filter_row_with<5>(in, taps, n, out); break;
      case 7: filter_row_with<7>(in, taps, n, out); break;
      case 9: filter_row_with<9>(in, taps, n, out); break;
      default: filter_row_with<0>(in, taps, n, out); break;
    }
    // clang-format on
  }
}

// The vertical filter over the output rows of `taps`, reading input rows `row_stride`
// apart from `rows` on (the row of index `first_row` first), n values per row; `acc`
// holds n values.
TESSERA_WITH_AVX2_CLONE
void filter_columns(const uint8_t* rows, int64_t row_stride, int64_t first_row, const AxisTaps& taps, int64_t n,
                    int32_t* acc, uint8_t* out) {
  const int64_t stride = taps.stride;
  const int precision = taps.precision;
  for (size_t y = 0; y < taps.first.size(); ++y, out += n) {
    const uint8_t* in = rows + (taps.first[y] - first_row) * row_stride;
    const int16_t* w = &taps.weights[y * static_cast<size_t>(stride)];
    // The common tap counts as constants, as in filter_rows.
    // clang-format off
    switch (stride) {
      case 2: filter_column_with<2>(in, row_stride, n, w, precision, out); break;
      case 3: filter_column_with<3>(in, row_stride, n, w, precision, out); break;
      case 4: filter_column_with<4>(in, row_stride, n, w, precision, out); break;
      case 5: filter_column_with<5>(in, row_stride, n, w, precision, out); break;
      case 7: filter_column_with<7>(in, row_stride, n, w, precision, out); break;
      case 9: filter_column_with<9>(in, row_stride, n, w, precision, out); break;
      default: filter_column_any(in, row_stride, n, w, stride, precision, acc, out); break;
    }
    // clang-format on
  }
}

// Per-thread buffers, so a worker allocates only while its images grow.
struct Scratch {
  AxisTaps rows;
  AxisTaps cols;
  std::vector<uint8_t> between;  // the horizontal pass's rows, (source rows, window width)
  std::vector<int32_t> acc;      // one row of sums of the vertical pass
  std::vector<int64_t> nearest_rows;
  std::vector<int64_t> nearest_cols;
};

Scratch& scratch() {
  thread_local Scratch s;
  return s;
}

// torch's nearest_idx: floor(dst * (in / out)) in float32, clamped to the last sample.
void nearest_indices(int64_t in_len, int64_t out_len, int64_t begin, int64_t n, std::vector<int64_t>& out) {
  out.resize(static_cast<size_t>(n));
  const float scale = static_cast<float>(in_len) / static_cast<float>(out_len);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t d = begin + i;
    int64_t s;
    if (out_len == in_len) {
      s = d;
    } else if (out_len == 2 * in_len) {
      s = d >> 1;
    } else {
      s = std::min(static_cast<int64_t>(std::floor(static_cast<float>(d) * scale)), in_len - 1);
    }
    out[static_cast<size_t>(i)] = s;
  }
}

void resize_nearest(const Image& src, const CropBox& box, int64_t out_h, int64_t out_w, const CropBox& window,
                    Image& dst) {
  Scratch& s = scratch();
  nearest_indices(box.height, out_h, window.top, window.height, s.nearest_rows);
  nearest_indices(box.width, out_w, window.left, window.width, s.nearest_cols);
  for (int64_t c = 0; c < src.channels; ++c) {
    const uint8_t* plane = src.plane(c);
    uint8_t* out = dst.plane(c);
    for (int64_t y = 0; y < window.height; ++y) {
      const uint8_t* row = plane + (box.top + s.nearest_rows[static_cast<size_t>(y)]) * src.width + box.left;
      uint8_t* o = out + y * window.width;
      for (int64_t x = 0; x < window.width; ++x) o[x] = row[s.nearest_cols[static_cast<size_t>(x)]];
    }
  }
}

void resize_separable(const Image& src, const CropBox& box, int64_t out_h, int64_t out_w, const CropBox& window,
                      Interpolation interpolation, Image& dst) {
  Scratch& s = scratch();
  const bool horizontal = out_w != box.width;
  const bool vertical = out_h != box.height;
  const int64_t ww = window.width;
  if (horizontal) compute_taps(box.width, out_w, window.left, ww, interpolation, s.cols);
  // Source rows (box-relative) the output rows of the window read.
  int64_t r0 = window.top, r1 = window.top + window.height;
  if (vertical) {
    compute_taps(box.height, out_h, window.top, window.height, interpolation, s.rows);
    r0 = s.rows.first.front();  // the windows move down with y
    r1 = s.rows.first.back() + s.rows.stride;
  }
  const int64_t col0 = box.left + (horizontal ? 0 : window.left);  // source column of taps / copies

  for (int64_t c = 0; c < src.channels; ++c) {
    const uint8_t* plane = src.plane(c);
    uint8_t* out = dst.plane(c);
    const auto source_row = [&](int64_t r) { return plane + (box.top + r) * src.width + col0; };

    if (!vertical) {  // one horizontal pass straight into the output
      filter_rows(source_row(window.top), src.width, window.height, s.cols, ww, out, ww);
      continue;
    }
    // The vertical pass reads the horizontal pass's rows, or the source rows themselves.
    const uint8_t* rows = source_row(r0);
    int64_t row_stride = src.width;
    if (horizontal) {
      s.between.resize(static_cast<size_t>((r1 - r0) * ww));
      filter_rows(source_row(r0), src.width, r1 - r0, s.cols, ww, s.between.data(), ww);
      rows = s.between.data();
      row_stride = ww;
    }
    s.acc.resize(static_cast<size_t>(ww));
    filter_columns(rows, row_stride, r0, s.rows, ww, s.acc.data(), out);
  }
}

}  // namespace

void resized_crop_window(const Image& src, const CropBox& box, int64_t out_h, int64_t out_w, const CropBox& window,
                         Interpolation interpolation, Image& dst) {
  check_image(src, "resize");
  TORCH_CHECK(box.height > 0 && box.width > 0 && box.top >= 0 && box.left >= 0 && box.top + box.height <= src.height &&
                  box.left + box.width <= src.width,
              "resize: box (top ", box.top, ", left ", box.left, ", ", box.height, "x", box.width,
              ") is not inside the ", src.height, "x", src.width, " image");
  TORCH_CHECK(out_h > 0 && out_w > 0, "resize: bad output size ", out_h, "x", out_w);
  TORCH_CHECK(window.height > 0 && window.width > 0 && window.top >= 0 && window.left >= 0 &&
                  window.top + window.height <= out_h && window.left + window.width <= out_w,
              "resize: window (top ", window.top, ", left ", window.left, ", ", window.height, "x", window.width,
              ") is not inside the ", out_h, "x", out_w, " output");
  TORCH_CHECK(&src != &dst, "resize: the output must be another image than the input");
  dst.resize(src.channels, window.height, window.width);

  if (out_h == box.height && out_w == box.width) {  // nothing to resample: a crop
    for (int64_t c = 0; c < src.channels; ++c) {
      for (int64_t y = 0; y < window.height; ++y) {
        std::memcpy(dst.plane(c) + y * window.width,
                    src.plane(c) + (box.top + window.top + y) * src.width + box.left + window.left,
                    static_cast<size_t>(window.width));
      }
    }
  } else if (interpolation == Interpolation::Nearest) {
    resize_nearest(src, box, out_h, out_w, window, dst);
  } else {
    resize_separable(src, box, out_h, out_w, window, interpolation, dst);
  }
}

void resized_crop(const Image& src, const CropBox& box, int64_t out_h, int64_t out_w, Interpolation interpolation,
                  Image& dst) {
  resized_crop_window(src, box, out_h, out_w, CropBox{0, 0, out_h, out_w}, interpolation, dst);
}

void resize(const Image& src, int64_t out_h, int64_t out_w, Interpolation interpolation, Image& dst) {
  resized_crop(src, CropBox{0, 0, src.height, src.width}, out_h, out_w, interpolation, dst);
}

}  // namespace tessera::data
