// The two auto-augment policies as per-sample draws from the sample's SampleRng over
// the op tables of augment_ops.h: timm's RandAugment (rand_augment_transform) and
// torchvision's TrivialAugmentWide.
#include "tessera/data/auto_augment.h"

#include <array>
#include <span>

#include "tessera/core/error.h"
#include "tessera/data/augment_color.h"
#include "tessera/data/augment_ops.h"

namespace tessera::data {
namespace {

// The fill colour geometric ops expose, for 1- and 3-channel images. A 3-value fill on a
// 1-channel image becomes its PIL grayscale (timm would hand PIL a tuple it rejects).
class FillColor {
 public:
  FillColor(const std::vector<uint8_t>& fill, uint8_t default_value, const std::string& key) {
    if (fill.size() > 1 && fill.size() != 3) {
      throw Error(key, "the auto-augment fill colour has " + std::to_string(fill.size()) +
                           " values; give one per channel (3) or one for all");
    }
    if (fill.size() == 3) {
      rgb_ = {fill[0], fill[1], fill[2]};
      gray_[0] = pil_luma(fill[0], fill[1], fill[2]);
    } else {
      const uint8_t v = fill.empty() ? default_value : fill[0];
      rgb_ = {v, v, v};
      gray_[0] = v;
    }
  }
  std::span<const uint8_t> for_image(const Image& image) const {
    return image.channels == 1 ? std::span<const uint8_t>(gray_) : std::span<const uint8_t>(rgb_);
  }

 private:
  std::array<uint8_t, 3> rgb_{};
  std::array<uint8_t, 1> gray_{};
};

// timm's RandAugment: num_ops ops drawn uniformly with replacement; each applied with
// probability prob, at a level noised by magnitude_std and clipped to [0, magnitude_max],
// with a random sign where the op has one and bilinear or bicubic at random for
// geometric ops (timm's default interpolation=random).
class RandAugment final : public AutoAugment {
 public:
  RandAugment(RandAugmentSettings settings, FillColor fill) : settings_(settings), fill_(fill) {}

  void operator()(Image& image, SampleRng& rng) const override {
    const auto ops = rand_augment_op_set(settings_.increasing);
    for (int i = 0; i < settings_.num_ops; ++i) {
      const RandAugmentOp op = ops[static_cast<size_t>(rng.below(static_cast<int64_t>(ops.size())))];
      if (settings_.prob < 1.0 && rng.uniform() > settings_.prob) continue;  // AugmentOp.__call__'s test
      const double level = draw_rand_augment_level(settings_, rng);
      const bool negate = rand_augment_op_signed(op) && rng.uniform() > 0.5;  // _randomly_negate
      Interpolation interpolation = Interpolation::Bilinear;
      if (rand_augment_op_geometric(op)) {
        interpolation = rng.below(2) == 0 ? Interpolation::Bilinear : Interpolation::Bicubic;
      }
      apply_rand_augment_op(image, op, level, negate, interpolation, fill_.for_image(image));
    }
  }

 private:
  RandAugmentSettings settings_;
  FillColor fill_;
};

// torchvision's TrivialAugmentWide: one op uniformly, a uniform magnitude bin of 31 and
// a fair sign where the op has them, nearest interpolation.
class TrivialAugmentWide final : public AutoAugment {
 public:
  explicit TrivialAugmentWide(FillColor fill) : fill_(fill) {}

  void operator()(Image& image, SampleRng& rng) const override {
    const auto op = static_cast<TrivialAugmentOp>(rng.below(kTrivialAugmentOps));
    int bin = 0;
    bool negate = false;
    if (trivial_augment_op_has_magnitude(op)) {
      bin = static_cast<int>(rng.below(kTrivialAugmentBins));
      if (trivial_augment_op_signed(op)) negate = rng.uniform() <= 0.5;
    }
    apply_trivial_augment_op(image, op, bin, negate, fill_.for_image(image));
  }

 private:
  FillColor fill_;
};

}  // namespace

std::unique_ptr<const AutoAugment> make_auto_augment(const std::string& spec, const std::vector<uint8_t>& fill,
                                                     const std::string& key) {
  if (spec == "trivialaugment" || spec == "ta_wide") {
    return std::make_unique<TrivialAugmentWide>(FillColor(fill, /*torchvision's default fill=*/0, key));
  }
  if (spec == "rand" || spec.starts_with("rand-")) {
    return std::make_unique<RandAugment>(parse_rand_augment(spec, key), FillColor(fill, /*timm's _FILL=*/128, key));
  }
  throw Error(key, "unknown auto-augment policy '" + spec +
                       "': expected timm's RandAugment string ('rand-m9-mstd0.5-inc1', ...) or 'trivialaugment'"
                       " (timm's AutoAugment 'v0'/'original' and AugMix are not implemented)");
}

}  // namespace tessera::data
