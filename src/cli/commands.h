// The tessera subcommands; each file registers one on the app.
#pragma once

#include <CLI/CLI.hpp>

namespace tessera::cli {

// Each adds its subcommand to `app`; the callback runs the command and throws
// tessera::Error for anything the user can fix.
void add_train_command(CLI::App& app);
void add_eval_command(CLI::App& app);
void add_models_command(CLI::App& app);
void add_convert_command(CLI::App& app);
void add_bench_command(CLI::App& app);
void add_bench_data_command(CLI::App& app);
void add_export_command(CLI::App& app);
void add_predict_command(CLI::App& app);
void add_serve_command(CLI::App& app);
void add_launch_command(CLI::App& app);

}  // namespace tessera::cli
