// End to end through the `tessera` executable: a tiny recipe trains on image files,
// `tessera export` writes a bundle, `tessera predict` on the validation files gives the
// top-1 accuracy `tessera eval` reports, and Python timm / open_clip loading the bundle
// give Tessera's logits on the same inputs; ViT, DeiT, Swin and CLIP bundles exported to
// ONNX give them in onnxruntime; EMA / fp16 / --force / step checkpoints; user mistakes.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>

#include "bundle_fixture.h"
#include "fixtures/image_files.h"
#include "reference_runner.h"
#include "tessera/config/load.h"
#include "tessera/data/pipeline.h"
#include "tessera/serve/sha256.h"
#include "test_env.h"

namespace tessera::testing {
namespace {

namespace fs = std::filesystem;

const std::vector<std::string> kClasses = {"blue", "green", "red"};

// The JSON document a command printed (its log lines, on stderr, are mixed in before or
// after it): the value starting on the first line that starts with '{'.
nlohmann::json json_output(const CommandResult& r) {
  const size_t start = r.output.rfind('{', 0) == 0 ? 0 : r.output.find("\n{");
  if (start == std::string::npos) {
    ADD_FAILURE() << "no JSON in: " << r.output;
    return {};
  }
  std::istringstream in(r.output.substr(start));
  nlohmann::json j;
  try {
    in >> j;  // reads one value and stops, whatever follows
  } catch (const nlohmann::json::exception& e) {
    ADD_FAILURE() << e.what() << " in: " << r.output;
  }
  return j;
}

// root/{train,val}/<class>/<n>.png|jpg; returns the validation files, sorted.
std::vector<fs::path> write_image_folder(const fs::path& root, int train_per_class, int val_per_class) {
  std::vector<fs::path> val;
  for (int c = 0; c < 3; ++c) {
    for (int i = 0; i < train_per_class + val_per_class; ++i) {
      const bool is_val = i >= train_per_class;
      const std::string ext = i % 4 == 3 ? ".jpg" : ".png";
      const auto path = root / (is_val ? "val" : "train") / kClasses[c] / (std::to_string(100 + i) + ext);
      // A quarter of the validation pictures show another class's colour: the accuracy
      // is well below 1, so predict and eval can disagree if either goes wrong.
      const int shown = is_val && i % 4 == 1 ? (c + 1) % 3 : c;
      write_image(path, class_image(shown, i), ext,
                  ext == ".jpg" ? std::vector<int>{cv::IMWRITE_JPEG_QUALITY, 95} : std::vector<int>{});
      if (is_val) val.push_back(path);
    }
  }
  std::sort(val.begin(), val.end());
  return val;
}

// A tiny ViT on the colour folders, with EMA and a checkpoint every epoch.
fs::path write_recipe(const fs::path& dir) {
  const auto recipe = dir / "tiny.yaml";
  std::ofstream(recipe) << "name: tiny\n"
                           "model: {name: vit, img_size: 32, patch_size: 8, embed_dim: 32, depth: 2, num_heads: 2}\n"
                           "data:\n"
                           "  dataset: image_folder\n"
                           "  root: "
                        << (dir / "data").string()
                        << "\n"
                           "  image_size: 32\n"
                           "  crop_pct: 0.875\n"
                           "  interpolation: bicubic\n"
                           "  normalize: imagenet\n"
                           "  batch_size: 16\n"
                           "  eval_batch_size: 64\n"
                           "  num_workers: 1\n"
                           "  augment: {hflip: 0.5}\n"
                           "optim: {learning_rate: 3.0e-3, weight_decay: 0.01}\n"
                           "train: {epochs: 3, threads: 1, ema: {decay: 0.9}}\n"
                           "checkpoint: {every_epochs: 1}\n"
                           "logging: {output_dir: "
                        << (dir / "runs").string() << ", log_every: 5, tensorboard: false}\n";
  return recipe;
}

struct TrainedRun {
  fs::path run;
  std::vector<fs::path> val_images;
};

TrainedRun train_tiny_run(const fs::path& dir) {
  TrainedRun t;
  t.val_images = write_image_folder(dir / "data", 20, 8);
  const auto trained = run_cli("train " + quoted(write_recipe(dir)));
  EXPECT_EQ(trained.exit_code, 0) << trained.output;
  t.run = dir / "runs" / "tiny";
  return t;
}

std::map<std::string, at::Tensor> tensors_of(const fs::path& path) { return read_tensors(path); }

TEST(ExportPredictCli, PredictMatchesEvalAndTimmLoadsTheBundle) {
  const auto dir = scratch_dir();
  const auto t = train_tiny_run(dir);
  ASSERT_TRUE(fs::exists(t.run / "checkpoints" / "last.safetensors"));

  const auto eval = run_cli("eval --json " + quoted(t.run));
  ASSERT_EQ(eval.exit_code, 0) << eval.output;
  const auto evaluated = json_output(eval);
  ASSERT_EQ(evaluated["samples"].get<int64_t>(), static_cast<int64_t>(t.val_images.size()));

  const auto bundle = dir / "bundle";
  const auto exported = run_cli("export " + quoted(t.run) + " --out " + quoted(bundle));
  ASSERT_EQ(exported.exit_code, 0) << exported.output;
  nlohmann::json meta;
  std::ifstream(bundle / "tessera.json") >> meta;
  EXPECT_EQ(meta["classes"], nlohmann::json(kClasses));
  EXPECT_EQ(meta["family"], "vit");
  EXPECT_EQ(meta["preprocessing"]["crop_pct"], 0.875);
  EXPECT_EQ(meta["preprocessing"]["interpolation"], "bicubic");
  EXPECT_EQ(meta["preprocessing"]["image_size"], nlohmann::json({32, 32}));
  EXPECT_NEAR(meta["preprocessing"]["mean"][0].get<double>(), 0.485, 1e-9);
  EXPECT_GT(meta["source"]["step"].get<int64_t>(), 0);
  EXPECT_EQ(meta["weights"]["sha256"], serve::sha256_file(bundle / "model.safetensors"));
  EXPECT_EQ(meta["weights"]["ema"], false);

  // predict on the validation files, in uneven batches: its accuracy is eval's.
  const auto tensors = dir / "predict.safetensors";
  const auto predicted = run_cli("predict --json --batch-size 7 --top-k 2 --save-tensors " + quoted(tensors) +
                                 " --bundle " + quoted(bundle) + joined(t.val_images));
  ASSERT_EQ(predicted.exit_code, 0) << predicted.output;
  const auto answers = json_output(predicted);
  ASSERT_EQ(answers["results"].size(), t.val_images.size());
  int64_t correct = 0;
  std::map<std::string, int> predicted_classes;
  for (size_t i = 0; i < t.val_images.size(); ++i) {
    const auto& r = answers["results"][i];
    EXPECT_EQ(r["image"], t.val_images[i].string());
    ASSERT_EQ(r["predictions"].size(), 2u);
    const auto top = r["predictions"][0]["label"].get<std::string>();
    EXPECT_GE(r["predictions"][0]["probability"].get<double>(), r["predictions"][1]["probability"].get<double>());
    ++predicted_classes[top];
    if (top == t.val_images[i].parent_path().filename().string()) ++correct;
  }
  const double top1 = evaluated["top1"].get<double>();
  EXPECT_EQ(correct, std::llround(top1 * static_cast<double>(t.val_images.size())))
      << "predict's top-1 " << correct << "/" << t.val_images.size() << ", eval's " << top1;
  EXPECT_GT(top1, 0.5) << "the colours are easy to learn";
  EXPECT_LT(top1, 0.9) << "a quarter of the validation pictures are mislabelled";
  std::cout << "[ eval top-1 ] " << top1 << ", predict top-1 " << correct << "/" << t.val_images.size() << "\n";

  // The bundle's preprocessing is the run's evaluation pipeline, bit for bit: the inputs
  // predict built from the files equal the batches of the recipe's eval loader.
  {
    const auto cfg = config::load((t.run / "config.yaml").string());
    auto pipeline = data::build(cfg.data, cfg.train.seed, {32, 3});
    pipeline.eval->start_epoch(0);
    std::vector<at::Tensor> batches;
    while (auto batch = pipeline.eval->next()) batches.push_back(batch->images);
    const auto loader_inputs = at::cat(batches);
    const auto predict_inputs = read_tensors(tensors).at("inputs");
    ASSERT_EQ(loader_inputs.sizes(), predict_inputs.sizes());
    EXPECT_TRUE(at::equal(loader_inputs, predict_inputs))
        << "max |difference| " << max_abs_diff(loader_inputs, predict_inputs);
  }

  // Python timm on the bundle: the same logits from the same inputs.
  const auto jobs = dir / "jobs.json";
  std::vector<std::string> images;
  for (const auto& p : t.val_images) images.push_back(p.string());
  std::ofstream(jobs) << nlohmann::json::array({{{"bundle", bundle.string()},
                                                 {"inputs", tensors.string()},
                                                 {"out", (dir / "timm.safetensors").string()},
                                                 {"images", images}}})
                             .dump();
  run_reference_script("timm_bundle_reference.py", "compare " + quoted(jobs));
  const auto ours = tensors_of(tensors);
  const auto timm = tensors_of(dir / "timm.safetensors");
  const double diff = max_abs_diff(timm.at("logits"), ours.at("logits"));
  EXPECT_LE(diff, 1e-4);
  // timm's own (PIL) preprocessing of the files: reported, not required to match exactly.
  const double input_diff = max_abs_diff(timm.at("python_inputs"), ours.at("inputs"));
  const auto agree = (timm.at("python_logits").argmax(1) == ours.at("logits").argmax(1)).sum().item<int64_t>();
  std::cout << "[ timm parity ] max |logits diff| " << diff << "; PIL-preprocessed inputs differ by up to "
            << input_diff << " (normalized units), top-1 agrees on " << agree << "/" << t.val_images.size() << "\n";

  // The table form, and the throughput line.
  const auto table = run_cli("predict --bundle " + quoted(bundle) + " " + quoted(t.val_images[0]));
  ASSERT_EQ(table.exit_code, 0) << table.output;
  EXPECT_NE(table.output.find("images/s"), std::string::npos) << table.output;
  EXPECT_NE(table.output.find(t.val_images[0].string()), std::string::npos) << table.output;
}

TEST(ExportPredictCli, EmaHalfPrecisionForceAndStepCheckpoints) {
  const auto dir = scratch_dir();
  const auto t = train_tiny_run(dir);

  // --ema --dtype fp16: the run's EMA weights, stored as float16.
  const auto half = dir / "ema_fp16";
  auto r = run_cli("export " + quoted(t.run) + " --ema --dtype fp16 --out " + quoted(half));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  nlohmann::json meta;
  std::ifstream(half / "tessera.json") >> meta;
  EXPECT_EQ(meta["weights"]["ema"], true);
  EXPECT_EQ(meta["weights"]["dtype"], "float16");
  EXPECT_EQ(meta["precision"], "fp16");
  const auto ema = read_tensors(t.run / "checkpoints" / "last_ema.safetensors");
  const auto last = read_tensors(t.run / "checkpoints" / "last.safetensors");
  const auto exported = read_tensors(half / "model.safetensors");
  ASSERT_EQ(exported.size(), ema.size());
  bool differs_from_last = false;
  for (const auto& [name, tensor] : ema) {
    ASSERT_TRUE(exported.count(name)) << name;
    EXPECT_EQ(exported.at(name).scalar_type(), at::kHalf) << name;
    EXPECT_TRUE(at::equal(exported.at(name), tensor.to(at::kHalf))) << name;
    differs_from_last = differs_from_last || !at::equal(tensor, last.at(name));
  }
  EXPECT_TRUE(differs_from_last) << "the EMA bundle holds the average, not the last weights";
  // A half-precision bundle predicts (fp32 compute on the CPU).
  r = run_cli("predict --json --bundle " + quoted(half) + " " + quoted(t.val_images[0]));
  ASSERT_EQ(r.exit_code, 0) << r.output;

  // The final step checkpoint's train state holds the same average.
  const auto steps = dir / "step_ema";
  fs::path final_step;
  for (const auto& e : fs::directory_iterator(t.run / "checkpoints")) {
    const auto name = e.path().filename().string();
    if (name.rfind("step-", 0) == 0 && name.find(".state.") == std::string::npos && e.path() > final_step)
      final_step = e.path();
  }
  ASSERT_FALSE(final_step.empty());
  r = run_cli("export " + quoted(final_step) + " --ema --out " + quoted(steps));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const auto& [name, tensor] : read_tensors(steps / "model.safetensors")) {
    EXPECT_TRUE(at::equal(tensor, ema.at(name))) << name;
  }

  // An existing bundle is kept unless --force.
  const auto sha = serve::sha256_file(half / "model.safetensors");
  r = run_cli("export " + quoted(t.run) + " --out " + quoted(half));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("--force"), std::string::npos) << r.output;
  EXPECT_EQ(serve::sha256_file(half / "model.safetensors"), sha);
  r = run_cli("export " + quoted(t.run) + " --force --out " + quoted(half));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::ifstream(half / "tessera.json") >> meta;
  EXPECT_EQ(meta["weights"]["dtype"], "float32");
  EXPECT_EQ(meta["weights"]["ema"], false);
}

struct ModelCase {
  std::string name;
  std::string yaml;
  std::string labels;  // export --labels (CLIP: its default zero-shot labels)
};

const std::string kData = "data: {image_size: 32, crop_pct: 0.875, interpolation: bicubic, normalize: imagenet}\n";

std::vector<ModelCase> model_cases() {
  return {
      {"vit",
       "model: {name: vit, img_size: 32, patch_size: 8, embed_dim: 32, depth: 2, num_heads: 2, num_classes: 5, "
       "global_pool: avg, class_token: false}\n" +
           kData,
       "a,b,c,d,e"},
      {"deit", "model: {name: deit_tiny_distilled_patch16_224, img_size: 32, depth: 1, num_classes: 4}\n" + kData,
       "w,x,y,z"},
      {"swin",
       "model: {name: swin, img_size: 32, patch_size: 2, in_chans: 1, embed_dim: 16, depths: [1, 1], "
       "num_heads: [1, 2], window_size: 4, num_classes: 3}\n"
       "data: {image_size: 32, channels: 1, crop_pct: 1.0, interpolation: bilinear, normalize: half}\n",
       "one,two,three"},
      {"clip",
       "model: {name: clip, embed_dim: 32, vision: {image_size: 32, patch_size: 8, width: 64, layers: 2, "
       "heads: 2, mlp_ratio: 2.0}, text: {context_length: 77, width: 48, layers: 2, heads: 4}}\n"
       "data: {image_size: 32, crop_pct: 1.0, interpolation: bicubic, normalize: clip}\n",
       "a red square,a green field,a blue sky"},
  };
}

TEST(ExportPredictCli, OnnxAndReferenceLoadsMatchTesseraForEveryFamily) {
  const auto dir = scratch_dir();
  std::vector<fs::path> images;
  for (int i = 0; i < 3; ++i) {
    images.push_back(dir / ("img" + std::to_string(i) + ".png"));
    write_image(images.back(), class_image(i, i), ".png");
  }
  nlohmann::json timm_jobs = nlohmann::json::array(), onnx_jobs = nlohmann::json::array();
  for (const auto& c : model_cases()) {
    const auto recipe = write_random_model(dir, c.name, c.yaml);
    const auto bundle = dir / ("bundle_" + c.name);
    auto r = run_cli("export " + quoted(dir / (c.name + ".safetensors")) + " --recipe " + quoted(recipe) +
                     " --labels '" + c.labels + "' --out " + quoted(bundle));
    ASSERT_EQ(r.exit_code, 0) << c.name << ": " << r.output;
    const auto tensors = dir / (c.name + "_predict.safetensors");
    r = run_cli("predict --json --save-tensors " + quoted(tensors) + " --bundle " + quoted(bundle) + joined(images));
    ASSERT_EQ(r.exit_code, 0) << c.name << ": " << r.output;
    nlohmann::json job = {{"bundle", bundle.string()}, {"inputs", tensors.string()}};
    if (c.name == "clip") job["labels"] = {"a red square", "a green field", "a blue sky"};
    job["out"] = (dir / (c.name + "_timm.safetensors")).string();
    timm_jobs.push_back(job);
    job["out"] = (dir / (c.name + "_onnx.safetensors")).string();
    job["onnx_dir"] = (dir / ("onnx_" + c.name)).string();
    onnx_jobs.push_back(job);
  }
  std::ofstream(dir / "timm_jobs.json") << timm_jobs.dump();
  std::ofstream(dir / "onnx_jobs.json") << onnx_jobs.dump();
  run_reference_script("timm_bundle_reference.py", "compare " + quoted(dir / "timm_jobs.json"));
  const auto onnx = run_reference_script("onnx_reference.py", quoted(dir / "onnx_jobs.json"));
  for (const auto& c : model_cases()) {
    const auto ours = read_tensors(dir / (c.name + "_predict.safetensors")).at("logits");
    ASSERT_EQ(ours.size(0), 3);
    const auto reference = read_tensors(dir / (c.name + "_timm.safetensors")).at("logits");
    const auto runtime = read_tensors(dir / (c.name + "_onnx.safetensors")).at("logits");
    const double ref_diff = max_abs_diff(reference, ours), onnx_diff = max_abs_diff(runtime, ours);
    EXPECT_LE(ref_diff, 1e-4) << c.name << " against " << (c.name == "clip" ? "open_clip" : "timm");
    EXPECT_LE(onnx_diff, 1e-4) << c.name << " against onnxruntime";
    EXPECT_GT(ours.std().item<double>(), 1e-3) << c.name << ": logits that differ between classes";
    std::cout << "[ " << c.name << " ] max |logits diff|: " << (c.name == "clip" ? "open_clip " : "timm ") << ref_diff
              << ", onnxruntime " << onnx_diff << "\n";
  }
  EXPECT_TRUE(fs::exists(dir / "onnx_clip" / "image_encoder.onnx"));
  EXPECT_TRUE(fs::exists(dir / "onnx_clip" / "text_encoder.onnx"));
  EXPECT_TRUE(fs::exists(dir / "onnx_swin" / "model.onnx"));
}

TEST(ExportPredictCli, ClipZeroShotUsesTheLabelsAndPrompts) {
  const auto dir = scratch_dir();
  const auto c = model_cases().back();
  const auto recipe = write_random_model(dir, c.name, c.yaml);
  const auto bundle = dir / "bundle";
  auto r = run_cli("export " + quoted(dir / "clip.safetensors") + " --recipe " + quoted(recipe) + " --labels '" +
                   c.labels + "' --out " + quoted(bundle));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto image = dir / "img.png";
  write_image(image, class_image(2, 1), ".png");

  // Default labels from the bundle.
  r = run_cli("predict --json --bundle " + quoted(bundle) + " " + quoted(image));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto defaults = json_output(r);
  std::set<std::string> seen;
  for (const auto& p : defaults["results"][0]["predictions"]) seen.insert(p["label"].get<std::string>());
  EXPECT_EQ(seen, (std::set<std::string>{"a red square", "a green field", "a blue sky"}));

  // Labels from a file and two prompts (their embeddings averaged): open_clip agrees.
  const auto labels = dir / "labels.txt";
  std::ofstream(labels) << "cat\n\ndog  \nsports car\n";
  const auto tensors = dir / "predict.safetensors";
  r = run_cli("predict --json --labels-file " + quoted(labels) +
              " --prompt 'a photo of a {}.' --prompt 'a drawing of {}' --save-tensors " + quoted(tensors) +
              " --bundle " + quoted(bundle) + " " + quoted(image));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto answer = json_output(r)["results"][0]["predictions"];
  ASSERT_EQ(answer.size(), 3u);
  double total = 0;
  for (const auto& p : answer) total += p["probability"].get<double>();
  EXPECT_NEAR(total, 1.0, 1e-5);
  std::ofstream(dir / "jobs.json") << nlohmann::json::array({{{"bundle", bundle.string()},
                                                              {"inputs", tensors.string()},
                                                              {"out", (dir / "open_clip.safetensors").string()},
                                                              {"labels", {"cat", "dog", "sports car"}},
                                                              {"prompts", {"a photo of a {}.", "a drawing of {}"}}}})
                                          .dump();
  run_reference_script("timm_bundle_reference.py", "compare " + quoted(dir / "jobs.json"));
  const double diff =
      max_abs_diff(read_tensors(dir / "open_clip.safetensors").at("logits"), read_tensors(tensors).at("logits"));
  EXPECT_LE(diff, 1e-4);
  std::cout << "[ open_clip zero-shot ] max |logits diff| " << diff << "\n";
}

TEST(ExportPredictCli, MistakesAreOneLineErrors) {
  const auto dir = scratch_dir();
  const auto c = model_cases().front();
  const auto recipe = write_random_model(dir, c.name, c.yaml);
  const auto weights = dir / "vit.safetensors";
  const auto bundle = dir / "bundle";
  ASSERT_EQ(run_cli("export " + quoted(weights) + " --recipe " + quoted(recipe) + " --out " + quoted(bundle)).exit_code,
            0);
  write_random_bytes(dir / "noise.png", 300, 4);
  std::ofstream(dir / "notes.txt") << "not an image";
  const auto clip = model_cases().back();
  write_random_model(dir, "clip", clip.yaml);
  const auto clip_bundle = dir / "clip_bundle";
  ASSERT_EQ(run_cli("export " + quoted(dir / "clip.safetensors") + " --recipe " + quoted(dir / "clip.yaml") +
                    " --out " + quoted(clip_bundle))
                .exit_code,
            0);

  const std::vector<std::pair<std::string, std::string>> cases = {
      {"export " + quoted(dir / "nowhere") + " --out " + quoted(dir / "x"), "no such run folder or checkpoint"},
      {"export " + quoted(weights) + " --out " + quoted(dir / "x"), "--recipe"},
      {"export " + quoted(weights) + " --recipe " + quoted(recipe) + " --ema --out " + quoted(dir / "x"), "--ema"},
      {"export " + quoted(weights) + " --recipe " + quoted(recipe) + " --set model.depth=3 --out " + quoted(dir / "x"),
       "missing blocks.2"},
      {"export " + quoted(weights) + " --recipe " + quoted(recipe) + " --labels a,b --out " + quoted(dir / "x"),
       "2 class names for a model with 5 outputs"},
      {"export " + quoted(weights) + " --recipe " + quoted(recipe) + " --dtype fp64 --out " + quoted(dir / "x"),
       "--dtype"},
      {"predict --bundle " + quoted(dir / "nowhere") + " " + quoted(dir / "noise.png"), "not a bundle folder"},
      {"predict --bundle " + quoted(bundle) + " " + quoted(dir / "noise.png"), "noise.png"},
      {"predict --bundle " + quoted(bundle) + " " + quoted(dir / "notes.txt"), "notes.txt"},
      {"predict --bundle " + quoted(bundle) + " " + quoted(dir / "missing.png"), "missing.png"},
      {"predict --bundle " + quoted(bundle) + " --labels a,b " + quoted(dir / "noise.png"), "for CLIP bundles"},
      {"predict --bundle " + quoted(bundle) + " --prompt 'a {}' " + quoted(dir / "noise.png"), "--prompt"},
      {"predict --bundle " + quoted(clip_bundle) + " " + quoted(dir / "noise.png"), "give the labels"},
      {"predict --bundle " + quoted(clip_bundle) + " --labels 'a,,b' " + quoted(dir / "noise.png"), "empty label"},
      {"serve --bundle " + quoted(bundle) + " --port 0 --max-batch 0", "--max-batch"},
  };
  for (const auto& [args, needle] : cases) {
    const auto result = run_cli(args);
    EXPECT_NE(result.exit_code, 0) << args;
    EXPECT_NE(result.output.find(needle), std::string::npos) << args << "\n" << result.output;
    EXPECT_EQ(result.output.find("Exception raised"), std::string::npos) << "no stack traces: " << result.output;
    EXPECT_NE(result.output.find("error: "), std::string::npos) << result.output;
  }
  EXPECT_FALSE(fs::exists(dir / "x")) << "a failed export leaves no bundle";

  // A bundle whose weights were changed is refused before it serves anything.
  {
    std::fstream f(bundle / "model.safetensors", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-2, std::ios::end);
    f.put('\x55');
  }
  const auto tampered = run_cli("predict --bundle " + quoted(bundle) + " " + quoted(dir / "noise.png"));
  EXPECT_NE(tampered.exit_code, 0);
  EXPECT_NE(tampered.output.find("SHA-256"), std::string::npos) << tampered.output;
}

}  // namespace
}  // namespace tessera::testing
