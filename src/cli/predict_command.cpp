// tessera predict --bundle DIR IMAGE...: the top-k classes of image files (CLIP bundles:
// zero-shot against --labels), as a table or JSON, with the images/s it ran at; --bench
// times the model alone at batch 1 and 64.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>

#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/predictor_flags.h"
#include "tessera/config/names.h"
#include "tessera/core/error.h"
#include "tessera/core/safetensors.h"
#include "tessera/data/image_decode.h"
#include "tessera/serve/predictor.h"

namespace tessera::cli {

namespace {

using Clock = std::chrono::steady_clock;

struct PredictArgs {
  std::string bundle;
  std::vector<std::string> images;
  int64_t top_k = 5;
  bool json = false;
  int64_t batch_size = 32;
  PredictorFlags predictor;
  std::string save_tensors;
  bool bench = false;
  std::vector<int64_t> bench_batches = {1, 64};
  double bench_seconds = 2.0;
};

struct ImageResult {
  std::string image;
  std::vector<serve::ScoredClass> top;
};

struct BenchRow {
  int64_t batch_size = 0;
  double images_per_second = 0.0;
  double ms_per_batch = 0.0;
};

// Decodes the files in parallel; an unreadable or undecodable file is an error naming it.
std::vector<data::Image> read_images(const std::vector<std::string>& paths) {
  std::vector<data::Image> images(paths.size());
  at::parallel_for(0, static_cast<int64_t>(paths.size()), 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i)
      data::read_image_file(paths[static_cast<size_t>(i)], images[static_cast<size_t>(i)]);
  });
  return images;
}

// The model alone (preprocessing excluded) on random inputs: warm up, then at least
// three calls and `seconds` of them.
BenchRow bench_model(serve::Predictor& predictor, int64_t batch_size, double seconds) {
  auto shape = predictor.input_shape();
  shape.insert(shape.begin(), batch_size);
  const auto inputs = at::randn(shape);
  for (int i = 0; i < 2; ++i) predictor.logits(inputs);
  int64_t calls = 0;
  const auto start = Clock::now();
  double elapsed = 0.0;
  while (calls < 3 || elapsed < seconds) {
    predictor.logits(inputs);
    ++calls;
    elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  }
  return {batch_size, static_cast<double>(calls * batch_size) / elapsed, 1000.0 * elapsed / static_cast<double>(calls)};
}

void print_table(const std::vector<ImageResult>& results) {
  for (const auto& r : results) {
    std::cout << r.image << "\n";
    int rank = 1;
    for (const auto& c : r.top) std::cout << fmt::format("  {:>2}  {:<24} {:.4f}\n", rank++, c.label, c.probability);
  }
}

void run_predict(const PredictArgs& args) {
  if (args.images.empty() && !args.bench) throw Error("predict", "give one or more image files (or --bench)");
  if (args.batch_size < 1) throw Error("--batch-size", "must be at least 1");
  if (args.top_k < 1) throw Error("--top-k", "must be at least 1");
  serve::Predictor predictor(args.bundle, args.predictor.apply());

  std::vector<ImageResult> results;
  std::vector<at::Tensor> all_inputs, all_logits;
  const auto start = Clock::now();
  for (size_t first = 0; first < args.images.size(); first += static_cast<size_t>(args.batch_size)) {
    const size_t last = std::min(args.images.size(), first + static_cast<size_t>(args.batch_size));
    const std::vector<std::string> paths(args.images.begin() + static_cast<std::ptrdiff_t>(first),
                                         args.images.begin() + static_cast<std::ptrdiff_t>(last));
    const auto inputs = predictor.preprocess_batch(read_images(paths));
    const auto logits = predictor.logits(inputs);
    const auto probabilities = at::softmax(logits, -1);
    for (size_t i = 0; i < paths.size(); ++i) {
      results.push_back({paths[i], predictor.top_k(probabilities[static_cast<int64_t>(i)], args.top_k)});
    }
    if (!args.save_tensors.empty()) {
      all_inputs.push_back(inputs);
      all_logits.push_back(logits);
    }
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const double images_per_second = results.empty() ? 0.0 : static_cast<double>(results.size()) / seconds;
  if (!args.save_tensors.empty() && !all_inputs.empty()) {
    core::save_safetensors(args.save_tensors, {{"inputs", at::cat(all_inputs)}, {"logits", at::cat(all_logits)}});
  }

  std::vector<BenchRow> bench;
  if (args.bench) {
    for (int64_t b : args.bench_batches) {
      if (b < 1) throw Error("--bench-batches", "batch sizes must be at least 1");
      bench.push_back(bench_model(predictor, b, args.bench_seconds));
    }
  }

  const std::string device = predictor.device().str();
  const std::string precision = config::to_string(predictor.precision());
  if (args.json) {
    nlohmann::json out = {{"bundle", args.bundle},
                          {"model", predictor.bundle().model.name},
                          {"device", device},
                          {"precision", precision},
                          {"results", nlohmann::json::array()}};
    for (const auto& r : results)
      out["results"].push_back({{"image", r.image}, {"predictions", serve::predictions_json(r.top)}});
    if (!results.empty()) out["images_per_second"] = images_per_second;
    for (const auto& b : bench) {
      out["bench"].push_back(
          {{"batch_size", b.batch_size}, {"images_per_second", b.images_per_second}, {"ms_per_batch", b.ms_per_batch}});
    }
    std::cout << out.dump(2) << std::endl;
    return;
  }
  print_table(results);
  if (!results.empty()) {
    std::cout << fmt::format(
        "{} images in {:.3f} s: {:.1f} images/s (decode, preprocess and model; batch size {}, {} {})\n", results.size(),
        seconds, images_per_second, args.batch_size, device, precision);
  }
  for (const auto& b : bench) {
    std::cout << fmt::format("model only, batch {:>3}: {:8.1f} images/s ({:.2f} ms per batch; {} {})\n", b.batch_size,
                             b.images_per_second, b.ms_per_batch, device, precision);
  }
  std::cout.flush();
}

}  // namespace

void add_predict_command(CLI::App& app) {
  auto args = std::make_shared<PredictArgs>();
  auto* cmd = app.add_subcommand("predict", "Classify image files with a bundle (CLIP: zero-shot against --labels)");
  cmd->add_option("--bundle", args->bundle, "the bundle folder `tessera export` wrote")->required();
  cmd->add_option("images", args->images, "image files (JPEG, PNG, BMP, WebP, ...)");
  cmd->add_option("--top-k", args->top_k, "classes to show per image (default 5)");
  cmd->add_flag("--json", args->json, "print one JSON object instead of a table");
  cmd->add_option("--batch-size", args->batch_size, "images per model call (default 32)");
  args->predictor.add_to(*cmd);
  cmd->add_option("--save-tensors", args->save_tensors,
                  "also write the model inputs and logits of every image to this safetensors file");
  cmd->add_flag("--bench", args->bench, "time the model alone on random inputs at --bench-batches");
  cmd->add_option("--bench-batches", args->bench_batches, "batch sizes for --bench, comma-separated (default 1,64)")
      ->delimiter(',')
      ->allow_extra_args(false);
  cmd->add_option("--bench-seconds", args->bench_seconds, "seconds per batch size for --bench (default 2)");
  cmd->callback([args] { run_predict(*args); });
}

}  // namespace tessera::cli
