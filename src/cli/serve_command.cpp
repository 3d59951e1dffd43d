// tessera serve --bundle DIR --port P: an HTTP inference server for a bundle, with
// dynamic batching; SIGTERM / Ctrl-C stop it after the requests in flight are answered.
#include <signal.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <iostream>
#include <thread>

#include "cli/commands.h"
#include "cli/predictor_flags.h"
#include "tessera/serve/http_server.h"
#include "tessera/serve/predictor.h"

namespace tessera::cli {

namespace {

struct ServeArgs {
  std::string bundle;
  serve::ServerOptions server;
  PredictorFlags predictor;
};

// SIGTERM and SIGINT, blocked in every thread (the mask is inherited, so this runs before
// any thread starts) and taken by one watcher thread with sigtimedwait: the server stops
// from ordinary code, not from inside a signal handler.
class StopSignals {
 public:
  StopSignals() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGTERM);
    sigaddset(&set_, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set_, nullptr);
  }
  ~StopSignals() {
    done_ = true;
    if (watcher_.joinable()) watcher_.join();
  }
  // Calls `stop` (once) when a signal arrives.
  void watch(std::function<void()> stop) {
    watcher_ = std::thread([this, stop = std::move(stop)] {
      const timespec tick{0, 100 * 1000 * 1000};
      while (!done_) {
        siginfo_t info;
        const int sig = sigtimedwait(&set_, &info, &tick);
        if (sig == SIGTERM || sig == SIGINT) {
          spdlog::info("{}: no new connections; answering the requests in flight, then stopping",
                       sig == SIGTERM ? "SIGTERM" : "SIGINT");
          stop();
          return;
        }
      }
    });
  }

 private:
  sigset_t set_;
  std::atomic<bool> done_{false};
  std::thread watcher_;
};

void run_serve(const ServeArgs& args) {
  StopSignals signals;  // first: before the model's and the server's threads exist
  serve::Predictor predictor(args.bundle, args.predictor.apply());
  serve::InferenceServer server(predictor, args.server);
  // The line scripts and tests wait for (with --port 0 it is the only place the port shows).
  std::cout << "listening on http://" << args.server.host << ":" << server.port() << std::endl;
  signals.watch([&server] { server.stop(); });
  server.run();
  const auto stats = server.batcher_stats();
  spdlog::info("stopped: {} requests answered in {} batches ({} refused as busy)", stats.submitted, stats.batches,
               stats.rejected);
}

}  // namespace

void add_serve_command(CLI::App& app) {
  auto args = std::make_shared<ServeArgs>();
  auto& s = args->server;
  auto* cmd = app.add_subcommand("serve", "Serve a bundle over HTTP with dynamic batching");
  cmd->add_option("--bundle", args->bundle, "the bundle folder `tessera export` wrote")->required();
  cmd->add_option("--port", s.port, "TCP port (default 8080; 0 picks a free one and prints it)");
  cmd->add_option("--host", s.host, "address to listen on (default 127.0.0.1: this machine only)");
  cmd->add_option("--max-batch", s.max_batch, "requests per model call (default 32)");
  cmd->add_option("--max-wait-ms", s.max_wait_ms, "longest a request waits for others to share its batch (default 5)");
  cmd->add_option("--queue-size", s.queue_size, "requests waiting for a batch before new ones get 503 (default 256)");
  cmd->add_option("--max-body-bytes", s.max_body_bytes, "largest request body (default 20 MiB); larger gets 413");
  cmd->add_option("--max-pixels", s.max_pixels, "largest image, width x height (default 16 Mi); larger gets 413");
  cmd->add_option("--timeout-s", s.timeout_s, "read timeout and longest wait for a result (default 30)");
  cmd->add_option("--http-threads", s.http_threads, "connections served at once (default 64)");
  cmd->add_option("--top-k", s.top_k, "classes per answer unless the request says ?top_k= (default 5)");
  args->predictor.add_to(*cmd);
  cmd->callback([args] { run_serve(*args); });
}

}  // namespace tessera::cli
