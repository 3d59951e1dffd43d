// Logging setup: spdlog to the console (stderr) and, once a run folder exists, to its log.txt.
#pragma once

#include <filesystem>

namespace tessera::core {

// Console-only logging with a short pattern; safe to call more than once.
void setup_console_logging();

// Adds `log_file` (appended) to the default logger, with full timestamps.
void add_log_file(const std::filesystem::path& log_file);

}  // namespace tessera::core
