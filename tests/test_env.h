// Paths the test suite gets from CTest (tests/CMakeLists.txt) and a scratch folder per test.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace tessera::testing {

inline std::string env_or_skip(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

// Path of the built `tessera` executable.
inline std::string cli_path() { return env_or_skip("TESSERA_CLI"); }
// The repository root (recipes/, tests/reference/, ...).
inline std::filesystem::path source_dir() { return env_or_skip("TESSERA_SOURCE_DIR"); }
// The virtual environment's python (torch, timm, open_clip, safetensors).
inline std::string python_path() { return env_or_skip("TESSERA_PYTHON"); }

// A fresh, empty folder for the running test, removed at the start of the next run.
inline std::filesystem::path scratch_dir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  auto dir = std::filesystem::temp_directory_path() / "tessera-tests" /
             (std::string(info->test_suite_name()) + "." + info->name());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace tessera::testing
