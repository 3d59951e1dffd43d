// tessera models: list the registered model names with their parameter counts.
#include <fmt/format.h>

#include <iostream>

#include "cli/commands.h"
#include "tessera/models/registry.h"

namespace tessera::cli {

void add_models_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("models", "List the models the registry knows (timm / open_clip names)");
  cmd->callback([] {
    std::cout << fmt::format("{:<34} {:<8} {:>14}\n", "name", "family", "parameters");
    for (const auto& m : models::list_models()) {
      std::cout << fmt::format("{:<34} {:<8} {:>14}\n", m.name, m.family, m.num_params);
    }
  });
}

}  // namespace tessera::cli
