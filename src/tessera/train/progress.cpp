// Console progress (see progress.h).
#include "tessera/train/progress.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>

namespace tessera::train {

Progress::Progress(config::ProgressMode mode, int64_t log_every)
    : log_every_(log_every), started_(std::chrono::steady_clock::now()) {
  bar_ = mode == config::ProgressMode::Bar || (mode == config::ProgressMode::Auto && isatty(fileno(stderr)));
}

std::string Progress::format_duration(double seconds) {
  if (seconds < 60) return fmt::format("{:.1f}s", seconds);
  const auto s = static_cast<int64_t>(std::llround(seconds));
  if (s < 3600) return fmt::format("{}m {:02d}s", s / 60, s % 60);
  return fmt::format("{}h {:02d}m {:02d}s", s / 3600, (s % 3600) / 60, s % 60);
}

void Progress::update(const StepStats& st) {
  const auto now = std::chrono::steady_clock::now();
  const double elapsed = std::chrono::duration<double>(now - started_).count();
  const double eta = st.global_step > 0 ? elapsed / st.global_step * (st.total_steps - st.global_step) : 0.0;
  if (!bar_) {
    if (st.global_step % log_every_ != 0 && st.step_in_epoch != st.steps_per_epoch) return;
    spdlog::info("epoch {}/{} step {}/{} loss {:.4f} lr {:.3e} {:.0f} img/s eta {}", st.epoch + 1, st.epochs,
                 st.step_in_epoch, st.steps_per_epoch, st.loss, st.lr, st.images_per_second,
                 format_duration(eta));
    return;
  }
  const bool last = st.step_in_epoch == st.steps_per_epoch;
  if (!last && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  constexpr int width = 24;
  const int filled = static_cast<int>(width * st.step_in_epoch / std::max<int64_t>(1, st.steps_per_epoch));
  std::string bar(filled, '=');
  if (filled < width) bar += '>' + std::string(width - filled - 1, ' ');
  std::fprintf(stderr, "\r\033[Kepoch %lld/%lld [%s] %lld/%lld loss %.4f lr %.2e %.0f img/s ETA %s",
               static_cast<long long>(st.epoch + 1), static_cast<long long>(st.epochs), bar.c_str(),
               static_cast<long long>(st.step_in_epoch), static_cast<long long>(st.steps_per_epoch), st.loss, st.lr,
               st.images_per_second, format_duration(eta).c_str());
  std::fflush(stderr);
  line_open_ = true;
}

void Progress::finish_line() {
  if (!line_open_) return;
  std::fputc('\n', stderr);
  line_open_ = false;
}

}  // namespace tessera::train
