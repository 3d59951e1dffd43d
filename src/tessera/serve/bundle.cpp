// Serving bundles (see bundle.h): tessera.json to and from BundleInfo, and the folder
// written as a whole or not at all.
#include "tessera/serve/bundle.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "tessera/config/load.h"
#include "tessera/config/names.h"
#include "tessera/core/atomic_file.h"
#include "tessera/core/error.h"
#include "tessera/core/precision.h"
#include "tessera/core/safetensors.h"
#include "tessera/serve/sha256.h"

namespace tessera::serve {

namespace fs = std::filesystem;

namespace {

const std::vector<std::pair<const char*, data::Interpolation>> kInterpolations = {
    {"nearest", data::Interpolation::Nearest},
    {"bilinear", data::Interpolation::Bilinear},
    {"bicubic", data::Interpolation::Bicubic}};

const std::vector<std::pair<const char*, config::Precision>> kDtypes = {
    {"float32", config::Precision::FP32}, {"float16", config::Precision::FP16}, {"bfloat16", config::Precision::BF16}};

// The model section as recipe keys: only what is set, so it reads back to the same config.
nlohmann::json model_section(const config::ModelConfig& m) {
  auto put = [](nlohmann::json& section, const char* key, const auto& value) {
    if (value) section[key] = *value;
  };
  nlohmann::json j = {{"name", m.name}};
  put(j, "img_size", m.img_size);
  put(j, "patch_size", m.patch_size);
  put(j, "in_chans", m.in_chans);
  put(j, "num_classes", m.num_classes);
  put(j, "embed_dim", m.embed_dim);
  put(j, "depth", m.depth);
  put(j, "depths", m.depths);
  put(j, "num_heads", m.num_heads);
  put(j, "window_size", m.window_size);
  put(j, "mlp_ratio", m.mlp_ratio);
  put(j, "qkv_bias", m.qkv_bias);
  put(j, "class_token", m.class_token);
  if (m.global_pool) j["global_pool"] = config::to_string(*m.global_pool);
  put(j, "drop_rate", m.drop_rate);
  put(j, "pos_drop_rate", m.pos_drop_rate);
  put(j, "proj_drop_rate", m.proj_drop_rate);
  put(j, "attn_drop_rate", m.attn_drop_rate);
  put(j, "drop_path_rate", m.drop_path_rate);
  // CLIP's towers: vision and text name the same numbers differently.
  nlohmann::json vision = nlohmann::json::object(), text = nlohmann::json::object();
  put(vision, "image_size", m.vision.image_size);
  put(vision, "patch_size", m.vision.patch_size);
  put(vision, "width", m.vision.width);
  put(vision, "layers", m.vision.layers);
  put(vision, "heads", m.vision.heads);
  put(vision, "mlp_ratio", m.vision.mlp_ratio);
  put(text, "context_length", m.text.context_length);
  put(text, "vocab_size", m.text.vocab_size);
  put(text, "width", m.text.width);
  put(text, "layers", m.text.layers);
  put(text, "heads", m.text.heads);
  put(text, "mlp_ratio", m.text.mlp_ratio);
  if (!vision.empty()) j["vision"] = vision;
  if (!text.empty()) j["text"] = text;
  return j;
}

// Reads tessera.json's fields, each failure naming the key.
class JsonFields {
 public:
  JsonFields(const nlohmann::json& root, std::string origin) : root_(root), origin_(std::move(origin)) {}

  [[noreturn]] void fail(const std::string& key, const std::string& message) const {
    throw Error(origin_, "'" + key + "' " + message);
  }

  const nlohmann::json& at(const std::string& path) const {
    const nlohmann::json* node = &root_;
    size_t start = 0;
    while (true) {
      const size_t dot = path.find('.', start);
      const std::string key = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
      if (!node->is_object() || !node->contains(key)) fail(path, "is missing");
      node = &(*node)[key];
      if (dot == std::string::npos) return *node;
      start = dot + 1;
    }
  }

  template <typename T>
  T get(const std::string& path) const {
    const auto& node = at(path);
    try {
      return node.get<T>();
    } catch (const nlohmann::json::exception&) {
      fail(path, "has the wrong type (" + std::string(node.type_name()) + ")");
    }
  }

  template <typename T>
  T choice(const std::string& path, const std::vector<std::pair<const char*, T>>& table) const {
    const auto name = get<std::string>(path);
    std::string names;
    for (const auto& [spelling, value] : table) {
      if (name == spelling) return value;
      names += (names.empty() ? "" : ", ") + std::string(spelling);
    }
    fail(path, "is '" + name + "'; expected one of " + names);
  }

 private:
  const nlohmann::json& root_;
  std::string origin_;
};

template <typename T>
std::string name_in(const std::vector<std::pair<const char*, T>>& table, T value) {
  for (const auto& [spelling, v] : table) {
    if (v == value) return spelling;
  }
  return "?";
}

// True when `dir` may be replaced by --force: it is empty or a bundle (holds tessera.json
// and nothing but bundle files), so nothing a user put there is lost.
bool replaceable(const fs::path& dir) {
  if (!fs::is_directory(dir)) return false;
  bool has_metadata = false;
  bool empty = true;
  for (const auto& entry : fs::directory_iterator(dir)) {
    empty = false;
    const auto name = entry.path().filename().string();
    if (name == kBundleMetadataFile) {
      has_metadata = true;
    } else if (name != kBundleWeightsFile) {
      return false;
    }
  }
  return empty || has_metadata;
}

// Moves the finished temporary folder to `dir`, swapping it with an old bundle when
// `replace`: renameat2's RENAME_EXCHANGE makes the swap one step, so readers see the old
// bundle or the new one. Returns the folder now holding the old bundle (to be removed).
fs::path move_into_place(const fs::path& tmp, const fs::path& dir, bool replace) {
  if (!replace) {
    // rename() onto an existing non-empty folder fails: a bundle that appeared meanwhile survives.
    if (::rename(tmp.c_str(), dir.c_str()) != 0) {
      const int err = errno;
      throw Error(dir.string(),
                  std::string("cannot move the new bundle into place: ") + std::strerror(err) +
                      (err == ENOTEMPTY || err == EEXIST ? " (it exists; pass --force to replace it)" : ""));
    }
    return {};
  }
  if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, dir.c_str(), RENAME_EXCHANGE) == 0) return tmp;
  // A file system without RENAME_EXCHANGE: move the old one aside, then the new one in.
  fs::path old = tmp;
  old += ".old";
  fs::rename(dir, old);
  fs::rename(tmp, dir);
  return old;
}

}  // namespace

data::TransformSpec Preprocessing::transform_spec() const {
  data::TransformSpec spec;
  spec.channels = channels;
  spec.height = height;
  spec.width = width;
  spec.crop_pct = crop_pct;
  spec.interpolation = interpolation;
  spec.mean = mean;
  spec.std = std;
  return spec;
}

Preprocessing Preprocessing::from_spec(const data::TransformSpec& spec) {
  if (spec.is_random()) {
    throw Error("preprocessing", "the evaluation transform has random steps; a bundle needs a deterministic one");
  }
  Preprocessing p;
  p.channels = spec.channels;
  p.height = spec.height;
  p.width = spec.width;
  p.crop_pct = spec.crop_pct;
  p.interpolation = spec.interpolation;
  p.mean = spec.mean;
  p.std = spec.std;
  return p;
}

std::string interpolation_name(data::Interpolation value) { return name_in(kInterpolations, value); }
std::string dtype_name(config::Precision weights_dtype) { return name_in(kDtypes, weights_dtype); }

nlohmann::json bundle_json(const BundleInfo& info) {
  const auto& p = info.preprocessing;
  return {
      {"format", kBundleFormat},
      {"format_version", kBundleFormatVersion},
      {"family", info.family},
      {"model", model_section(info.model)},
      {"reference", info.reference},
      {"classes", info.class_names},
      {"preprocessing",
       {{"channels", p.channels},
        {"image_size", {p.height, p.width}},
        {"crop_pct", p.crop_pct},
        {"interpolation", interpolation_name(p.interpolation)},
        {"mean", p.mean},
        {"std", p.std}}},
      {"precision", config::to_string(info.precision)},
      {"weights",
       {{"file", kBundleWeightsFile},
        {"dtype", dtype_name(info.weights_dtype)},
        {"bytes", info.weights_bytes},
        {"sha256", info.weights_sha256},
        {"ema", info.ema}}},
      {"source", {{"run", info.source.run}, {"checkpoint", info.source.checkpoint}, {"step", info.source.step}}},
  };
}

BundleInfo parse_bundle_json(const nlohmann::json& json, const std::string& origin) {
  const JsonFields f(json, origin);
  if (!json.is_object()) throw Error(origin, "is not a JSON object");
  if (f.get<std::string>("format") != kBundleFormat) f.fail("format", "is not '" + std::string(kBundleFormat) + "'");
  const auto version = f.get<int64_t>("format_version");
  if (version != kBundleFormatVersion) {
    f.fail("format_version",
           "is " + std::to_string(version) + "; this Tessera reads version " + std::to_string(kBundleFormatVersion));
  }
  BundleInfo info;
  info.family = f.get<std::string>("family");
  if (info.family != "vit" && info.family != "deit" && info.family != "swin" && info.family != "clip") {
    f.fail("family", "is '" + info.family + "'; expected vit, deit, swin or clip");
  }
  const auto& model = f.at("model");
  if (!model.is_object()) f.fail("model", "is not an object");
  // JSON is YAML: the recipe loader checks the section as it checks a recipe's.
  info.model = config::load_string(nlohmann::json{{"model", model}}.dump(), origin + " (model)").model;
  info.reference = f.at("reference");
  info.class_names = f.get<std::vector<std::string>>("classes");

  auto& p = info.preprocessing;
  p.channels = f.get<int64_t>("preprocessing.channels");
  const auto size = f.get<std::vector<int64_t>>("preprocessing.image_size");
  if (size.size() != 2) f.fail("preprocessing.image_size", "must be [height, width]");
  p.height = size[0];
  p.width = size[1];
  p.crop_pct = f.get<double>("preprocessing.crop_pct");
  p.interpolation = f.choice("preprocessing.interpolation", kInterpolations);
  p.mean = f.get<std::vector<double>>("preprocessing.mean");
  p.std = f.get<std::vector<double>>("preprocessing.std");
  if (p.channels != 1 && p.channels != 3) f.fail("preprocessing.channels", "must be 1 or 3");
  if (p.height <= 0 || p.width <= 0) f.fail("preprocessing.image_size", "must be positive");
  if (!(p.crop_pct > 0.0 && p.crop_pct <= 1.0)) f.fail("preprocessing.crop_pct", "must be in (0, 1]");
  for (const auto* key : {"mean", "std"}) {
    const auto& values = std::string(key) == "mean" ? p.mean : p.std;
    if (values.size() != 1 && static_cast<int64_t>(values.size()) != p.channels) {
      f.fail(std::string("preprocessing.") + key, "needs one value or one per channel");
    }
  }
  for (double s : p.std) {
    if (!(s > 0.0)) f.fail("preprocessing.std", "must be positive");
  }

  const auto precision = config::from_string<config::Precision>(f.get<std::string>("precision"));
  if (!precision) f.fail("precision", "is not one of fp32, bf16, fp16");
  info.precision = *precision;
  if (f.get<std::string>("weights.file") != kBundleWeightsFile) {
    f.fail("weights.file", "must be " + std::string(kBundleWeightsFile));
  }
  info.weights_dtype = f.choice("weights.dtype", kDtypes);
  info.weights_bytes = f.get<int64_t>("weights.bytes");
  info.weights_sha256 = f.get<std::string>("weights.sha256");
  if (info.weights_sha256.size() != 64) f.fail("weights.sha256", "is not a SHA-256 (64 hex digits)");
  info.ema = f.get<bool>("weights.ema");
  info.source.run = f.get<std::string>("source.run");
  info.source.checkpoint = f.get<std::string>("source.checkpoint");
  info.source.step = f.get<int64_t>("source.step");
  return info;
}

BundleInfo write_bundle(const fs::path& dir, BundleInfo info,
                        const std::vector<std::pair<std::string, at::Tensor>>& weights, bool force) {
  if (dir.empty()) throw Error("--out", "is empty");
  const bool exists = fs::exists(dir);
  if (exists && !force) throw Error(dir.string(), "already exists; pass --force to replace the bundle");
  if (exists && !replaceable(dir)) {
    throw Error(dir.string(), "exists and is not a bundle (it holds other files); --force only replaces bundles");
  }
  fs::path parent = dir.parent_path();
  if (parent.empty()) parent = ".";
  fs::create_directories(parent);

  const fs::path tmp = parent / ("." + dir.filename().string() + ".tmp." + std::to_string(::getpid()));
  fs::remove_all(tmp);  // debris of an earlier process with this pid
  try {
    fs::create_directory(tmp);
    std::vector<std::pair<std::string, at::Tensor>> cast;
    cast.reserve(weights.size());
    const auto dtype = core::scalar_type(info.weights_dtype);
    for (const auto& [name, tensor] : weights) {
      auto t = tensor.detach().to(at::kCPU);
      if (t.is_floating_point()) t = t.to(dtype);
      cast.emplace_back(name, t.contiguous());
    }
    const std::string bytes = core::serialize_safetensors(cast, {{"format", "pt"}});
    core::write_file_atomic(tmp / kBundleWeightsFile, bytes);
    Sha256 hash;
    hash.update(bytes);
    info.weights_sha256 = hash.hex_digest();
    info.weights_bytes = static_cast<int64_t>(bytes.size());
    core::write_file_atomic(tmp / kBundleMetadataFile, bundle_json(info).dump(2) + "\n");  // fsyncs tmp too

    const fs::path old = move_into_place(tmp, dir, exists);
    if (!old.empty()) fs::remove_all(old);
    core::sync_folder(parent);
  } catch (...) {
    std::error_code ignored;
    fs::remove_all(tmp, ignored);
    throw;
  }
  return info;
}

BundleInfo read_bundle(const fs::path& dir, bool verify_weights) {
  if (!fs::is_directory(dir)) throw Error(dir.string(), "is not a bundle folder (`tessera export` writes one)");
  const fs::path metadata = dir / kBundleMetadataFile;
  std::ifstream in(metadata);
  if (!in) throw Error(metadata.string(), "missing: not a bundle folder (`tessera export` writes one)");
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(in);
  } catch (const nlohmann::json::parse_error& e) {
    throw Error(metadata.string() + " (offset " + std::to_string(e.byte) + ")", "is not valid JSON");
  }
  auto info = parse_bundle_json(json, metadata.string());
  const fs::path weights = dir / kBundleWeightsFile;
  if (!fs::exists(weights)) throw Error(weights.string(), "missing");
  if (verify_weights) {
    const auto size = static_cast<int64_t>(fs::file_size(weights));
    if (size != info.weights_bytes) {
      throw Error(weights.string(), "has " + std::to_string(size) + " bytes but tessera.json records " +
                                        std::to_string(info.weights_bytes) + ": the file was changed or cut short");
    }
    if (sha256_file(weights) != info.weights_sha256) {
      throw Error(weights.string(), "its SHA-256 differs from tessera.json's: the file was changed or corrupted");
    }
  }
  return info;
}

}  // namespace tessera::serve
