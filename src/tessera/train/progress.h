// Training progress on the console: a live bar on a terminal, plain log lines otherwise.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "tessera/config/recipe.h"

namespace tessera::train {

struct StepStats {
  int64_t epoch = 0;        // 0-based
  int64_t epochs = 1;
  int64_t step_in_epoch = 0;  // steps done in this epoch
  int64_t steps_per_epoch = 1;
  int64_t global_step = 0;    // optimizer steps done
  int64_t total_steps = 1;
  double loss = 0.0;          // running mean over the epoch so far
  double lr = 0.0;
  double images_per_second = 0.0;
};

class Progress {
 public:
  Progress(config::ProgressMode mode, int64_t log_every);
  // Called after every step; redraws the bar at most ~10 times a second, or logs a
  // line every log_every steps.
  void update(const StepStats& stats);
  // Ends the current bar line (before other output, and at the end of an epoch).
  void finish_line();
  bool uses_bar() const { return bar_; }

  // "1h 02m 03s" / "2m 03s" / "4.2s"
  static std::string format_duration(double seconds);

 private:
  bool bar_ = false;
  bool line_open_ = false;
  int64_t log_every_ = 50;
  std::chrono::steady_clock::time_point started_;
  std::chrono::steady_clock::time_point last_draw_;
};

}  // namespace tessera::train
