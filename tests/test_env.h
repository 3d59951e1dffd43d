// Paths the test suite gets from CTest (tests/CMakeLists.txt) and a scratch folder per test.
#pragma once

#include <gtest/gtest.h>

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace tessera::testing {

// The environment variable `name` when set, else the build's default (tests/CMakeLists.txt).
inline std::string env_or(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : std::string(fallback);
}

// Path of the built `tessera` executable.
inline std::string cli_path() { return env_or("TESSERA_CLI", TESSERA_CLI_DEFAULT); }
// The repository root (recipes/, tests/reference/, ...).
inline std::filesystem::path source_dir() { return env_or("TESSERA_SOURCE_DIR", TESSERA_SOURCE_DIR_DEFAULT); }
// The virtual environment's python (torch, timm, open_clip, safetensors).
inline std::string python_path() { return env_or("TESSERA_PYTHON", TESSERA_PYTHON_DEFAULT); }

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
