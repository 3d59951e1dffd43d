// The flags `tessera predict` and `tessera serve` share: the device, precision and CPU
// threads the model runs with and, for CLIP bundles, the labels and prompts.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "tessera/config/names.h"
#include "tessera/core/error.h"
#include "tessera/serve/predictor.h"

namespace tessera::cli {

// The enum value a flag's value spells (config/names.h), else a tessera::Error naming
// the flag and the accepted spellings.
template <typename E>
E parse_choice(const std::string& flag, const std::string& value) {
  const auto parsed = config::from_string<E>(value);
  if (!parsed) {
    std::string names;
    for (const auto& n : config::names_of<E>()) names += (names.empty() ? "" : ", ") + n;
    throw Error(flag, "'" + value + "' is not one of " + names);
  }
  return *parsed;
}

struct PredictorFlags {
  std::string labels;
  std::string labels_file;
  std::vector<std::string> prompts;
  std::string device = "auto";
  std::string precision;  // empty: the bundle's on CUDA, fp32 on a CPU
  int64_t threads = 0;

  void add_to(CLI::App& cmd);
  // Sets the CPU threads and returns the predictor's options; a bad value is a
  // tessera::Error naming its flag.
  serve::PredictorOptions apply() const;
};

}  // namespace tessera::cli
