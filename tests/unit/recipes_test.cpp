// Every recipe and config shipped in recipes/ and configs/ loads through config::load
// (unknown keys, bad values and broken base chains fail here, not in a user's run), the
// resolved recipe survives the to_yaml round trip, and each recipe's model builds.
// Zero-shot prompt files (*_templates.yaml) load through config::load_prompt_templates.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <vector>

#include "test_env.h"
#include "tessera/config/load.h"
#include "tessera/config/prompt_templates.h"
#include "tessera/core/error.h"
#include "tessera/models/clip.h"
#include "tessera/models/registry.h"

namespace tessera::config {
namespace {

namespace fs = std::filesystem;

std::vector<fs::path> shipped_yaml_files() {
  std::vector<fs::path> files;
  for (const char* folder : {"recipes", "configs"}) {
    const auto root = testing::source_dir() / folder;
    if (!fs::exists(root)) continue;
    for (const auto& entry : fs::recursive_directory_iterator(root)) {
      const auto ext = entry.path().extension();
      if (entry.is_regular_file() && (ext == ".yaml" || ext == ".yml")) files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

TEST(Recipes, EveryShippedYamlLoads) {
  const auto files = shipped_yaml_files();
  // The README's recipes are among them (a moved recipe must not pass by being skipped).
  for (const auto* expected : {"recipes/quickstart.yaml", "recipes/deit/deit_tiny_fashion_mnist.yaml",
                               "recipes/swin/swin_fashion_mnist.yaml", "recipes/deit/deit_tiny_distilled_fashion_mnist.yaml",
                               "recipes/cifar10/deit_tiny_distilled_32.yaml", "recipes/clip/clip_fashion_mnist.yaml",
                               "recipes/clip/clip_vit_b32_finetune_captions.yaml"}) {
    EXPECT_NE(std::find(files.begin(), files.end(), testing::source_dir() / expected), files.end()) << expected;
  }
  for (const auto& file : files) {
    SCOPED_TRACE(file.string());
    if (file.stem().string().ends_with("_templates")) {
      // Zero-shot prompt templates (tessera eval --zero-shot --templates), not a recipe.
      try {
        EXPECT_FALSE(load_prompt_templates(file.string()).templates.empty());
      } catch (const Error& e) {
        ADD_FAILURE() << e.what();
      }
      continue;
    }
    RecipeConfig cfg;
    try {
      cfg = load(file.string());
    } catch (const Error& e) {
      ADD_FAILURE() << e.what();
      continue;
    }
    // What load gives back, written and read again, is the same recipe.
    const auto yaml = to_yaml(cfg);
    EXPECT_EQ(to_yaml(load_string(yaml, file.string() + " (resolved)")), yaml);
    // A recipe's architecture numbers fit together (heads divide widths, windows fit maps).
    if (file.string().find("/recipes/") == std::string::npos) continue;
    try {
      if (models::find_model(cfg.model.name).family == "clip") {
        models::create_clip(cfg.model);
      } else {
        models::create(cfg.model);
      }
    } catch (const Error& e) {
      ADD_FAILURE() << "the model does not build: " << e.what();
    }
  }
}

}  // namespace
}  // namespace tessera::config
