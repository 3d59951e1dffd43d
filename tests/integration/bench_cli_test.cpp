// `tessera bench` through the real executable on a tiny model: it runs, and --json prints
// one valid JSON object with positive rates. No timing is asserted (speed is reported by
// scripts/bench_vit_ti.sh, never tested).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "test_env.h"

namespace tessera::testing {
namespace {

constexpr const char* kTinyVit =
    "bench --model vit_tiny_patch16_224 --set depth=1 --set embed_dim=32 --set num_heads=2 --set patch_size=8"
    " --set num_classes=3 --img-size 16 --batch 4 --threads 1";

// The JSON object among the output's lines (logs go to stderr, which run_cli merges).
nlohmann::json json_line(const std::string& output) {
  std::istringstream lines(output);
  std::string line;
  nlohmann::json found;
  while (std::getline(lines, line)) {
    if (!line.empty() && line.front() == '{') found = nlohmann::json::parse(line);
  }
  return found;
}

void expect_bench_json(const std::string& extra, const std::string& mode, const std::string& precision) {
  const auto run = run_cli(std::string(kTinyVit) + " --steps 2 --warmup 1 --json " + extra);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  nlohmann::json out;
  ASSERT_NO_THROW(out = json_line(run.output)) << run.output;
  ASSERT_TRUE(out.is_object()) << run.output;
  EXPECT_EQ(out["framework"], "tessera");
  EXPECT_EQ(out["model"], "vit_tiny_patch16_224");
  EXPECT_EQ(out["mode"], mode);
  EXPECT_EQ(out["precision"], precision);
  EXPECT_EQ(out["batch"], 4);
  EXPECT_EQ(out["img_size"], 16);
  EXPECT_EQ(out["num_classes"], 3);
  EXPECT_EQ(out["threads"], 1);
  EXPECT_EQ(out["steps"], 2);
  EXPECT_GT(out["params"].get<int64_t>(), 0);
  ASSERT_EQ(out["step_seconds"].size(), 2u);
  for (const auto& s : out["step_seconds"]) EXPECT_GT(s.get<double>(), 0.0);
  const auto& rate = out["images_per_second"];
  EXPECT_GT(rate["median"].get<double>(), 0.0);
  EXPECT_LE(rate["p10"].get<double>(), rate["median"].get<double>());
  EXPECT_LE(rate["median"].get<double>(), rate["p90"].get<double>());
}

TEST(BenchCli, TrainStepsPrintJson) { expect_bench_json("", "train", "fp32"); }

TEST(BenchCli, InferenceInBf16PrintsJson) { expect_bench_json("--mode infer --precision bf16", "infer", "bf16"); }

TEST(BenchCli, TextReportNamesTheRates) {
  const auto run = run_cli(std::string(kTinyVit) + " --steps 2 --warmup 0");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("images/s median"), std::string::npos) << run.output;
}

TEST(BenchCli, BadSettingsAreErrors) {
  auto run = run_cli(std::string(kTinyVit) + " --precision fp8");
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_NE(run.output.find("fp8"), std::string::npos) << run.output;
  run = run_cli(std::string(kTinyVit) + " --set num_clases=4");
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_NE(run.output.find("did you mean"), std::string::npos) << run.output;
  run = run_cli("bench --model ViT-B-32 --steps 1");
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_NE(run.output.find("not an image classifier"), std::string::npos) << run.output;
}

}  // namespace
}  // namespace tessera::testing
