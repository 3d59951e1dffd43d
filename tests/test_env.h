// Paths the test suite gets from the build (tests/CMakeLists.txt), a scratch folder per
// test, and running commands.
#pragma once

#include <gtest/gtest.h>

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace tessera::testing {

// Path of the built `tessera` executable.
std::string cli_path();
// The repository root (recipes/, tests/reference/, ...).
std::filesystem::path source_dir();
// The virtual environment's python (torch, timm, open_clip, safetensors).
std::string python_path();
// Each is the environment variable of its name (TESSERA_CLI, TESSERA_SOURCE_DIR,
// TESSERA_PYTHON) when set, else the build's default (test_env.cpp).

// A fresh, empty folder for the running test, removed at the start of the next run.
inline std::filesystem::path scratch_dir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  auto dir = std::filesystem::temp_directory_path() / "tessera-tests" /
             (std::string(info->test_suite_name()) + "." + info->name());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// Runs `command` through the shell, capturing its output.
inline CommandResult run_command(const std::string& command) {
  CommandResult result;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return result;
  std::array<char, 4096> buffer;
  size_t n;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) result.output.append(buffer.data(), n);
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

// Runs the tessera CLI with `args` (already shell-quoted where needed).
inline CommandResult run_cli(const std::string& args) { return run_command("'" + cli_path() + "' " + args); }

}  // namespace tessera::testing
