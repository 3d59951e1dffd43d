// tessera: the command-line entry point. User errors print one line and exit 1.
#include <c10/util/Exception.h>
#include <spdlog/spdlog.h>

#include <cstdio>

#include "cli/commands.h"
#include "tessera/core/error.h"
#include "tessera/core/logging.h"

int main(int argc, char** argv) {
  CLI::App app{"Tessera: train, evaluate and serve vision transformers from YAML recipes"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "tessera 0.1.0");
  tessera::cli::add_train_command(app);
  tessera::cli::add_eval_command(app);
  tessera::cli::add_models_command(app);
  tessera::cli::add_convert_command(app);
  tessera::cli::add_bench_command(app);
  tessera::cli::add_bench_data_command(app);
  tessera::cli::add_export_command(app);
  tessera::cli::add_predict_command(app);
  tessera::cli::add_serve_command(app);
  tessera::cli::add_launch_command(app);

  tessera::core::setup_console_logging();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const tessera::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  } catch (const c10::Error& e) {
    // A check inside LibTorch (shape, dtype, ...): show its message, not its stack.
    std::fprintf(stderr, "error: %s\n", e.what_without_backtrace());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
