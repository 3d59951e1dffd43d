// The HTTP inference server (cpp-httplib): POST /v1/predict takes one image (raw bytes
// with an image/* or application/octet-stream content type, or a multipart/form-data
// file field) and answers the top-k classes as JSON; GET /v1/model describes the
// bundle; GET /healthz says the server is up, with request and batch counters.
// Requests are batched across connections (batcher.h) into one model call.
//
// Every refusal is a JSON body {"error": {"status", "code", "message"}}:
//   400 empty_body, bad_multipart, bad_request, bad_top_k
//   404 not_found          405 method_not_allowed
//   408 request_timeout    the body did not arrive within the timeout (slow client)
//   413 body_too_large     Content-Length above the limit: answered from the headers,
//                          before any of the body is read; a chunked body is cut off
//                          at the limit
//   413 image_too_large    width x height (from the image header, before decoding) above the limit
//   415 unsupported_media_type
//   422 undecodable_image  not an image, truncated or corrupt
//   503 queue_full         the batch queue is full (Retry-After: 1)
//   503 timeout            no result within the timeout
//   500 internal_error     a failure inside the server (the server keeps running)
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "tessera/serve/batcher.h"
#include "tessera/serve/predictor.h"

namespace httplib {
class Server;
}

namespace tessera::serve {

struct ServerOptions {
  std::string host = "127.0.0.1";  // loopback only unless asked
  int port = 8080;                 // 0: any free port (see InferenceServer::port)
  int64_t max_batch = 32;
  double max_wait_ms = 5.0;
  int64_t queue_size = 256;  // requests waiting for a batch before 503
  int64_t max_body_bytes = 20 << 20;
  int64_t max_pixels = 16 << 20;  // width x height of an accepted image
  double timeout_s = 30.0;        // reading a request (per read) and waiting for its result
  int64_t http_threads = 64;      // connections served at once (one thread each)
  int64_t top_k = 5;              // default for requests without ?top_k=
};

class InferenceServer {
 public:
  // Checks the options (tessera::Error naming the flag), starts the batcher and binds
  // the listening socket, so port() is known before run().
  InferenceServer(Predictor& predictor, const ServerOptions& options);
  ~InferenceServer();
  InferenceServer(const InferenceServer&) = delete;
  InferenceServer& operator=(const InferenceServer&) = delete;

  int port() const { return port_; }

  // Serves until stop(); then finishes the requests in flight (their batches run) and
  // returns. Call once.
  void run();
  // Stops accepting connections; run() returns once the requests in flight are
  // answered. Safe from any thread, any number of times.
  void stop();

  BatcherStats batcher_stats() const { return batcher_.stats(); }

 private:
  void install_routes();

  Predictor& predictor_;
  ServerOptions options_;
  Batcher batcher_;
  std::unique_ptr<httplib::Server> http_;
  std::string model_json_;  // GET /v1/model's body, built once
  int port_ = -1;
  std::chrono::steady_clock::time_point started_;
};

}  // namespace tessera::serve
