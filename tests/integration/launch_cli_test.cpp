// tessera launch through the CLI: N ranks of a tessera command, and a failing command
// reported by rank and exit status.
#include <gtest/gtest.h>

#include <string>

#include "test_env.h"

namespace {

using tessera::testing::run_cli;

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(LaunchCli, RunsTheCommandOncePerRank) {
  const auto r = run_cli("launch --nproc 2 -- models");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(count(r.output, "vit_tiny_patch16_224"), 2u) << r.output;
}

TEST(LaunchCli, AFailingRankIsNamedWithItsStatus) {
  const auto r = run_cli("launch --nproc 2 --grace 1 -- train /nonexistent/recipe.yaml");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("error: launch: rank "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(" exited with status 1"), std::string::npos) << r.output;
}

TEST(LaunchCli, NeedsACommand) {
  const auto r = run_cli("launch --nproc 2");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("command is required"), std::string::npos) << r.output;
}

}  // namespace
