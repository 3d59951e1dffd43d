// The build's paths for the tests (see test_env.h). The only test file compiled with
// the clone's absolute paths (tests/CMakeLists.txt), so the others cache across clones.
#include "test_env.h"

#include <cstdlib>

namespace tessera::testing {
namespace {

std::string env_or(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : std::string(fallback);
}

}  // namespace

std::string cli_path() { return env_or("TESSERA_CLI", TESSERA_CLI_DEFAULT); }
std::filesystem::path source_dir() { return env_or("TESSERA_SOURCE_DIR", TESSERA_SOURCE_DIR_DEFAULT); }
std::string python_path() { return env_or("TESSERA_PYTHON", TESSERA_PYTHON_DEFAULT); }

}  // namespace tessera::testing
