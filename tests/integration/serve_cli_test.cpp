// `tessera serve` end to end over loopback: answers match `tessera predict`, a load test
// (many clients for a bounded time) gets only 200s and shows requests sharing batches,
// every kind of bad input gets its 4xx JSON error while the server keeps serving with
// flat memory, a full queue gets 503, and SIGTERM answers the requests in flight first.
#include <gtest/gtest.h>

#include <barrier>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "bundle_fixture.h"
#include "fixtures/image_files.h"
#include "serve_load_client.h"
#include "test_env.h"

namespace tessera::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// A random-init ViT bundle on 32x32 inputs (ImageNet normalization, crop_pct 0.875).
fs::path make_bundle(const fs::path& dir, const std::string& model) {
  const auto recipe = write_random_model(
      dir, "model",
      "model: " + model + "\ndata: {image_size: 32, crop_pct: 0.875, interpolation: bicubic, normalize: imagenet}\n");
  const auto bundle = dir / "bundle";
  const auto r = run_cli("export " + quoted(dir / "model.safetensors") + " --recipe " + quoted(recipe) +
                         " --labels 'red,green,blue,gray,white' --out " + quoted(bundle));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return bundle;
}

const std::string kSmallVit =
    "{name: vit, img_size: 32, patch_size: 8, embed_dim: 64, depth: 2, num_heads: 2, num_classes: 5}";

std::string png_bytes(int c, int seed) {
  const auto bytes = encode(class_image(c, seed), ".png");
  return std::string(bytes.begin(), bytes.end());
}

// The error object of a refusal, checked against the status.
void expect_error(const HttpResponse& r, int status, const std::string& code, const std::string& what) {
  EXPECT_EQ(r.status, status) << what << ": " << r.body;
  const auto j = r.json();
  ASSERT_TRUE(j.is_object() && j.contains("error")) << what << ": not a JSON error: '" << r.body << "'";
  EXPECT_EQ(j["error"]["status"], status) << what;
  EXPECT_EQ(j["error"]["code"], code) << what << ": " << r.body;
  EXPECT_FALSE(j["error"]["message"].get<std::string>().empty()) << what;
  EXPECT_EQ(r.headers.count("content-type") ? r.headers.at("content-type") : "", "application/json") << what;
}

void expect_serving(int port, const std::string& after) {
  const auto r = http_exchange(port, predict_request(png_bytes(0, 1)));
  EXPECT_EQ(r.status, 200) << "after " << after << ": " << r.body;
}

TEST(ServeCli, AnswersLikePredictAndBatchesUnderLoad) {
  const auto dir = scratch_dir();
  const auto bundle = make_bundle(dir, kSmallVit);
  const auto image = dir / "img.png";
  write_image(image, class_image(2, 4), ".png");
  const auto predicted = run_cli("predict --json --top-k 5 --bundle " + quoted(bundle) + " " + quoted(image));
  ASSERT_EQ(predicted.exit_code, 0) << predicted.output;
  nlohmann::json expected;
  std::istringstream(predicted.output.substr(predicted.output.find("\n{") + 1)) >> expected;
  const auto& want = expected["results"][0]["predictions"];

  ServerProcess server(
      cli_path(),
      {"--bundle", bundle.string(), "--max-batch", "8", "--max-wait-ms", "5", "--threads", "1", "--http-threads", "32"},
      dir / "server.log");
  ASSERT_GT(server.port(), 0) << server.log_text();
  const int port = server.port();

  auto health = http_exchange(port, get_request("/healthz"));
  ASSERT_EQ(health.status, 200) << health.body;
  EXPECT_EQ(health.json()["status"], "ok");
  const auto model = http_exchange(port, get_request("/v1/model"));
  ASSERT_EQ(model.status, 200);
  EXPECT_EQ(model.json()["classes"], nlohmann::json({"red", "green", "blue", "gray", "white"}));
  EXPECT_EQ(model.json()["preprocessing"]["crop_pct"], 0.875);
  EXPECT_EQ(model.json()["serving"]["max_batch"], 8);

  // Raw bytes and a multipart upload of the same file: predict's answer.
  std::ifstream in(image, std::ios::binary);
  const std::string file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (const auto& request : {predict_request(file), predict_request(multipart_body("XyZ", "image", "img.png", file),
                                                                     "multipart/form-data; boundary=XyZ")}) {
    const auto r = http_exchange(port, request);
    ASSERT_EQ(r.status, 200) << r.body;
    const auto got = r.json()["predictions"];
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i]["label"], want[i]["label"]);
      EXPECT_NEAR(got[i]["probability"].get<double>(), want[i]["probability"].get<double>(), 1e-5);
    }
  }
  const auto two = http_exchange(port, predict_request(file, "image/png", "?top_k=2"));
  ASSERT_EQ(two.status, 200);
  EXPECT_EQ(two.json()["predictions"].size(), 2u);

  // The load test: 16 clients for 3 s, each request a different picture.
  const auto load = run_load(port, 16, 3000ms, predict_request(png_bytes(1, 7)));
  int64_t largest = 0;
  std::ostringstream sizes;
  for (const auto& [size, count] : load.batch_sizes) {
    largest = std::max(largest, size);
    sizes << " " << size << ":" << count;
  }
  std::cout << "[ load ] 16 clients, " << load.seconds << " s: " << load.ok << " answers, "
            << static_cast<double>(load.ok) / load.seconds << " requests/s, p50 " << load.percentile(50) << " ms, p99 "
            << load.percentile(99) << " ms; batch size:count" << sizes.str() << "\n";
  EXPECT_EQ(load.failed, 0) << "every valid request is answered 200";
  EXPECT_GT(load.ok, 16);
  EXPECT_GT(largest, 1) << "concurrent requests never shared a model call";
  EXPECT_LE(largest, 8) << "--max-batch 8";
  const auto stats = http_exchange(port, get_request("/healthz")).json()["batcher"];
  EXPECT_EQ(stats["rejected"], 0);
  std::cout << "[ load ] server batch sizes " << stats["batch_sizes"].dump() << "\n";

  EXPECT_EQ(server.stop(SIGTERM), 0) << server.log_text();
}

TEST(ServeCli, BadInputsGetJsonErrorsAndMemoryStaysFlat) {
  const auto dir = scratch_dir();
  const auto bundle = make_bundle(dir, kSmallVit);
  ServerProcess server(cli_path(),
                       {"--bundle", bundle.string(), "--max-body-bytes", "65536", "--max-pixels", "1000000",
                        "--timeout-s", "1", "--threads", "1", "--http-threads", "16"},
                       dir / "server.log");
  ASSERT_GT(server.port(), 0) << server.log_text();
  const int port = server.port();

  const auto png = png_bytes(0, 2);
  const std::string truncated = png.substr(0, png.size() / 2);
  const auto huge_header = png_header_claiming(20000, 20000);
  const std::string huge(huge_header.begin(), huge_header.end());
  struct Case {
    std::string what, request, code;
    int status;
  };
  const std::vector<Case> cases = {
      {"empty body", predict_request(""), "empty_body", 400},
      {"truncated PNG", predict_request(truncated), "undecodable_image", 422},
      {"text file", predict_request("just some text, not an image\n", "image/jpeg"), "undecodable_image", 422},
      {"20000x20000 header", predict_request(huge), "image_too_large", 413},
      {"wrong content type", predict_request(png, "application/json"), "unsupported_media_type", 415},
      {"no content type", "POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nabcd",
       "unsupported_media_type", 415},
      {"multipart without boundary", predict_request("--a\r\n\r\n", "multipart/form-data"), "bad_multipart", 400},
      {"multipart without a file",
       predict_request("--B\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n1\r\n--B--\r\n",
                       "multipart/form-data; boundary=B"),
       "bad_multipart", 400},
      {"bad top_k", predict_request(png, "image/png", "?top_k=zero"), "bad_top_k", 400},
      {"unknown path", get_request("/v2/everything"), "not_found", 404},
      {"GET on predict", get_request("/v1/predict"), "method_not_allowed", 405},
      {"not HTTP", "HELLO\r\n\r\n", "bad_request", 400},
      {"chunked body over the limit",
       "POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nTransfer-Encoding: chunked\r\n\r\n" +
           [] {
             std::string chunks;
             for (int i = 0; i < 20; ++i) chunks += "1000\r\n" + std::string(4096, 'x') + "\r\n";
             return chunks + "0\r\n\r\n";
           }(),
       "body_too_large", 413},
  };
  auto barrage = [&](bool check) {
    for (const auto& c : cases) {
      const auto r = http_exchange(port, c.request, 10.0);
      if (check) {
        expect_error(r, c.status, c.code, c.what);
        expect_serving(port, c.what);
      }
    }
  };
  barrage(true);

  // Over the body limit: the 413 comes back from the headers alone, with the 100 MiB
  // body never sent.
  {
    Connection c(port, 10.0);
    ASSERT_TRUE(c.send_all("POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: " +
                           std::to_string(100 << 20) + "\r\n\r\n"));
    expect_error(c.read_response(), 413, "body_too_large", "Content-Length over the limit");
    // With Expect: 100-continue (curl's way for large uploads) too.
    Connection e(port, 10.0);
    ASSERT_TRUE(
        e.send_all("POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nExpect: 100-continue\r\n"
                   "Content-Length: " +
                   std::to_string(100 << 20) + "\r\n\r\n"));
    expect_error(e.read_response(), 413, "body_too_large", "Content-Length over the limit, Expect: 100-continue");
  }
  // A slow client: half its body, then silence past the 1 s timeout.
  {
    Connection c(port, 10.0);
    ASSERT_TRUE(c.send_all("POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: " +
                           std::to_string(png.size()) + "\r\n\r\n" + png.substr(0, png.size() / 2)));
    std::this_thread::sleep_for(2500ms);
    expect_error(c.read_response(), 408, "request_timeout", "slow client");
  }
  expect_serving(port, "the slow client");

  // Memory: after a warm-up barrage, twenty more leave the resident size where it was.
  const int64_t before = rss_kib(server.pid());
  for (int i = 0; i < 20; ++i) barrage(false);
  expect_serving(port, "the barrages");
  const int64_t after = rss_kib(server.pid());
  std::cout << "[ memory ] resident " << before / 1024.0 << " MiB before 20 barrages of " << cases.size()
            << " bad requests, " << after / 1024.0 << " MiB after\n";
  EXPECT_LT(after - before, 16 * 1024) << "resident memory grew by " << (after - before) << " KiB";
  EXPECT_TRUE(server.running()) << server.log_text();
  EXPECT_EQ(server.stop(SIGTERM), 0) << server.log_text();
}

TEST(ServeCli, FullQueueAnswers503) {
  const auto dir = scratch_dir();
  // A larger ViT (64x64 inputs, 64 tokens, 6 blocks of width 192) whose forward takes
  // long enough for a burst to find the one-slot queue taken.
  const auto bundle = make_bundle(
      dir, "{name: vit, img_size: 64, patch_size: 8, embed_dim: 192, depth: 6, num_heads: 3, num_classes: 5}");
  ServerProcess server(cli_path(),
                       {"--bundle", bundle.string(), "--queue-size", "1", "--max-batch", "1", "--max-wait-ms", "0",
                        "--threads", "1", "--http-threads", "32"},
                       dir / "server.log");
  ASSERT_GT(server.port(), 0) << server.log_text();
  const int port = server.port();
  const auto request = predict_request(png_bytes(1, 3));

  constexpr int kClients = 24;
  std::barrier start(kClients);
  std::vector<HttpResponse> responses(kClients);
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] {
      Connection c(port, 30.0);
      start.arrive_and_wait();  // connected, then all send at once
      if (c.send_all(request)) responses[i] = c.read_response();
    });
  }
  for (auto& t : clients) t.join();
  int ok = 0, busy = 0;
  for (const auto& r : responses) {
    if (r.status == 200) {
      ++ok;
    } else {
      expect_error(r, 503, "queue_full", "burst on a one-slot queue");
      EXPECT_EQ(r.headers.count("retry-after"), 1u);
      ++busy;
    }
  }
  std::cout << "[ full queue ] " << kClients << " simultaneous requests: " << ok << " answered, " << busy
            << " got 503\n";
  EXPECT_GT(busy, 0) << "the queue never filled";
  EXPECT_GT(ok, 0);
  expect_serving(port, "the burst");
  EXPECT_EQ(server.stop(SIGTERM), 0) << server.log_text();
}

TEST(ServeCli, SigtermAnswersRequestsInFlight) {
  const auto dir = scratch_dir();
  const auto bundle = make_bundle(dir, kSmallVit);
  // A lone request waits up to 3 s for company: it is in flight when SIGTERM arrives.
  ServerProcess server(cli_path(), {"--bundle", bundle.string(), "--max-batch", "64", "--max-wait-ms", "3000"},
                       dir / "server.log");
  ASSERT_GT(server.port(), 0) << server.log_text();
  const int port = server.port();
  Connection in_flight(port, 30.0);
  ASSERT_TRUE(in_flight.send_all(predict_request(png_bytes(2, 5))));
  for (int i = 0; i < 200; ++i) {
    const auto h = http_exchange(port, get_request("/healthz")).json();
    if (h.is_object() && h["batcher"]["submitted"] == 1) break;
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_EQ(kill(server.pid(), SIGTERM), 0);
  const auto r = in_flight.read_response();
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["predictions"].size(), 5u);
  EXPECT_EQ(server.stop(SIGTERM), 0) << server.log_text();
  EXPECT_NE(server.log_text().find("SIGTERM"), std::string::npos) << server.log_text();
  EXPECT_EQ(http_exchange(port, get_request("/healthz"), 2.0).status, 0) << "nothing listens after the exit";
}

TEST(ServeCli, NoResultWithinTheTimeoutIs503) {
  const auto dir = scratch_dir();
  const auto bundle = make_bundle(dir, kSmallVit);
  // A lone request would wait 3 s for company; the timeout gives up after 1 s, and the
  // batcher then leaves the abandoned request out.
  ServerProcess server(cli_path(),
                       {"--bundle", bundle.string(), "--max-batch", "64", "--max-wait-ms", "3000", "--timeout-s", "1"},
                       dir / "server.log");
  ASSERT_GT(server.port(), 0) << server.log_text();
  expect_error(http_exchange(server.port(), predict_request(png_bytes(0, 3))), 503, "timeout",
               "a result later than --timeout-s");
  nlohmann::json stats;
  for (int i = 0; i < 100; ++i) {  // the abandoned request's batch window closes 3 s after it came
    stats = http_exchange(server.port(), get_request("/healthz")).json()["batcher"];
    if (stats["cancelled"] == 1) break;
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(stats["cancelled"], 1) << stats.dump();
  EXPECT_EQ(stats["batches"], 0) << "the model never ran for nobody";
  EXPECT_EQ(server.stop(SIGTERM), 0) << server.log_text();
}

}  // namespace
}  // namespace tessera::testing
