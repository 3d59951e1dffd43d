// The registry's parameter counts (`tessera models`) against timm's for every registered
// ViT and DeiT name; timm builds each on the meta device at test time
// (tests/reference/timm_param_counts.py).
#include <gtest/gtest.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "reference_runner.h"
#include "tessera/models/registry.h"

namespace tessera::models {
namespace {

TEST(RegistryParamCount, EveryVitAndDeitNameMatchesTimm) {
  std::vector<ModelInfo> models;
  std::string names;
  for (const auto& m : list_models()) {
    if (m.family != "vit" && m.family != "deit") continue;
    if (m.name == "vit") continue;  // fully custom: no timm counterpart
    models.push_back(m);
    names += " " + m.name;
  }
  ASSERT_FALSE(models.empty());
  const auto run = testing::run_reference_script("timm_param_counts.py", names);
  ASSERT_FALSE(HasFailure());
  // The JSON object is the script's last line (timm may log before it).
  const auto start = run.output.rfind("\n{");
  const auto counts = nlohmann::json::parse(run.output.substr(start == std::string::npos ? 0 : start + 1));

  std::vector<std::string> not_in_timm;
  int compared = 0;
  for (const auto& m : models) {
    ASSERT_TRUE(counts.contains(m.name)) << m.name;
    if (counts[m.name].is_null()) {
      not_in_timm.push_back(m.name);
      continue;
    }
    const auto timm = counts[m.name].get<int64_t>();
    std::cout << "[params] " << m.name << ": tessera " << m.num_params << ", timm " << timm << "\n";
    EXPECT_EQ(m.num_params, timm) << m.name;
    ++compared;
  }
  std::cout << "[params] compared " << compared << " names; not in timm (skipped):";
  for (const auto& n : not_in_timm) std::cout << " " << n;
  std::cout << (not_in_timm.empty() ? " none" : "") << "\n";
  EXPECT_GT(compared, 0);
}

}  // namespace
}  // namespace tessera::models
