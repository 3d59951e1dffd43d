// The stop request flag and its signal handlers (see stop_signal.h).
#include "tessera/train/stop_signal.h"

#include <atomic>
#include <csignal>
#include <cstring>

namespace tessera::train {

namespace {

// Lock-free, so setting it from a signal handler is async-signal-safe.
std::atomic<int> requested{0};
static_assert(std::atomic<int>::is_always_lock_free);

extern "C" void on_stop_signal(int signal) { requested.store(signal, std::memory_order_relaxed); }

}  // namespace

void install_stop_handlers() {
  struct sigaction action;
  std::memset(&action, 0, sizeof action);
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  // SA_RESTART: a blocking read interrupted by the signal carries on; SA_RESETHAND: the
  // second signal gets the default action (terminate).
  action.sa_flags = SA_RESTART | SA_RESETHAND;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

int stop_requested() { return requested.load(std::memory_order_relaxed); }

void clear_stop_request() { requested.store(0, std::memory_order_relaxed); }

}  // namespace tessera::train
