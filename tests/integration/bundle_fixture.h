// What the export / predict / serve tests share: pictures whose class is their dominant
// colour, random-init weights of a recipe's model (as `tessera export --recipe` takes
// them), and shell quoting.
#pragma once

#include <ATen/ATen.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "fixtures/image_files.h"
#include "tessera/config/load.h"
#include "tessera/models/clip.h"
#include "tessera/models/registry.h"
#include "tessera/train/checkpoint.h"

namespace tessera::testing {

inline std::string quoted(const std::filesystem::path& p) { return "'" + p.string() + "'"; }

inline std::string joined(const std::vector<std::filesystem::path>& paths) {
  std::string s;
  for (const auto& p : paths) s += " " + quoted(p);
  return s;
}

// A noisy picture (BGR, as OpenCV holds it) whose dominant colour is its class c of 3
// (0 blue, 1 green, 2 red), in one of three sizes, so the evaluation transform has to
// resize and center-crop; `seed` varies it.
inline cv::Mat class_image(int c, int seed) {
  std::mt19937 rng(static_cast<uint32_t>(seed * 31 + c));
  const int sizes[3][2] = {{40, 48}, {48, 40}, {44, 44}};
  const int w = sizes[seed % 3][0], h = sizes[seed % 3][1];
  cv::Mat image(h, w, CV_8UC3);
  std::uniform_int_distribution<int> noise(-70, 70);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      cv::Vec3b px;
      for (int ch = 0; ch < 3; ++ch) {
        const int base = ch == c ? 150 : 70 + (x * 3 + y * 2 + seed * 11) % 60;
        px[ch] = cv::saturate_cast<uint8_t>(base + noise(rng));
      }
      image.at<cv::Vec3b>(y, x) = px;
    }
  }
  return image;
}

// Writes `recipe_yaml` to DIR/NAME.yaml and random-init weights of its model to
// DIR/NAME.safetensors (every parameter nudged off its init, so zero-init heads and
// biases take part); returns the recipe's path.
inline std::filesystem::path write_random_model(const std::filesystem::path& dir, const std::string& name,
                                                const std::string& recipe_yaml) {
  const auto recipe = dir / (name + ".yaml");
  std::ofstream(recipe) << recipe_yaml;
  const auto cfg = config::load(recipe.string());
  const auto weights = dir / (name + ".safetensors");
  at::manual_seed(7);
  at::NoGradGuard no_grad;
  if (models::find_model(cfg.model.name).family == "clip") {
    auto clip = models::create_clip(cfg.model);
    for (auto& p : clip->parameters()) {
      if (p.dim() <= 1) p.add_(at::randn_like(p) * 0.02);
    }
    train::save_weights(*clip, weights);
  } else {
    auto model = models::create(cfg.model);
    for (auto& p : model->parameters()) p.add_(at::randn_like(p) * 0.02);
    train::save_weights(*model, weights);
  }
  return recipe;
}

}  // namespace tessera::testing
