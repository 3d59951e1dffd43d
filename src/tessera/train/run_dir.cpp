// Run folder creation (see run_dir.h).
#include "tessera/train/run_dir.h"

#include "tessera/core/error.h"

namespace tessera::train {

std::filesystem::path create_run_dir(const std::filesystem::path& output_dir, const std::string& name) {
  std::error_code ec;
  std::filesystem::create_directories(output_dir, ec);
  if (ec) throw Error(output_dir.string(), "cannot create the output folder: " + ec.message());
  for (int suffix = 1; suffix < 10000; ++suffix) {
    auto dir = output_dir / (suffix == 1 ? name : name + "-" + std::to_string(suffix));
    // create_directory is atomic: two runs started together never share a folder.
    if (std::filesystem::create_directory(dir, ec)) {
      std::filesystem::create_directory(dir / "checkpoints");
      return dir;
    }
    if (ec) throw Error(dir.string(), "cannot create the run folder: " + ec.message());
  }
  throw Error(output_dir.string(), "too many runs named '" + name + "'");
}

}  // namespace tessera::train
