// Tests for the auto-augment ops (augment_color.h, augment_geometry.h, augment_ops.h):
// every op against PIL / torchvision on fixed odd-sized 1- and 3-channel images, timm's
// RandAugment level functions and torchvision's TrivialAugmentWide tables on chosen
// draws, the distance to torchvision's tensor backend, and edge cases. The references
// come from one run of tests/reference/torchvision_augment_ops.py for the whole file.
#include "tessera/data/augment_ops.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>
#include <iomanip>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "reference_runner.h"
#include "tessera/core/safetensors.h"
#include "tessera/data/augment_color.h"
#include "tessera/data/augment_geometry.h"
#include "tessera/data/sample_rng.h"

namespace tessera::data {
namespace {

// ---- test images ---------------------------------------------------------------------

// Gradients, 4x4 blocks and noise in [lo, hi]: edges for the resamplers and the
// sharpness filter, a range short of 0..255 for autocontrast.
Image make_image(int64_t channels, int64_t height, int64_t width, uint64_t seed, int lo, int hi) {
  Image image;
  image.resize(channels, height, width);
  SampleRng rng(seed);
  for (int64_t c = 0; c < channels; ++c) {
    for (int64_t y = 0; y < height; ++y) {
      for (int64_t x = 0; x < width; ++x) {
        const double ramp = static_cast<double>(x * (c + 1) + y * (3 - c)) / static_cast<double>(width + 2 * height);
        const double block = ((x / 4 + y / 4 + c) % 2) ? 0.3 : 0.0;
        const double noise = 0.25 * rng.uniform();
        const double t = std::fmod(ramp * 0.6 + block + noise, 1.0);
        image.at(c, y, x) = static_cast<uint8_t>(lo + std::lround(t * (hi - lo)));
      }
    }
  }
  return image;
}

// A channel at one value, one with two values, one textured: autocontrast's and
// equalize's degenerate tables.
Image make_flat_image() {
  Image image = make_image(3, 9, 7, 5, 0, 255);
  std::fill(image.plane(0), image.plane(0) + image.plane_size(), 77);
  for (int64_t i = 0; i < image.plane_size(); ++i) image.plane(1)[i] = i % 3 == 0 ? 10 : 200;
  return image;
}

const std::map<std::string, Image>& images() {
  static const std::map<std::string, Image> all = {
      {"rgb", make_image(3, 37, 29, 1, 0, 255)},  // odd, not square
      {"rgb_narrow", make_image(3, 25, 19, 2, 31, 203)},
      {"gray", make_image(1, 23, 31, 3, 12, 240)},
      {"square", make_image(3, 32, 32, 4, 0, 255)},  // PIL's 90-degree transposes
      {"tiny", make_image(3, 2, 5, 6, 0, 255)},      // under the 3x3 filter; few pixels for equalize
      {"flat", make_flat_image()},
  };
  return all;
}

at::Tensor to_tensor(const Image& image) {
  return at::from_blob(const_cast<uint8_t*>(image.pixels.data()), {image.channels, image.height, image.width},
                       at::kByte)
      .clone();
}

std::vector<uint8_t> fill_for(const Image& image) {
  return image.channels == 1 ? std::vector<uint8_t>{93} : std::vector<uint8_t>{124, 116, 104};
}

std::string interpolation_name(Interpolation i) {
  return i == Interpolation::Nearest ? "nearest" : i == Interpolation::Bilinear ? "bilinear" : "bicubic";
}

// ---- the cases -------------------------------------------------------------------------

// One op on one image, here (`ours`) and in the reference script (kind, op, args).
struct Case {
  std::string group;   // which test checks it
  std::string family;  // the op, for the printed figures
  std::string id;
  std::string image;
  std::string kind;  // the script's: tv, pil, timm, ta, ta_tensor
  std::string op;
  nlohmann::json args;
  std::function<void(Image&)> ours;
};

using Op = std::function<void(Image&)>;

void add_pointwise(std::vector<Case>& cases) {
  const auto add = [&](const std::string& image, const std::string& op, nlohmann::json args, Op ours) {
    cases.push_back(
        {"pointwise", op, "pointwise." + op + "." + args.dump() + "." + image, image, "tv", op, args, ours});
  };
  for (const std::string image : {"rgb", "rgb_narrow", "gray", "tiny", "flat"}) {
    add(image, "autocontrast", nlohmann::json::object(), [](Image& i) { auto_contrast(i); });
    add(image, "equalize", nlohmann::json::object(), [](Image& i) { equalize(i); });
    add(image, "invert", nlohmann::json::object(), [](Image& i) { invert(i); });
    for (int bits : {1, 3, 7, 8}) add(image, "posterize", {{"bits", bits}}, [bits](Image& i) { posterize(i, bits); });
    for (double t : {0.0, 64.0, 128.0, 200.5, 255.0}) {
      add(image, "solarize", {{"threshold", t}}, [t](Image& i) { solarize(i, t); });
    }
  }
}

void add_enhance(std::vector<Case>& cases) {
  const auto add = [&](const std::string& image, const std::string& op, double factor, Op ours) {
    cases.push_back({"enhance",
                     op,
                     "enhance." + op + "." + std::to_string(factor) + "." + image,
                     image,
                     "tv",
                     op,
                     {{op == "adjust_brightness"   ? "brightness_factor"
                       : op == "adjust_contrast"   ? "contrast_factor"
                       : op == "adjust_saturation" ? "saturation_factor"
                                                   : "sharpness_factor",
                       factor}},
                     ours});
  };
  for (const std::string image : {"rgb", "rgb_narrow", "gray", "tiny", "flat"}) {
    for (double f : {0.0, 0.1, 0.55, 1.0, 1.37, 1.9, 2.0}) {
      add(image, "adjust_brightness", f, [f](Image& i) { enhance_brightness(i, f); });
      add(image, "adjust_contrast", f, [f](Image& i) { enhance_contrast(i, f); });
      add(image, "adjust_saturation", f, [f](Image& i) { enhance_color(i, f); });
      add(image, "adjust_sharpness", f, [f](Image& i) { enhance_sharpness(i, f); });
    }
  }
}

void add_geometry(std::vector<Case>& cases) {
  const Interpolation all[] = {Interpolation::Nearest, Interpolation::Bilinear, Interpolation::Bicubic};
  for (const std::string image : {"rgb", "gray", "square"}) {
    const Image& img = images().at(image);
    const std::vector<uint8_t> fill = fill_for(img);
    const double w = static_cast<double>(img.width), h = static_cast<double>(img.height);
    for (Interpolation interp : all) {
      const std::string mode = interpolation_name(interp);
      const auto add_pil = [&](const std::string& family, const std::string& name, const std::string& op,
                               nlohmann::json args, Op ours) {
        args["interpolation"] = mode;
        args["fill"] = fill;
        cases.push_back(
            {"geometry", family, "geometry." + name + "." + mode + "." + image, image, "pil", op, args, ours});
      };
      for (double angle : {17.5, -30.0, 90.0, 135.0, 180.0, -4.5, 270.0}) {
        add_pil("rotate", "rotate" + std::to_string(angle), "rotate", {{"angle", angle}},
                [=](Image& i) { rotate(i, angle, interp, fill); });
      }
      for (double f : {0.3, -0.27}) {
        add_pil("shear_x", "shear_x" + std::to_string(f), "transform", {{"matrix", {1.0, f, 0.0, 0.0, 1.0, 0.0}}},
                [=](Image& i) { shear_x(i, f, interp, fill); });
        add_pil("shear_y", "shear_y" + std::to_string(f), "transform", {{"matrix", {1.0, 0.0, 0.0, f, 1.0, 0.0}}},
                [=](Image& i) { shear_y(i, f, interp, fill); });
      }
      // timm's relative translations: fractional pixel shifts.
      for (auto [dx, dy] : {std::pair{0.405 * w, 0.0}, std::pair{0.0, -0.2 * h}, std::pair{-3.0, 2.0}}) {
        add_pil("translate", "translate" + std::to_string(dx) + "," + std::to_string(dy), "transform",
                {{"matrix", {1.0, 0.0, -dx, 0.0, 1.0, -dy}}}, [=](Image& i) { translate(i, dx, dy, interp, fill); });
      }
      // torchvision's F.affine and F.rotate (PIL backend) with everything at once.
      const auto add_tv = [&](const std::string& name, const std::string& op, nlohmann::json args, Op ours) {
        args["interpolation"] = mode;
        args["fill"] = fill;
        cases.push_back(
            {"geometry", "F." + op, "geometry.tv_" + name + "." + mode + "." + image, image, "tv", op, args, ours});
      };
      add_tv("affine", "affine", {{"angle", 23.0}, {"translate", {3, -2}}, {"scale", 1.1}, {"shear", {12.0, -7.0}}},
             [=](Image& i) {
               affine_transform(i, torchvision_inverse_affine({w * 0.5, h * 0.5}, 23.0, {3, -2}, 1.1, {12.0, -7.0}),
                                interp, fill);
             });
      add_tv(
          "affine_centre", "affine",
          {{"angle", -41.0}, {"translate", {0, 5}}, {"scale", 0.8}, {"shear", {0.0, 20.0}}, {"center", {3, 4}}},
          [=](Image& i) {
            affine_transform(i, torchvision_inverse_affine({3.0, 4.0}, -41.0, {0, 5}, 0.8, {0.0, 20.0}), interp, fill);
          });
      add_tv("rotate", "rotate", {{"angle", 33.3}}, [=](Image& i) { rotate(i, 33.3, interp, fill); });
    }
  }
}

// Every RandAugment op at several levels and both signs, against timm's AugmentOp.
void add_timm(std::vector<Case>& cases) {
  std::vector<RandAugmentOp> ops;
  for (bool increasing : {false, true}) {
    for (RandAugmentOp op : rand_augment_op_set(increasing)) {
      if (std::find(ops.begin(), ops.end(), op) == ops.end()) ops.push_back(op);
    }
  }
  int alternate = 0;
  for (const std::string image : {"rgb", "gray"}) {
    const std::vector<uint8_t> fill = fill_for(images().at(image));
    for (RandAugmentOp op : ops) {
      for (double level : {0.0, 4.6, 9.0, 10.0, 13.0}) {
        // Pillow 13's posterize rejects 0 bits, which these levels ask for (see posterize()).
        if (op == RandAugmentOp::Posterize && level < 2.5) continue;
        if (op == RandAugmentOp::PosterizeIncreasing && level >= 10.0) continue;
        const bool is_signed = rand_augment_op_signed(op);
        for (bool negate : {false, true}) {
          if (negate && !is_signed) continue;
          const Interpolation interp = alternate++ % 2 ? Interpolation::Bicubic : Interpolation::Bilinear;
          nlohmann::json args = {{"magnitude", level},
                                 {"negate", negate},
                                 {"signed", is_signed},
                                 {"interpolation", interpolation_name(interp)},
                                 {"fill", fill}};
          if (level > 10.0) args["magnitude_max"] = 15;
          const std::string name(rand_augment_op_name(op));
          cases.push_back(
              {"timm", name, "timm." + name + "." + std::to_string(level) + (negate ? ".neg." : ".") + image, image,
               "timm", name, args, [=](Image& i) { apply_rand_augment_op(i, op, level, negate, interp, fill); }});
        }
      }
    }
  }
}

// Every TrivialAugmentWide op at several bins and both signs, against torchvision's op
// on PIL images (kind "ta"), or on uint8 tensors (kind "ta_tensor", group "tensor").
void add_trivial_augment(std::vector<Case>& cases, const std::string& group, const std::string& kind,
                         const std::vector<int>& bins) {
  for (const std::string image : {"rgb", "gray", "square"}) {
    const std::vector<uint8_t> fill = fill_for(images().at(image));
    for (int k = 0; k < kTrivialAugmentOps; ++k) {
      const auto op = static_cast<TrivialAugmentOp>(k);
      for (int bin : trivial_augment_op_has_magnitude(op) ? bins : std::vector<int>{0}) {
        for (bool negate : {false, true}) {
          if (negate && !trivial_augment_op_signed(op)) continue;
          const std::string name(trivial_augment_op_name(op));
          cases.push_back({group,
                           name,
                           group + "." + name + "." + std::to_string(bin) + (negate ? ".neg." : ".") + image,
                           image,
                           kind,
                           name,
                           {{"bin", bin}, {"negate", negate}, {"fill", fill}},
                           [=](Image& i) { apply_trivial_augment_op(i, op, bin, negate, fill); }});
        }
      }
    }
  }
}

const std::vector<Case>& all_cases() {
  static const std::vector<Case> cases = [] {
    std::vector<Case> v;
    add_pointwise(v);
    add_enhance(v);
    add_geometry(v);
    add_timm(v);
    add_trivial_augment(v, "ta", "ta", {0, 1, 7, 15, 20, 30});
    // How far PIL's semantics, which Tessera follows, are from torchvision's tensor backend.
    add_trivial_augment(v, "tensor", "ta_tensor", {1, 7, 20, 30});
    return v;
  }();
  return cases;
}

// ---- running the reference once --------------------------------------------------------

// The script's outputs for all cases, made by the first test that asks.
const std::map<std::string, at::Tensor>& reference() {
  static std::map<std::string, at::Tensor> outputs;
  static bool ran = false;
  if (ran) return outputs;
  ran = true;
  const auto dir = testing::scratch_dir();
  std::vector<std::pair<std::string, at::Tensor>> inputs;
  for (const auto& [name, image] : images()) inputs.emplace_back(name, to_tensor(image));
  core::save_safetensors(dir / "images.safetensors", inputs);
  nlohmann::json spec = nlohmann::json::array();
  for (const Case& c : all_cases()) {
    spec.push_back({{"id", c.id}, {"image", c.image}, {"kind", c.kind}, {"op", c.op}, {"args", c.args}});
  }
  std::ofstream(dir / "cases.json") << spec.dump();
  const auto result =
      testing::run_reference_script("torchvision_augment_ops.py", "'" + (dir / "images.safetensors").string() + "' '" +
                                                                      (dir / "cases.json").string() + "' '" +
                                                                      (dir / "out.safetensors").string() + "'");
  if (result.exit_code == 0) outputs = testing::read_tensors(dir / "out.safetensors");
  return outputs;
}

struct Difference {
  int max = 0;              // largest |ours - reference| in grey levels
  double differing = 0.0;   // share of values that differ at all
  double beyond_one = 0.0;  // share of values that differ by more than 1
};

Difference compare(const Image& ours, const at::Tensor& reference) {
  Difference d;
  EXPECT_EQ(reference.sizes(), (at::IntArrayRef{ours.channels, ours.height, ours.width}));
  if (reference.sizes() != at::IntArrayRef{ours.channels, ours.height, ours.width}) {
    d.max = 256;
    return d;
  }
  const uint8_t* ref = reference.data_ptr<uint8_t>();
  int64_t differing = 0, beyond = 0;
  for (size_t i = 0; i < ours.pixels.size(); ++i) {
    const int diff = std::abs(static_cast<int>(ours.pixels[i]) - static_cast<int>(ref[i]));
    d.max = std::max(d.max, diff);
    differing += diff > 0;
    beyond += diff > 1;
  }
  const auto n = static_cast<double>(std::max<size_t>(ours.pixels.size(), 1));
  d.differing = static_cast<double>(differing) / n;
  d.beyond_one = static_cast<double>(beyond) / n;
  return d;
}

// Runs every case of `group` and compares it with the reference; returns the worst
// case's figures and prints one line per op family.
struct GroupResult {
  Difference worst;
  std::string worst_id;
  int cases = 0;
};

GroupResult check_group(const std::string& group, int max_allowed, double max_beyond_one_share) {
  const auto& ref = reference();
  GroupResult result;
  std::map<std::string, Difference> per_family;  // op (+ interpolation) → worst figures
  for (const Case& c : all_cases()) {
    if (c.group != group) continue;
    const auto it = ref.find(c.id);
    if (it == ref.end()) {
      ADD_FAILURE() << "no reference output for " << c.id;
      continue;
    }
    Image ours = images().at(c.image);
    c.ours(ours);
    const Difference d = compare(ours, it->second);
    ++result.cases;
    EXPECT_LE(d.max, max_allowed) << c.id;
    EXPECT_LE(d.beyond_one, max_beyond_one_share) << c.id;
    std::string family = c.family;
    if (c.args.contains("interpolation")) family += " " + c.args["interpolation"].get<std::string>();
    Difference& f = per_family[family];
    f.max = std::max(f.max, d.max);
    f.differing = std::max(f.differing, d.differing);
    f.beyond_one = std::max(f.beyond_one, d.beyond_one);
    if (d.max > result.worst.max || (d.max == result.worst.max && d.differing > result.worst.differing)) {
      result.worst = d;
      result.worst_id = c.id;
    }
  }
  for (const auto& [family, d] : per_family) {
    std::cout << "[ augment ops ] " << std::left << std::setw(44) << family << " max |diff| " << d.max
              << ", values differing " << std::fixed << std::setprecision(2) << 100.0 * d.differing
              << "%, by > 1: " << 100.0 * d.beyond_one << "%\n"
              << std::defaultfloat;
  }
  std::cout << "[ augment ops ] " << group << ": " << result.cases << " cases\n";
  EXPECT_GT(result.cases, 0);
  return result;
}

// ---- parity ------------------------------------------------------------------------------
//
// The ops repeat Pillow's arithmetic step by step and measure exact (the printed figures).
// The float blends and the resamplers' coordinates would round differently in a build that
// fuses multiply-adds (-march=native), hence the bounds: one level for the enhance ops, and
// at most 1% of the values off by more than a level for the resampling ops.

// autocontrast, equalize, invert, posterize, solarize: PIL's tables, exactly.
TEST(AugmentOpsParity, PointwiseOpsMatchPil) { check_group("pointwise", 0, 0.0); }

// ImageEnhance's brightness, contrast, color, sharpness (torchvision's adjust_* on PIL).
TEST(AugmentOpsParity, EnhanceOpsMatchPil) { check_group("enhance", 1, 0.0); }

// Rotate, shear, translate and general affine maps, nearest / bilinear / bicubic, with
// a fill colour: within one level on at least 99% of the values.
TEST(AugmentOpsParity, GeometricOpsMatchPil) { check_group("geometry", 255, 0.01); }

// timm's AugmentOp: level functions, signs, fill and interpolation per op.
TEST(AugmentOpsParity, RandAugmentOpsMatchTimm) { check_group("timm", 255, 0.01); }

// torchvision's TrivialAugmentWide op at a bin and sign, nearest, with a fill.
TEST(AugmentOpsParity, TrivialAugmentOpsMatchTorchvision) { check_group("ta", 255, 0.01); }

// The float32 magnitude tables, value for value.
TEST(AugmentOpsParity, TrivialAugmentMagnitudesMatchTorchvision) {
  const auto& ref = reference();
  int tables = 0;
  for (int k = 0; k < kTrivialAugmentOps; ++k) {
    const auto op = static_cast<TrivialAugmentOp>(k);
    const auto it = ref.find("ta_magnitudes." + std::string(trivial_augment_op_name(op)));
    EXPECT_EQ(it != ref.end(), trivial_augment_op_has_magnitude(op)) << trivial_augment_op_name(op);
    if (it == ref.end()) continue;
    ++tables;
    ASSERT_EQ(it->second.numel(), kTrivialAugmentBins);
    for (int bin = 0; bin < kTrivialAugmentBins; ++bin) {
      EXPECT_EQ(trivial_augment_magnitude(op, bin), it->second[bin].item<double>())
          << trivial_augment_op_name(op) << " bin " << bin;
    }
  }
  EXPECT_EQ(tables, 11);
}

// TrivialAugmentWide on uint8 tensors instead of PIL images: the enhance ops differ by one
// level (torch's grey weights 0.2989 / 0.587 / 0.114 truncated, a float contrast mean),
// solarize where a value equals the threshold (torch compares in float32), and nearest
// rotations where grid_sample's rounding and PIL's fixed-point floor pick different
// neighbours. Measured, not a parity claim: at most 3% of the values beyond one level.
TEST(AugmentOpsParity, DistanceToTorchvisionTensorBackend) { check_group("tensor", 255, 0.03); }

// ---- edge cases --------------------------------------------------------------------------

TEST(AugmentOps, PosterizeEnds) {
  Image image = images().at("rgb");
  const Image original = image;
  posterize(image, 8);
  EXPECT_EQ(image.pixels, original.pixels);
  posterize(image, 0);  // what Pillow before the 1..8 check gave
  EXPECT_TRUE(std::all_of(image.pixels.begin(), image.pixels.end(), [](uint8_t v) { return v == 0; }));
  EXPECT_THROW(posterize(image, 9), c10::Error);
  // timm's levels past both ends: PosterizeIncreasing at 10 asks for 0 bits, Posterize at 25 for 10.
  image = original;
  apply_rand_augment_op(image, RandAugmentOp::PosterizeIncreasing, 10.0, false, Interpolation::Bilinear,
                        std::vector<uint8_t>{0});
  EXPECT_TRUE(std::all_of(image.pixels.begin(), image.pixels.end(), [](uint8_t v) { return v == 0; }));
  image = original;
  apply_rand_augment_op(image, RandAugmentOp::Posterize, 25.0, false, Interpolation::Bilinear, std::vector<uint8_t>{0});
  EXPECT_EQ(image.pixels, original.pixels);
}

TEST(AugmentOps, ColorLeavesGrayImagesAlone) {
  Image image = images().at("gray");
  const Image original = image;
  enhance_color(image, 0.0);
  EXPECT_EQ(image.pixels, original.pixels);
}

TEST(AugmentOps, FullTurnsAreNoOps) {
  for (double angle : {0.0, 360.0, -360.0, 720.0}) {
    Image image = images().at("rgb");
    rotate(image, angle, Interpolation::Bicubic, std::vector<uint8_t>{1, 2, 3});
    EXPECT_EQ(image.pixels, images().at("rgb").pixels) << angle;
  }
}

TEST(AugmentOps, FillColourReachesEveryChannel) {
  Image image = images().at("rgb");
  translate(image, 1000.0, 0.0, Interpolation::Nearest, std::vector<uint8_t>{124, 116, 104});
  for (int64_t c = 0; c < 3; ++c) {
    const uint8_t expected = std::vector<uint8_t>{124, 116, 104}[c];
    EXPECT_TRUE(std::all_of(image.plane(c), image.plane(c) + image.plane_size(), [&](uint8_t v) {
      return v == expected;
    })) << c;
  }
  Image gray = images().at("gray");
  translate(gray, 0.0, -1000.0, Interpolation::Bilinear, std::vector<uint8_t>{7});
  EXPECT_TRUE(std::all_of(gray.pixels.begin(), gray.pixels.end(), [](uint8_t v) { return v == 7; }));
}

TEST(AugmentOps, RejectsBadArguments) {
  Image image = images().at("rgb");
  EXPECT_THROW(rotate(image, 10.0, Interpolation::Nearest, std::vector<uint8_t>{1, 2}), c10::Error);
  Image two_channels;
  two_channels.resize(2, 4, 4);
  EXPECT_THROW(invert(two_channels), c10::Error);
  EXPECT_THROW(shear_x(two_channels, 0.1, Interpolation::Nearest, std::vector<uint8_t>{0}), c10::Error);
  EXPECT_THROW(trivial_augment_magnitude(TrivialAugmentOp::Rotate, 31), c10::Error);
}

// Every op of both policies at full strength on tiny and odd shapes, 1 and 3 channels:
// the size and channel count stay, nothing reads outside the image.
TEST(AugmentOps, EveryOpKeepsShapeOnTinyImages) {
  for (auto [c, h, w] : {std::tuple{3, 1, 1}, std::tuple{1, 1, 1}, std::tuple{3, 1, 4}, std::tuple{1, 3, 1},
                         std::tuple{3, 2, 2}, std::tuple{1, 5, 3}}) {
    const Image original = make_image(c, h, w, 9, 0, 255);
    for (bool increasing : {false, true}) {
      for (RandAugmentOp op : rand_augment_op_set(increasing)) {
        for (Interpolation interp : {Interpolation::Bilinear, Interpolation::Bicubic, Interpolation::Nearest}) {
          Image image = original;
          apply_rand_augment_op(image, op, 10.0, true, interp, std::vector<uint8_t>{128});
          EXPECT_EQ(image.channels, c);
          EXPECT_EQ(image.height, h);
          EXPECT_EQ(image.width, w);
          EXPECT_EQ(image.pixels.size(), static_cast<size_t>(c * h * w));
        }
      }
    }
    for (int k = 0; k < kTrivialAugmentOps; ++k) {
      for (int bin : {0, 30}) {
        Image image = original;
        apply_trivial_augment_op(image, static_cast<TrivialAugmentOp>(k), bin, true, std::vector<uint8_t>{0});
        EXPECT_EQ(image.pixels.size(), static_cast<size_t>(c * h * w));
      }
    }
  }
}

}  // namespace
}  // namespace tessera::data
