// The HTTP inference server (see http_server.h).
#include "tessera/serve/http_server.h"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <httplib.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "tessera/config/names.h"
#include "tessera/core/error.h"
#include "tessera/data/dataset.h"
#include "tessera/data/image_decode.h"

namespace tessera::serve {

namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kPredictPath = "/v1/predict";
constexpr const char* kModelPath = "/v1/model";
constexpr const char* kHealthPath = "/healthz";

// A refusal: the status, a stable code for programs, and a sentence for people.
struct HttpError {
  int status;
  std::string code;
  std::string message;
};

void send_error(httplib::Response& res, const HttpError& e) {
  res.status = e.status;
  res.set_content(nlohmann::json{{"error", {{"status", e.status}, {"code", e.code}, {"message", e.message}}}}.dump(),
                  "application/json");
}

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

enum class BodyKind { Raw, Multipart, Unsupported };

// image/* and application/octet-stream are the image's bytes; multipart/form-data holds it as a file field.
BodyKind body_kind(const std::string& content_type) {
  const std::string type = lower(content_type.substr(0, content_type.find(';')));
  if (type == "multipart/form-data") return BodyKind::Multipart;
  if (type.rfind("image/", 0) == 0 || type == "application/octet-stream") return BodyKind::Raw;
  return BodyKind::Unsupported;
}

// Content-Length as a number; nullopt when absent. A value that is not a plain decimal
// number is reported through `bad`.
std::optional<uint64_t> content_length(const httplib::Request& req, bool& bad) {
  bad = false;
  if (!req.has_header("Content-Length")) return std::nullopt;
  const auto value = req.get_header_value("Content-Length");
  if (value.empty() || value.size() > 19 || !std::all_of(value.begin(), value.end(), ::isdigit)) {
    bad = true;
    return std::nullopt;
  }
  return std::stoull(value);
}

// ?top_k=N, when given, must be a positive integer.
bool valid_top_k(const std::string& value) {
  return !value.empty() && value.size() <= 9 && std::all_of(value.begin(), value.end(), ::isdigit) &&
         std::stoll(value) >= 1;
}

// The number of classes to answer with: ?top_k=N (checked by check_headers), else the
// server's default (Predictor::top_k answers all classes when there are fewer).
int64_t requested_top_k(const httplib::Request& req, int64_t fallback) {
  return req.has_param("top_k") ? std::stoll(req.get_param_value("top_k")) : fallback;
}

// Everything decided from the request line and headers alone, before any body is read:
// the route, the method, the body size and the content type. nullopt = go on.
std::optional<HttpError> check_headers(const httplib::Request& req, const ServerOptions& options) {
  const bool predict = req.path == kPredictPath;
  if (!predict && req.path != kModelPath && req.path != kHealthPath) {
    return HttpError{404, "not_found",
                     "no such endpoint: " + req.path + " (POST /v1/predict, GET /v1/model, GET /healthz)"};
  }
  const std::string allowed = predict ? "POST" : "GET";
  if (req.method != allowed && !(allowed == "GET" && req.method == "HEAD")) {
    return HttpError{405, "method_not_allowed", req.path + " takes " + allowed + ", not " + req.method};
  }
  bool bad_length = false;
  const auto length = content_length(req, bad_length);
  if (bad_length) return HttpError{400, "bad_request", "Content-Length is not a number"};
  if (length && *length > static_cast<uint64_t>(options.max_body_bytes)) {
    return HttpError{413, "body_too_large",
                     "the body has " + std::to_string(*length) + " bytes; the limit is " +
                         std::to_string(options.max_body_bytes) + " (--max-body-bytes)"};
  }
  if (predict && req.has_param("top_k") && !valid_top_k(req.get_param_value("top_k"))) {
    return HttpError{400, "bad_top_k", "top_k must be a positive integer, got '" + req.get_param_value("top_k") + "'"};
  }
  if (predict && body_kind(req.get_header_value("Content-Type")) == BodyKind::Unsupported) {
    const auto type = req.get_header_value("Content-Type");
    return HttpError{415, "unsupported_media_type",
                     "Content-Type '" + (type.empty() ? std::string("(none)") : type) +
                         "': send the image's bytes as image/* or application/octet-stream, or a "
                         "multipart/form-data file field"};
  }
  return std::nullopt;
}

// The image's bytes, read from the body with the byte limit enforced as they arrive.
struct ImageBody {
  std::string bytes;
  bool too_large = false;
  int64_t files = 0;  // multipart: file fields seen
};

// Reads the body through httplib's content reader. Returns false when reading failed
// (the client stalled or went away, or a malformed multipart body).
bool read_image_body(const httplib::Request& req, const httplib::ContentReader& reader, size_t limit, ImageBody& body) {
  size_t seen = 0;  // every body byte counts toward the limit, the image's or not
  auto take = [&](const char* data, size_t n, bool keep) {
    seen += n;
    if (seen > limit) {
      body.too_large = true;
      return false;
    }
    if (keep) body.bytes.append(data, n);
    return true;
  };
  if (!req.is_multipart_form_data()) {
    return reader([&](const char* data, size_t n) { return take(data, n, true); });
  }
  // The image is the first file field (or a field named image / file); other fields are skipped.
  bool in_image = false;
  return reader(
      [&](const httplib::MultipartFormData& part) {
        const bool is_file = !part.filename.empty() || part.name == "image" || part.name == "file";
        in_image = is_file && body.files == 0;
        if (is_file) ++body.files;
        return true;
      },
      [&](const char* data, size_t n) { return take(data, n, in_image); });
}

// The image of a predict request: the body read within the limits, one file field of a
// multipart body, its size checked from its header, then decoded. Every refusal is an
// HttpError; `res` gets "Connection: close" when the body was left half read.
data::Image request_image(const httplib::Request& req, const httplib::ContentReader& reader,
                          const ServerOptions& options, Clock::time_point started, httplib::Response& res) {
  const bool multipart = req.is_multipart_form_data();
  ImageBody body;
  if (!read_image_body(req, reader, static_cast<size_t>(options.max_body_bytes), body) || body.too_large) {
    res.set_header("Connection", "close");
    if (body.too_large) {
      throw HttpError{413, "body_too_large",
                      fmt::format("the body is over the limit of {} bytes (--max-body-bytes)", options.max_body_bytes)};
    }
    // A read fails at once on a malformed multipart body, and only after the read timeout
    // when the client stops sending.
    if (ms_since(started) >= 900.0 * options.timeout_s) {
      throw HttpError{408, "request_timeout",
                      fmt::format("the body did not arrive within {} s (--timeout-s)", options.timeout_s)};
    }
    throw HttpError{400, multipart ? "bad_multipart" : "bad_request",
                    multipart ? "the multipart/form-data body is malformed" : "the body ended before its length"};
  }
  if (multipart && body.files != 1) {
    throw HttpError{400, "bad_multipart",
                    body.files == 0 ? "the multipart body has no file field (send the image as 'image')"
                                    : fmt::format("one image per request; the body has {} files", body.files)};
  }
  if (body.bytes.empty()) throw HttpError{400, "empty_body", "the request has no image bytes"};

  const auto* bytes = reinterpret_cast<const uint8_t*>(body.bytes.data());
  if (const auto size = data::peek_image_size(bytes, body.bytes.size())) {
    if (size->first * size->second > options.max_pixels) {
      throw HttpError{413, "image_too_large",
                      fmt::format("the image is {}x{} pixels; the limit is {} (--max-pixels)", size->first,
                                  size->second, options.max_pixels)};
    }
  }
  data::Image image;
  try {
    data::decode_image(bytes, body.bytes.size(), image, "the request body", {options.max_pixels});
  } catch (const data::BadSample& e) {
    throw HttpError{422, "undecodable_image", e.what()};
  }
  return image;
}

nlohmann::json stats_json(const BatcherStats& s) {
  nlohmann::json sizes = nlohmann::json::object();
  for (const auto& [size, count] : s.batch_sizes) sizes[std::to_string(size)] = count;
  return {{"submitted", s.submitted},
          {"rejected", s.rejected},
          {"cancelled", s.cancelled},
          {"batches", s.batches},
          {"batch_sizes", sizes}};
}

void check_options(const ServerOptions& o) {
  auto positive = [](const char* flag, double value) {
    if (!(value > 0)) throw Error(flag, "must be positive, got " + std::to_string(value));
  };
  positive("--max-batch", static_cast<double>(o.max_batch));
  positive("--queue-size", static_cast<double>(o.queue_size));
  positive("--max-body-bytes", static_cast<double>(o.max_body_bytes));
  positive("--max-pixels", static_cast<double>(o.max_pixels));
  positive("--timeout-s", o.timeout_s);
  positive("--http-threads", static_cast<double>(o.http_threads));
  positive("--top-k", static_cast<double>(o.top_k));
  if (o.max_wait_ms < 0) throw Error("--max-wait-ms", "must not be negative");
  if (o.port < 0 || o.port > 65535) throw Error("--port", "must be in 0..65535, got " + std::to_string(o.port));
}

// GET /v1/model's body: the bundle's tessera.json with the labels in use and the
// serving settings, all fixed once the server is built.
std::string model_json(const Predictor& predictor, const ServerOptions& o) {
  auto j = bundle_json(predictor.bundle());
  j["classes"] = predictor.class_names();  // CLIP: the labels in use
  j["serving"] = {{"device", predictor.device().str()}, {"precision", config::to_string(predictor.precision())},
                  {"zero_shot", predictor.zero_shot()}, {"max_batch", o.max_batch},
                  {"max_wait_ms", o.max_wait_ms},       {"queue_size", o.queue_size},
                  {"max_body_bytes", o.max_body_bytes}, {"max_pixels", o.max_pixels},
                  {"timeout_s", o.timeout_s},           {"top_k", o.top_k}};
  return j.dump();
}

BatcherOptions batcher_options(const ServerOptions& o) {
  check_options(o);
  BatcherOptions b;
  b.max_batch = o.max_batch;
  b.max_wait = std::chrono::microseconds(static_cast<int64_t>(o.max_wait_ms * 1000.0));
  b.queue_size = o.queue_size;
  return b;
}

}  // namespace

InferenceServer::InferenceServer(Predictor& predictor, const ServerOptions& options)
    : predictor_(predictor),
      options_(options),
      batcher_(batcher_options(options),
               [&predictor](const at::Tensor& inputs) { return predictor.probabilities(inputs); }),
      http_(std::make_unique<httplib::Server>()),
      model_json_(model_json(predictor, options_)),
      started_(Clock::now()) {
  const auto threads = static_cast<size_t>(options_.http_threads);
  http_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  const auto timeout = std::chrono::duration<double>(options_.timeout_s);
  http_->set_read_timeout(std::chrono::duration_cast<std::chrono::microseconds>(timeout));
  http_->set_write_timeout(std::chrono::duration_cast<std::chrono::microseconds>(timeout));
  http_->set_keep_alive_max_count(100);
  // Without it a response's header and body writes meet Nagle's algorithm and the
  // client's delayed ACK: ~40 ms on every request.
  http_->set_tcp_nodelay(true);
  http_->set_payload_max_length(static_cast<size_t>(options_.max_body_bytes));
  install_routes();
  port_ = options_.port == 0 ? http_->bind_to_any_port(options_.host)
                             : (http_->bind_to_port(options_.host, options_.port) ? options_.port : -1);
  if (port_ < 0) {
    throw Error(options_.host + ":" + std::to_string(options_.port),
                "cannot listen there (in use, or not an address of this machine)");
  }
}

InferenceServer::~InferenceServer() {
  stop();
  batcher_.stop();
}

void InferenceServer::run() {
  spdlog::info("serving on http://{}:{} (POST /v1/predict, GET /v1/model, GET /healthz); max batch {}, max wait {} ms",
               options_.host, port_, options_.max_batch, options_.max_wait_ms);
  http_->listen_after_bind();  // returns after stop(), once every connection's thread is done
  batcher_.stop();             // nothing is waiting on it any more; runs whatever is left
}

void InferenceServer::stop() { http_->stop(); }

void InferenceServer::install_routes() {
  // Refusals that need only the headers go out before the body is read: a client that
  // sent "Expect: 100-continue" (curl does for large uploads) sends no body at all.
  http_->set_expect_100_continue_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (const auto error = check_headers(req, options_)) {
      send_error(res, *error);
      return error->status;
    }
    return 100;
  });
  http_->set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (const auto error = check_headers(req, options_)) {
      send_error(res, *error);
      res.set_header("Connection", "close");  // the client should not send the body it announced
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  // Errors httplib finds itself (an unparsable request line, ...) get the same JSON shape.
  http_->set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.body.empty()) {
      const bool too_large = res.status == 413;
      send_error(res, {res.status, too_large ? "body_too_large" : "bad_request",
                       too_large ? "the body is over the limit (--max-body-bytes)"
                                 : "the request could not be parsed (HTTP status " + std::to_string(res.status) + ")"});
    }
  });
  http_->set_exception_handler([](const httplib::Request& req, httplib::Response& res, std::exception_ptr error) {
    std::string what = "unknown error";
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    spdlog::error("{} {}: {}", req.method, req.path, what);
    send_error(res, {500, "internal_error", what});
  });

  http_->Get(kHealthPath, [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(
        nlohmann::json{
            {"status", "ok"}, {"uptime_s", ms_since(started_) / 1000.0}, {"batcher", stats_json(batcher_.stats())}}
            .dump(),
        "application/json");
  });

  http_->Get(kModelPath, [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(model_json_, "application/json");
  });

  http_->Post(kPredictPath, [this](const httplib::Request& req, httplib::Response& res,
                                   const httplib::ContentReader& reader) {
    const auto started = Clock::now();
    try {
      const int64_t k = requested_top_k(req, options_.top_k);
      auto input = at::empty(predictor_.input_shape(), at::kFloat);
      {
        const auto image = request_image(req, reader, options_, started, res);
        predictor_.preprocess(image, input.data_ptr<float>());
      }  // the decoded pixels are freed before the wait

      auto ticket = batcher_.submit(std::move(input));
      if (!ticket) {
        res.set_header("Retry-After", "1");
        throw HttpError{
            503, "queue_full",
            fmt::format("{} requests are waiting already (--queue-size); retry shortly", options_.queue_size)};
      }
      const auto deadline =
          started + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(options_.timeout_s));
      if (ticket->result.wait_until(deadline) != std::future_status::ready) {
        ticket->cancel();
        throw HttpError{503, "timeout", fmt::format("no result within {} s (--timeout-s)", options_.timeout_s)};
      }
      const BatchResult result = ticket->result.get();
      const auto predictions = predictions_json(predictor_.top_k(result.output, k));
      const nlohmann::json timing = {
          {"queued", result.queued_ms}, {"inference", result.run_ms}, {"total", ms_since(started)}};
      res.set_content(
          nlohmann::json{{"predictions", predictions}, {"batch_size", result.batch_size}, {"timing_ms", timing}}.dump(),
          "application/json");
    } catch (const HttpError& e) {
      send_error(res, e);
    }
  });
}

}  // namespace tessera::serve
