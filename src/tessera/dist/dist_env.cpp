// Reading and checking the torchrun environment variables (see dist_env.h).
#include "tessera/dist/dist_env.h"

#include <cerrno>
#include <cstdlib>

#include "tessera/core/error.h"

namespace tessera::dist {
namespace {

Error bad_variable(const char* name, const char* value, const std::string& why) {
  return Error("environment variable " + std::string(name) + "=" + (value ? "'" + std::string(value) + "'" : "(unset)"),
               why);
}

int64_t integer_variable(const std::function<const char*(const char*)>& getenv, const char* name,
                         std::optional<int64_t> fallback, int64_t min, int64_t max) {
  const char* value = getenv(name);
  if (!value || !*value) {
    if (fallback) return *fallback;
    throw bad_variable(name, value, "is required for a multi-process run (WORLD_SIZE is set)");
  }
  char* end = nullptr;
  errno = 0;
  const long long parsed = std::strtoll(value, &end, 10);
  if (errno != 0 || end == value || *end != '\0') throw bad_variable(name, value, "is not an integer");
  if (parsed < min || parsed > max) {
    throw bad_variable(name, value, "must be in [" + std::to_string(min) + ", " + std::to_string(max) + "]");
  }
  return parsed;
}

}  // namespace

std::optional<DistEnv> parse_dist_env(const std::function<const char*(const char*)>& getenv) {
  const char* world = getenv("WORLD_SIZE");
  if (!world || !*world) return std::nullopt;

  constexpr int64_t kMaxProcesses = 1 << 20;
  DistEnv env;
  env.world_size = integer_variable(getenv, "WORLD_SIZE", std::nullopt, 1, kMaxProcesses);
  env.rank = integer_variable(getenv, "RANK", std::nullopt, 0, kMaxProcesses);
  if (env.rank >= env.world_size) {
    throw bad_variable("RANK", getenv("RANK"), "must be below WORLD_SIZE=" + std::to_string(env.world_size));
  }
  env.local_world_size = integer_variable(getenv, "LOCAL_WORLD_SIZE", env.world_size, 1, env.world_size);
  env.local_rank = integer_variable(getenv, "LOCAL_RANK", std::nullopt, 0, kMaxProcesses);
  if (env.local_rank >= env.local_world_size) {
    throw bad_variable("LOCAL_RANK", getenv("LOCAL_RANK"),
                       "must be below LOCAL_WORLD_SIZE=" + std::to_string(env.local_world_size));
  }
  const char* addr = getenv("MASTER_ADDR");
  if (!addr || !*addr) throw bad_variable("MASTER_ADDR", addr, "is required for a multi-process run (WORLD_SIZE is set)");
  env.master_addr = addr;
  env.master_port = integer_variable(getenv, "MASTER_PORT", std::nullopt, 1, 65535);
  return env;
}

std::optional<DistEnv> read_dist_env() {
  return parse_dist_env([](const char* name) -> const char* { return std::getenv(name); });
}

}  // namespace tessera::dist
