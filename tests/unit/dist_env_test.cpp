// Tests for reading the torchrun environment (src/tessera/dist/dist_env.h): a
// single-process run without WORLD_SIZE, a complete job, and errors naming the variable.
#include "tessera/dist/dist_env.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "fixtures/error_of.h"

namespace tessera::dist {
namespace {

using tessera::testing::error_of;

std::optional<DistEnv> parse(const std::map<std::string, std::string>& vars) {
  return parse_dist_env([&](const char* name) -> const char* {
    const auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  });
}

std::map<std::string, std::string> job() {
  return {{"RANK", "3"}, {"LOCAL_RANK", "1"}, {"WORLD_SIZE", "4"}, {"MASTER_ADDR", "node0"}, {"MASTER_PORT", "29500"}};
}

TEST(DistEnv, NoWorldSizeIsASingleProcessRun) {
  EXPECT_FALSE(parse({}).has_value());
  EXPECT_FALSE(parse({{"RANK", "0"}}).has_value());
}

TEST(DistEnv, ReadsTheJob) {
  auto vars = job();
  vars["LOCAL_WORLD_SIZE"] = "2";
  const auto env = parse(vars);
  ASSERT_TRUE(env);
  EXPECT_EQ(env->rank, 3);
  EXPECT_EQ(env->local_rank, 1);
  EXPECT_EQ(env->world_size, 4);
  EXPECT_EQ(env->local_world_size, 2);
  EXPECT_EQ(env->master_addr, "node0");
  EXPECT_EQ(env->master_port, 29500);
  vars.erase("LOCAL_WORLD_SIZE");
  EXPECT_EQ(parse(vars)->local_world_size, 4);  // default: all on this machine
}

TEST(DistEnv, ErrorsNameTheVariable) {
  auto without = [](const std::string& name) {
    auto vars = job();
    vars.erase(name);
    return vars;
  };
  auto with = [](const std::string& name, const std::string& value) {
    auto vars = job();
    vars[name] = value;
    return vars;
  };
  EXPECT_NE(error_of([&] { parse(without("RANK")); }).find("RANK=(unset): is required"), std::string::npos);
  EXPECT_NE(error_of([&] { parse(without("MASTER_ADDR")); }).find("MASTER_ADDR=(unset)"), std::string::npos);
  EXPECT_NE(error_of([&] { parse(without("MASTER_PORT")); }).find("MASTER_PORT"), std::string::npos);
  EXPECT_NE(error_of([&] { parse(without("LOCAL_RANK")); }).find("LOCAL_RANK"), std::string::npos);
  EXPECT_NE(error_of([&] { parse(with("RANK", "4")); }).find("RANK='4': must be below WORLD_SIZE=4"),
            std::string::npos);
  EXPECT_NE(error_of([&] { parse(with("WORLD_SIZE", "two")); }).find("WORLD_SIZE='two': is not an integer"),
            std::string::npos);
  EXPECT_NE(error_of([&] { parse(with("MASTER_PORT", "70000")); }).find("MASTER_PORT='70000': must be in [1, 65535]"),
            std::string::npos);
  EXPECT_NE(error_of([&] { parse(with("LOCAL_WORLD_SIZE", "1")); }).find("LOCAL_RANK='1': must be below LOCAL_WORLD_SIZE=1"),
            std::string::npos);
}

}  // namespace
}  // namespace tessera::dist
