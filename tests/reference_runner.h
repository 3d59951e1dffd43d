// Runs a Python reference script of tests/reference/ in the virtual environment and
// reads what it wrote: the parity tests' link to timm / open_clip.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "tessera/core/safetensors.h"
#include "test_env.h"

namespace tessera::testing {

// `script` (a file of tests/reference/) with `args` (already shell-quoted). A failing
// script fails the test with its output: these references are never optional.
inline CommandResult run_reference_script(const std::string& script, const std::string& args) {
  const auto path = source_dir() / "tests" / "reference" / script;
  auto result = run_command("'" + python_path() + "' '" + path.string() + "' " + args);
  EXPECT_EQ(result.exit_code, 0) << script << " failed:\n" << result.output;
  return result;
}

// The tensors of a safetensors file by name.
inline std::map<std::string, at::Tensor> read_tensors(const std::filesystem::path& path) {
  std::map<std::string, at::Tensor> out;
  for (auto& [name, tensor] : core::load_safetensors(path).tensors) out[name] = tensor;
  return out;
}

// Largest |a - b|, for messages and the notes.
inline double max_abs_diff(const at::Tensor& a, const at::Tensor& b) {
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

}  // namespace tessera::testing
