// Reading a recipe tree into RecipeConfig: one Section per YAML map, read in struct
// order, with a typed read per field and a check for keys nobody read.
#include "tessera/config/reader.h"

#include <charconv>
#include <cmath>
#include <optional>
#include <sstream>
#include <vector>

#include "tessera/config/names.h"
#include "tessera/core/suggest.h"
#include "tessera/core/error.h"

namespace tessera::config {

using core::closest_match;
using core::join;

namespace {

// ---- scalars -----------------------------------------------------------------

// What a value looks like, for "expected X, got Y".
std::string describe(const Value& v) {
  switch (v.kind) {
    case Value::Kind::Null: return "nothing (null)";
    case Value::Kind::Sequence: return "a list";
    case Value::Kind::Map: return "a map";
    case Value::Kind::Scalar: break;
  }
  return "'" + v.scalar + "'";
}

std::string describe(const TreeNode& node) { return node.is_map ? "a map" : describe(node.value); }

bool is_null(const TreeNode& node) { return !node.is_map && node.value.kind == Value::Kind::Null; }

// std::from_chars takes no leading '+', YAML does.
std::string_view strip_plus(std::string_view text) {
  if (text.size() > 1 && text[0] == '+' && text[1] != '-' && text[1] != '+') text.remove_prefix(1);
  return text;
}

std::optional<int64_t> parse_int(std::string_view text) {
  text = strip_plus(text);
  int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

std::optional<uint64_t> parse_uint(std::string_view text) {
  text = strip_plus(text);
  uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

// Finite numbers only: inf and nan are never a sensible hyper-parameter.
std::optional<double> parse_double(std::string_view text) {
  text = strip_plus(text);
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty() || !std::isfinite(value)) {
    return std::nullopt;
  }
  return value;
}

// YAML 1.2's core spellings; yes/no/on/off are rejected on purpose (the Norway problem).
std::optional<bool> parse_bool(std::string_view text) {
  if (text == "true" || text == "True" || text == "TRUE") return true;
  if (text == "false" || text == "False" || text == "FALSE") return false;
  return std::nullopt;
}

// "0", "1", "0.5": range bounds in messages.
std::string format_bound(double v) {
  char buffer[32];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), v);
  return std::string(buffer, result.ptr);
}

// ---- ranges ------------------------------------------------------------------

// The allowed interval of a number; unbounded sides are nullopt.
struct Range {
  std::optional<double> low;
  bool low_inclusive = true;
  std::optional<double> high;
  bool high_inclusive = true;

  bool contains(double v) const {
    if (low && (low_inclusive ? v < *low : v <= *low)) return false;
    if (high && (high_inclusive ? v > *high : v >= *high)) return false;
    return true;
  }

  std::string describe() const {
    if (low && high) {
      return "in " + std::string(low_inclusive ? "[" : "(") + format_bound(*low) + ", " +
             format_bound(*high) + (high_inclusive ? "]" : ")");
    }
    if (low) return (low_inclusive ? ">= " : "> ") + format_bound(*low);
    if (high) return (high_inclusive ? "<= " : "< ") + format_bound(*high);
    return "any number";
  }
};

Range any_value() { return Range{}; }
Range at_least(double v) { return Range{v, true, std::nullopt, true}; }
Range above(double v) { return Range{v, false, std::nullopt, true}; }
Range closed(double lo, double hi) { return Range{lo, true, hi, true}; }
Range half_open(double lo, double hi) { return Range{lo, true, hi, false}; }
Range open_interval(double lo, double hi) { return Range{lo, false, hi, false}; }

// ---- sections ----------------------------------------------------------------

const TreeNode& empty_map() {
  static const TreeNode node = [] {
    TreeNode n;
    n.is_map = true;
    return n;
  }();
  return node;
}

// One YAML map being read into one struct. Every read names its key, which makes
// it valid; finish() rejects the keys no read asked for.
class Section {
 public:
  Section(const TreeNode& node, std::string path) : node_(&node), path_(std::move(path)) {}

  // A nested map; absent or empty (null) reads as empty.
  Section section(const std::string& key) {
    const TreeNode* child = take(key);
    if (child == nullptr || is_null(*child)) return Section(empty_map(), full(key));
    if (!child->is_map) {
      fail(*child, key, "expected a section (a map of keys), got " + describe(*child));
    }
    return Section(*child, full(key));
  }

  // A key that is valid here but read elsewhere (only for suggestions).
  void allow(const std::string& key) { valid_.push_back(key); }

  // Non-empty strings.
  void read(const std::string& key, std::string& out) {
    const TreeNode* node = take(key);
    if (node == nullptr) return;
    std::string text = scalar(*node, key, "a string");
    if (text.empty()) fail(*node, key, "must not be empty");
    out = std::move(text);
  }

  void read(const std::string& key, bool& out) {
    if (const TreeNode* node = take(key)) out = to_bool(*node, key);
  }

  void read(const std::string& key, std::optional<bool>& out) {
    const TreeNode* node = take(key);
    if (node == nullptr) return;
    out = is_null(*node) ? std::nullopt : std::optional<bool>(to_bool(*node, key));
  }

  void read(const std::string& key, int64_t& out, const Range& range) {
    if (const TreeNode* node = take(key)) out = to_int(*node, key, range);
  }

  // An explicit null unsets the field, so a child or --set can return to the preset.
  void read(const std::string& key, std::optional<int64_t>& out, const Range& range) {
    const TreeNode* node = take(key);
    if (node == nullptr) return;
    out = is_null(*node) ? std::nullopt : std::optional<int64_t>(to_int(*node, key, range));
  }

  void read(const std::string& key, uint64_t& out) {
    const TreeNode* node = take(key);
    if (node == nullptr) return;
    const std::string text = scalar(*node, key, "a non-negative integer");
    const auto value = parse_uint(text);
    if (!value) fail(*node, key, "expected a non-negative integer, got '" + text + "'");
    out = *value;
  }

  // A whole number or a non-empty list of them (num_heads: 6, depths: [2, 2, 6, 2]).
  void read(const std::string& key, std::optional<std::vector<int64_t>>& out, const Range& range) {
    const TreeNode* node = take(key);
    if (node == nullptr) return;
    if (is_null(*node)) {
      out = std::nullopt;
      return;
    }
    if (!node->is_map && node->value.kind == Value::Kind::Scalar) {
      out = std::vector<int64_t>{to_int(*node, key, range)};
      return;
    }
    std::vector<int64_t> values;
    for (double v : to_doubles(*node, key, range)) {
      if (v != static_cast<double>(static_cast<int64_t>(v))) {
        std::ostringstream text;
        text << v;
        fail(*node, key, "expected whole numbers, got " + text.str());
      }
      values.push_back(static_cast<int64_t>(v));
    }
    if (values.empty()) fail(*node, key, "must not be empty");
    out = std::move(values);
  }

  void read(const std::string& key, std::optional<std::string>& out) {
    const TreeNode* node = take(key);
    if (node == nullptr) return;
    if (is_null(*node)) {
      out = std::nullopt;
      return;
    }
    std::string text = scalar(*node, key, "a string");
    if (text.empty()) fail(*node, key, "must not be empty");
    out = std::move(text);
  }

  void read(const std::string& key, double& out, const Range& range) {
    if (const TreeNode* node = take(key)) out = to_double(*node, key, range);
  }

  void read(const std::string& key, std::optional<double>& out, const Range& range) {
    const TreeNode* node = take(key);
    if (node == nullptr) return;
    out = is_null(*node) ? std::nullopt : std::optional<double>(to_double(*node, key, range));
  }

  // A non-empty list of numbers, each within `range`.
  void read(const std::string& key, std::vector<double>& out, const Range& range) {
    const TreeNode* node = take(key);
    if (node == nullptr) return;
    std::vector<double> values = to_doubles(*node, key, range);
    if (values.empty()) fail(*node, key, "must not be empty (one number per channel)");
    out = std::move(values);
  }

  void read(const std::string& key, std::array<double, 2>& out, const Range& range) {
    const TreeNode* node = take(key);
    if (node == nullptr) return;
    const std::vector<double> values = to_doubles(*node, key, range);
    if (values.size() != 2) {
      fail(*node, key, "expected a list of 2 numbers, got " + std::to_string(values.size()));
    }
    out = {values[0], values[1]};
  }

  // The same, optional: an explicit null unsets it.
  void read(const std::string& key, std::optional<std::array<double, 2>>& out, const Range& range) {
    const TreeNode* node = take(key);
    if (node == nullptr) return;
    if (is_null(*node)) {
      out = std::nullopt;
      return;
    }
    const std::vector<double> values = to_doubles(*node, key, range);
    if (values.size() != 2) {
      fail(*node, key, "expected a list of 2 numbers, got " + std::to_string(values.size()));
    }
    out = std::array<double, 2>{values[0], values[1]};
  }

  // A list of {match: glob, lr_scale: number} maps.
  void read(const std::string& key, std::vector<LrGroupConfig>& out) {
    const TreeNode* node = take(key);
    if (node == nullptr) return;
    if (node->is_map || (node->value.kind != Value::Kind::Sequence && node->value.kind != Value::Kind::Null)) {
      fail(*node, key, "expected a list of {match: GLOB, lr_scale: NUMBER}, got " + describe(*node));
    }
    std::vector<LrGroupConfig> groups;
    for (std::size_t i = 0; i < node->value.items.size(); ++i) {
      const Value& item = node->value.items[i];
      const std::string item_key = key + "[" + std::to_string(i) + "]";
      if (item.kind != Value::Kind::Map) fail(*node, item_key, "expected {match: GLOB, lr_scale: NUMBER}, got " + describe(item));
      LrGroupConfig group;
      bool has_match = false;
      for (const auto& [field, value] : item.fields) {
        if (field == "match" && value.kind == Value::Kind::Scalar && !value.scalar.empty()) {
          group.match = value.scalar;
          has_match = true;
        } else if (field == "lr_scale") {
          const auto v = value.kind == Value::Kind::Scalar ? parse_double(value.scalar) : std::nullopt;
          if (!v || !(*v > 0)) fail(*node, item_key + ".lr_scale", "expected a number > 0, got " + describe(value));
          group.lr_scale = *v;
        } else if (field == "match") {
          fail(*node, item_key + ".match", "expected a non-empty glob, got " + describe(value));
        } else {
          std::string message = "unknown key '" + full(item_key + "." + field) + "'";
          if (const auto near = closest_match(field, {"match", "lr_scale"})) message += "; did you mean '" + *near + "'?";
          fail(*node, item_key, message);
        }
      }
      if (!has_match) fail(*node, item_key, "needs a 'match' glob");
      groups.push_back(group);
    }
    out = std::move(groups);
  }

  template <typename E>
  void read_enum(const std::string& key, E& out) {
    if (const TreeNode* node = take(key)) out = to_enum<E>(*node, key);
  }

  template <typename E>
  void read_enum(const std::string& key, std::optional<E>& out) {
    const TreeNode* node = take(key);
    if (node == nullptr) return;
    out = is_null(*node) ? std::nullopt : std::optional<E>(to_enum<E>(*node, key));
  }

  // The node read for `key` (after its read), for checks across fields.
  const TreeNode* find(const std::string& key) const { return node_->find(key); }

  [[noreturn]] void fail(const TreeNode& node, const std::string& key,
                         const std::string& message) const {
    throw Error(node.origin.text(), full(key) + ": " + message);
  }

  // Throws at the first key that no read asked for, suggesting a near miss.
  void finish() const {
    for (const auto& child : node_->children) {
      bool known = false;
      for (const auto& key : valid_) known = known || key == child.key;
      if (known) continue;
      std::string message = "unknown key '" + full(child.key) + "'";
      if (const auto suggestion = closest_match(child.key, valid_)) {
        message += "; did you mean '" + *suggestion + "'?";
      } else {
        message += "; valid keys" + std::string(path_.empty() ? "" : " in '" + path_ + "'") +
                   " are: " + join(valid_);
      }
      throw Error(child.origin.text(), message);
    }
  }

 private:
  const TreeNode* take(const std::string& key) {
    valid_.push_back(key);
    return node_->find(key);
  }

  std::string full(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }

  std::string scalar(const TreeNode& node, const std::string& key, const std::string& expected) const {
    if (node.is_map || node.value.kind != Value::Kind::Scalar) {
      fail(node, key, "expected " + expected + ", got " + describe(node));
    }
    return node.value.scalar;
  }

  bool to_bool(const TreeNode& node, const std::string& key) const {
    const std::string text = scalar(node, key, "true or false");
    const auto value = parse_bool(text);
    if (!value) fail(node, key, "expected true or false, got '" + text + "'");
    return *value;
  }

  int64_t to_int(const TreeNode& node, const std::string& key, const Range& range) const {
    const std::string text = scalar(node, key, "an integer");
    const auto value = parse_int(text);
    if (!value) fail(node, key, "expected an integer, got '" + text + "'");
    if (!range.contains(static_cast<double>(*value))) {
      fail(node, key, text + " is out of range; must be " + range.describe());
    }
    return *value;
  }

  double to_double(const TreeNode& node, const std::string& key, const Range& range) const {
    const std::string text = scalar(node, key, "a number");
    const auto value = parse_double(text);
    if (!value) fail(node, key, "expected a number, got '" + text + "'");
    if (!range.contains(*value)) fail(node, key, text + " is out of range; must be " + range.describe());
    return *value;
  }

  std::vector<double> to_doubles(const TreeNode& node, const std::string& key,
                                 const Range& range) const {
    if (node.is_map || node.value.kind != Value::Kind::Sequence) {
      fail(node, key, "expected a list of numbers, got " + describe(node));
    }
    std::vector<double> values;
    for (std::size_t i = 0; i < node.value.items.size(); ++i) {
      const Value& item = node.value.items[i];
      const std::string item_key = key + "[" + std::to_string(i) + "]";
      const auto value =
          item.kind == Value::Kind::Scalar ? parse_double(item.scalar) : std::nullopt;
      if (!value) fail(node, item_key, "expected a number, got " + describe(item));
      if (!range.contains(*value)) {
        fail(node, item_key, item.scalar + " is out of range; must be " + range.describe());
      }
      values.push_back(*value);
    }
    return values;
  }

  template <typename E>
  E to_enum(const TreeNode& node, const std::string& key) const {
    const std::vector<std::string> choices = names_of<E>();
    const std::string text = scalar(node, key, "one of " + join(choices, "|"));
    if (const auto value = from_string<E>(text)) return *value;
    std::string message = "expected one of " + join(choices, "|") + ", got '" + text + "'";
    if (const auto suggestion = closest_match(text, choices)) {
      message += "; did you mean '" + *suggestion + "'?";
    }
    fail(node, key, message);
  }

  const TreeNode* node_;
  std::string path_;                // dotted path of this map; empty at the top
  std::vector<std::string> valid_;  // keys read so far, in struct order
};

// ---- the recipe --------------------------------------------------------------

void read_clip_vision(Section s, ClipVisionConfig& v) {
  s.read("image_size", v.image_size, at_least(1));
  s.read("patch_size", v.patch_size, at_least(1));
  s.read("width", v.width, at_least(1));
  s.read("layers", v.layers, at_least(1));
  s.read("heads", v.heads, at_least(1));
  s.read("mlp_ratio", v.mlp_ratio, above(0));
  s.finish();
}

void read_clip_text(Section s, ClipTextConfig& t) {
  s.read("context_length", t.context_length, at_least(1));
  s.read("vocab_size", t.vocab_size, at_least(1));
  s.read("width", t.width, at_least(1));
  s.read("layers", t.layers, at_least(1));
  s.read("heads", t.heads, at_least(1));
  s.read("mlp_ratio", t.mlp_ratio, above(0));
  s.finish();
}

void read_model(Section s, ModelConfig& m) {
  s.read("name", m.name);
  s.read("pretrained", m.pretrained);
  s.read("img_size", m.img_size, at_least(1));
  s.read("patch_size", m.patch_size, at_least(1));
  s.read("in_chans", m.in_chans, at_least(1));
  s.read("num_classes", m.num_classes, at_least(1));
  s.read("embed_dim", m.embed_dim, at_least(1));
  s.read("depth", m.depth, at_least(1));
  s.read("depths", m.depths, at_least(1));
  s.read("num_heads", m.num_heads, at_least(1));
  s.read("window_size", m.window_size, at_least(1));
  s.read("mlp_ratio", m.mlp_ratio, above(0));
  s.read("qkv_bias", m.qkv_bias);
  s.read("class_token", m.class_token);
  s.read_enum("global_pool", m.global_pool);
  s.read("drop_rate", m.drop_rate, half_open(0, 1));
  s.read("pos_drop_rate", m.pos_drop_rate, half_open(0, 1));
  s.read("proj_drop_rate", m.proj_drop_rate, half_open(0, 1));
  s.read("attn_drop_rate", m.attn_drop_rate, half_open(0, 1));
  s.read("drop_path_rate", m.drop_path_rate, half_open(0, 1));
  read_clip_vision(s.section("vision"), m.vision);
  read_clip_text(s.section("text"), m.text);
  s.finish();
}

void read_augment(Section s, AugmentConfig& a) {
  s.read("random_resized_crop", a.random_resized_crop);
  s.read("scale", a.scale, Range{0.0, false, 1.0, true});  // (0, 1]
  s.read("ratio", a.ratio, above(0));
  for (const auto& [key, range] : {std::pair{"scale", a.scale}, std::pair{"ratio", a.ratio}}) {
    if (range[0] > range[1]) s.fail(*s.find(key), key, "the first value must not exceed the second");
  }
  s.read("random_crop_padding", a.random_crop_padding, at_least(0));
  s.read("hflip", a.hflip, closed(0, 1));
  s.read("color_jitter", a.color_jitter, at_least(0));
  if (a.color_jitter.size() == 2 || a.color_jitter.size() > 4) {
    s.fail(*s.find("color_jitter"), "color_jitter",
           "expected 1 value (brightness = contrast = saturation), 3 (b, c, s) or 4 (b, c, s, hue), got " +
               std::to_string(a.color_jitter.size()));
  }
  if (a.color_jitter.size() == 4 && a.color_jitter[3] > 0.5) {
    s.fail(*s.find("color_jitter"), "color_jitter", "the hue jitter must be in [0, 0.5]");
  }
  s.read("auto_augment", a.auto_augment);
  s.read("re_prob", a.re_prob, closed(0, 1));
  s.read_enum("re_mode", a.re_mode);
  s.read("re_count", a.re_count, at_least(1));
  s.read("aug_repeats", a.aug_repeats, at_least(0));
  s.finish();
}

void read_data(Section s, DataConfig& d) {
  s.read_enum("dataset", d.dataset);
  s.read("root", d.root);
  s.read("coarse_labels", d.coarse_labels);
  s.read("train_split", d.train_split);
  s.read("eval_split", d.eval_split);
  s.read("csv_image_key", d.csv_image_key);
  s.read("csv_caption_key", d.csv_caption_key);
  s.read("csv_separator", d.csv_separator);
  if (d.csv_separator && d.csv_separator->size() != 1) {
    s.fail(*s.find("csv_separator"), "csv_separator", "must be one character (e.g. \"\\t\" or \",\")");
  }
  s.read("image_size", d.image_size, at_least(1));
  s.read("channels", d.channels, Range{1.0, true, 3.0, true});
  if (d.channels == 2) s.fail(*s.find("channels"), "channels", "must be 1 or 3");
  s.read_enum("interpolation", d.interpolation);
  s.read("crop_pct", d.crop_pct, Range{0.0, false, 1.0, true});  // (0, 1]
  s.read_enum("on_bad_sample", d.on_bad_sample);
  s.read("batch_size", d.batch_size, at_least(1));
  s.read("eval_batch_size", d.eval_batch_size, at_least(1));
  s.read("num_workers", d.num_workers, at_least(0));
  s.read("prefetch_batches", d.prefetch_batches, at_least(1));
  s.read("limit_train", d.limit_train, at_least(0));
  s.read("limit_eval", d.limit_eval, at_least(0));
  std::optional<NormalizePreset> preset;
  s.read_enum("normalize", preset);
  if (preset) {
    for (const char* key : {"mean", "std"}) {
      if (const TreeNode* node = s.find(key)) {
        s.fail(*node, key, "is set by data.normalize too; give either the preset or mean and std");
      }
    }
    std::tie(d.mean, d.std) = normalize_preset(*preset);
  }
  s.read("mean", d.mean, any_value());
  s.read("std", d.std, above(0));
  if (d.mean.size() != d.std.size()) {
    // Point at the one that was set (the other kept its default); when both were,
    // at an override if one came from --set, else at std.
    const TreeNode* mean = s.find("mean");
    const TreeNode* std = s.find("std");
    const bool blame_mean =
        std == nullptr || (mean != nullptr && mean->origin.line == 0 && std->origin.line > 0);
    const TreeNode& at = blame_mean ? *mean : *std;
    const std::size_t here = blame_mean ? d.mean.size() : d.std.size();
    const std::size_t there = blame_mean ? d.std.size() : d.mean.size();
    s.fail(at, at.key,
           "has " + std::to_string(here) + " values but data." + (blame_mean ? "std" : "mean") +
               " has " + std::to_string(there) + "; give one of each per channel");
  }
  read_augment(s.section("augment"), d.augment);
  s.finish();
}

void read_optim(Section s, OptimConfig& o) {
  s.read_enum("name", o.name);
  s.read("learning_rate", o.learning_rate, above(0));
  s.read("weight_decay", o.weight_decay, at_least(0));
  s.read("betas", o.betas, half_open(0, 1));
  s.read("eps", o.eps, above(0));
  s.read("momentum", o.momentum, half_open(0, 1));
  s.read("nesterov", o.nesterov);
  s.read("clip_grad_norm", o.clip_grad_norm, at_least(0));
  s.read("layer_decay", o.layer_decay, Range{0.0, false, 1.0, true});  // (0, 1]
  s.read("lr_groups", o.lr_groups);
  s.read("lr_base_size", o.lr_base_size, at_least(0));
  s.read_enum("lr_base_scale", o.lr_base_scale);
  s.finish();
}

void read_schedule(Section s, ScheduleConfig& c) {
  s.read_enum("name", c.name);
  s.read("warmup_epochs", c.warmup_epochs, at_least(0));
  s.read("warmup_steps", c.warmup_steps, at_least(0));
  s.read("warmup_lr", c.warmup_lr, at_least(0));
  s.read("warmup_start_factor", c.warmup_start_factor, closed(0, 1));
  s.read("min_lr", c.min_lr, at_least(0));
  s.read("decay_epochs", c.decay_epochs, above(0));
  s.read("decay_steps", c.decay_steps, at_least(1));
  s.read("decay_rate", c.decay_rate, Range{0.0, false, 1.0, true});  // (0, 1]
  s.finish();
}

void read_grad_scaler(Section s, GradScalerConfig& g) {
  s.read("init_scale", g.init_scale, above(0));
  s.read("growth_factor", g.growth_factor, above(1));
  s.read("backoff_factor", g.backoff_factor, open_interval(0, 1));
  s.read("growth_interval", g.growth_interval, at_least(1));
  s.finish();
}

void read_ema(Section s, EmaConfig& e) {
  s.read("decay", e.decay, half_open(0, 1));
  s.read("warmup", e.warmup);
  s.read("warmup_power", e.warmup_power, above(0));
  s.read("on_cpu", e.on_cpu);
  s.finish();
}

void read_mixup(Section s, MixupConfig& m) {
  s.read("mixup_alpha", m.mixup_alpha, at_least(0));
  s.read("cutmix_alpha", m.cutmix_alpha, at_least(0));
  s.read("cutmix_minmax", m.cutmix_minmax, Range{0.0, false, 1.0, true});  // each in (0, 1]
  if (m.cutmix_minmax && !((*m.cutmix_minmax)[0] < (*m.cutmix_minmax)[1])) {
    s.fail(*s.find("cutmix_minmax"), "cutmix_minmax",
           "needs [min, max] with min < max (fractions of the image side), e.g. [0.2, 0.8]");
  }
  s.read("prob", m.prob, closed(0, 1));
  s.read("switch_prob", m.switch_prob, closed(0, 1));
  s.read_enum("mode", m.mode);
  s.read("correct_lam", m.correct_lam);
  s.finish();
}

void read_train(Section s, TrainConfig& t) {
  s.read("epochs", t.epochs, at_least(1));
  s.read("label_smoothing", t.label_smoothing, half_open(0, 1));
  s.read("seed", t.seed);
  s.read_enum("device", t.device);
  s.read_enum("attention", t.attention);
  s.read("threads", t.threads, at_least(0));
  s.read("eval_every", t.eval_every, at_least(1));
  read_grad_scaler(s.section("grad_scaler"), t.grad_scaler);
  s.read("max_nonfinite_steps", t.max_nonfinite_steps, at_least(1));
  read_ema(s.section("ema"), t.ema);
  read_mixup(s.section("mixup"), t.mixup);
  s.read("accum_steps", t.accum_steps, at_least(1));
  s.read("resume", t.resume);
  s.finish();
}

void read_logging(Section s, LoggingConfig& l) {
  s.read("output_dir", l.output_dir);
  s.read_enum("progress", l.progress);
  s.read("log_every", l.log_every, at_least(1));
  s.read("tensorboard", l.tensorboard);
  s.finish();
}

void read_checkpoint(Section s, CheckpointConfig& c) {
  s.read("save_last", c.save_last);
  s.read("every_epochs", c.every_epochs, at_least(0));
  s.read("every_steps", c.every_steps, at_least(0));
  s.read("keep_last", c.keep_last, at_least(0));
  s.read("best", c.best);
  s.finish();
}

void read_distill(Section s, DistillConfig& d) {
  s.read_enum("type", d.type);
  s.read("alpha", d.alpha, closed(0, 1));
  s.read("tau", d.tau, above(0));
  s.read_enum("normalization", d.normalization);
  const TreeNode* teacher = s.find("teacher");
  if (teacher != nullptr && !teacher->is_map && teacher->value.kind == Value::Kind::Scalar) {
    // `teacher: NAME` is short for `teacher: {name: NAME}`.
    s.allow("teacher");
    if (teacher->value.scalar.empty()) s.fail(*teacher, "teacher", "must not be empty");
    d.teacher.emplace();
    d.teacher->name = teacher->value.scalar;
  } else if (teacher != nullptr && !is_null(*teacher)) {
    // A model section of its own, read by the same rules as `model`; its name says which model.
    if (teacher->is_map && teacher->find("name") == nullptr) {
      s.fail(*teacher, "teacher", "needs a 'name' (the teacher's registry name, e.g. swin_tiny_patch4_window7_224)");
    }
    d.teacher.emplace();
    read_model(s.section("teacher"), *d.teacher);
  } else {
    s.section("teacher");  // absent or null: the teacher's own recorded architecture
    d.teacher.reset();
  }
  s.read("teacher_weights", d.teacher_weights);
  if (d.type != DistillType::None && !d.teacher_weights) {
    // type is not none, so the recipe set it.
    s.fail(*s.find("type"), "type",
           to_string(d.type) + " distillation needs distill.teacher_weights (the teacher's run folder, bundle "
                               "folder or safetensors file)");
  }
  s.finish();
}

void read_clip_train(Section s, ClipTrainConfig& c) {
  s.read("lock_image", c.lock_image);
  s.read("image_lr_scale", c.image_lr_scale, at_least(0));
  s.read("image_weight_decay", c.image_weight_decay, at_least(0));
  s.read("text_lr_scale", c.text_lr_scale, at_least(0));
  s.read("text_weight_decay", c.text_weight_decay, at_least(0));
  s.read("logit_scale_lr_scale", c.logit_scale_lr_scale, at_least(0));
  s.read("logit_scale_weight_decay", c.logit_scale_weight_decay, at_least(0));
  s.finish();
}

void read_dist(Section s, DistConfig& d) {
  s.read_enum("backend", d.backend);
  s.read("bucket_mb", d.bucket_mb, above(0));
  s.read("timeout_s", d.timeout_s, above(0));
  s.read("rendezvous_timeout_s", d.rendezvous_timeout_s, above(0));
  s.read("drop_last_shard", d.drop_last_shard);
  s.read("clip_local_loss", d.clip_local_loss);
  s.read("clip_gather_with_grad", d.clip_gather_with_grad);
  s.finish();
}

}  // namespace

RecipeConfig read_recipe(const TreeNode& root, const std::string& default_name) {
  RecipeConfig c;
  c.name = default_name;
  Section top(root, "");
  top.read("name", c.name);
  top.read_enum("precision", c.precision);
  read_model(top.section("model"), c.model);
  read_data(top.section("data"), c.data);
  read_optim(top.section("optim"), c.optim);
  read_schedule(top.section("schedule"), c.schedule);
  read_train(top.section("train"), c.train);
  read_logging(top.section("logging"), c.logging);
  read_checkpoint(top.section("checkpoint"), c.checkpoint);
  read_distill(top.section("distill"), c.distill);
  read_clip_train(top.section("clip"), c.clip);
  read_dist(top.section("dist"), c.dist);
  top.allow("base");  // consumed by inheritance before reading; listed for suggestions
  top.finish();
  return c;
}

}  // namespace tessera::config
