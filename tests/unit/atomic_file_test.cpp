// Tests for write_file_atomic: content, replacement, and what a failure leaves behind.
#include "tessera/core/atomic_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "tessera/core/error.h"
#include "test_env.h"

namespace fs = std::filesystem;
using tessera::core::write_file_atomic;

namespace {

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Everything in `dir` besides the expected files: a leftover temporary would show here.
std::vector<std::string> entries(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

TEST(AtomicFile, WritesBytesExactly) {
  const auto dir = tessera::testing::scratch_dir();
  std::string bytes(3 << 20, '\0');  // larger than one write() may take, with NULs and high bytes
  std::mt19937 rng(7);
  for (auto& c : bytes) c = static_cast<char>(rng());
  write_file_atomic(dir / "out.bin", bytes);
  EXPECT_EQ(read_file(dir / "out.bin"), bytes);
  EXPECT_EQ(entries(dir), std::vector<std::string>{"out.bin"});
}

TEST(AtomicFile, WritesEmptyFile) {
  const auto dir = tessera::testing::scratch_dir();
  write_file_atomic(dir / "empty", "");
  ASSERT_TRUE(fs::exists(dir / "empty"));
  EXPECT_EQ(fs::file_size(dir / "empty"), 0u);
}

TEST(AtomicFile, ReplacesExistingFile) {
  const auto dir = tessera::testing::scratch_dir();
  write_file_atomic(dir / "f", "a much longer first version");
  write_file_atomic(dir / "f", "short");
  EXPECT_EQ(read_file(dir / "f"), "short");
  EXPECT_EQ(entries(dir), std::vector<std::string>{"f"});
}

TEST(AtomicFile, OverwritesStaleTemporaryOfSamePid) {
  const auto dir = tessera::testing::scratch_dir();
  const auto tmp = dir / ("f.tmp." + std::to_string(::getpid()));
  std::ofstream(tmp) << "stale leftovers from a crashed run, longer than the new content";
  write_file_atomic(dir / "f", "new");
  EXPECT_EQ(read_file(dir / "f"), "new");
  EXPECT_FALSE(fs::exists(tmp));
}

TEST(AtomicFile, MissingFolderThrowsNamingPath) {
  const auto dir = tessera::testing::scratch_dir();
  const auto target = dir / "no-such-folder" / "f";
  try {
    write_file_atomic(target, "x");
    FAIL() << "expected tessera::Error";
  } catch (const tessera::Error& e) {
    EXPECT_EQ(e.where(), target.string());
    EXPECT_NE(std::string(e.what()).find("No such file or directory"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(entries(dir).empty());
}

TEST(AtomicFile, FailedRenameRemovesTemporaryAndKeepsTarget) {
  const auto dir = tessera::testing::scratch_dir();
  // rename() cannot put a file over a non-empty folder: the write fails at the last step.
  const auto target = dir / "occupied";
  fs::create_directories(target / "child");
  try {
    write_file_atomic(target, "x");
    FAIL() << "expected tessera::Error";
  } catch (const tessera::Error& e) {
    EXPECT_EQ(e.where(), target.string());
    EXPECT_NE(e.message().find("cannot rename"), std::string::npos) << e.what();
  }
  EXPECT_EQ(entries(dir), std::vector<std::string>{"occupied"});
  EXPECT_TRUE(fs::is_directory(target / "child"));
}
