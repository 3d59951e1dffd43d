// Writing a RecipeConfig as YAML, field by field.
#include "tessera/config/writer.h"

#include <charconv>
#include <optional>
#include <sstream>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "tessera/config/names.h"

namespace tessera::config {

namespace {

// Shortest text that reads back to exactly `v`, always looking like a float:
// 0.05, 3.0, 1e-8.
std::string format_double(double v) {
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), v);
  std::string text(buffer, result.ptr);
  const auto e = text.find('e');
  if (e != std::string::npos) {
    // to_chars writes 1e-08; drop the exponent's leading zeros.
    std::size_t digits = e + 1;
    if (digits < text.size() && (text[digits] == '-' || text[digits] == '+')) ++digits;
    std::size_t zeros = digits;
    while (zeros + 1 < text.size() && text[zeros] == '0') ++zeros;
    text.erase(digits, zeros - digits);
    if (text[e + 1] == '+') text.erase(e + 1, 1);
  } else if (text.find('.') == std::string::npos) {
    text += ".0";
  }
  return text;
}

// A string scalar, quoted only when YAML would otherwise read something else.
std::string format_string(const std::string& s) {
  YAML::Emitter emitter;
  emitter << s;
  return emitter.c_str();
}

std::string format_list(const std::vector<double>& values) {
  std::string text = "[";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) text += ", ";
    text += format_double(values[i]);
  }
  return text + "]";
}

// Lines of "<indent>key: value", one section at a time.
class Writer {
 public:
  void section(const std::string& key) {
    if (!out_.str().empty() && indent_.empty()) out_ << "\n";
    out_ << indent_ << key << ":\n";
    indent_ += "  ";
  }
  void end_section() { indent_.resize(indent_.size() - 2); }

  void put(const std::string& key, const std::string& text) {
    out_ << indent_ << key << ": " << text << "\n";
  }
  void put_string(const std::string& key, const std::string& v) { put(key, format_string(v)); }
  void put(const std::string& key, int64_t v) { put(key, std::to_string(v)); }
  void put(const std::string& key, uint64_t v) { put(key, std::to_string(v)); }
  void put(const std::string& key, double v) { put(key, format_double(v)); }
  void put(const std::string& key, bool v) { put(key, std::string(v ? "true" : "false")); }

  // One number as a scalar (num_heads: 6), more as a flow list (depths: [2, 2, 6, 2]).
  void put(const std::string& key, const std::vector<int64_t>& v) {
    if (v.size() == 1) return put(key, v[0]);
    std::string text = "[";
    for (std::size_t i = 0; i < v.size(); ++i) text += (i ? ", " : "") + std::to_string(v[i]);
    put(key, text + "]");
  }
  void put(const std::string& key, const std::optional<std::string>& v) {
    if (v) put_string(key, *v);
  }

  template <typename T>
  void put(const std::string& key, const std::optional<T>& v) {
    if (v) put(key, *v);
  }

  std::string str() const { return out_.str(); }

 private:
  std::ostringstream out_;
  std::string indent_;
};

// The keys of a model section (the recipe's model, a distillation teacher), inside an
// open section.
void write_model(Writer& w, const ModelConfig& m) {
  w.put_string("name", m.name);
  w.put("pretrained", m.pretrained);
  w.put("img_size", m.img_size);
  w.put("patch_size", m.patch_size);
  w.put("in_chans", m.in_chans);
  w.put("num_classes", m.num_classes);
  w.put("embed_dim", m.embed_dim);
  w.put("depth", m.depth);
  w.put("depths", m.depths);
  w.put("num_heads", m.num_heads);
  w.put("window_size", m.window_size);
  w.put("mlp_ratio", m.mlp_ratio);
  w.put("qkv_bias", m.qkv_bias);
  w.put("class_token", m.class_token);
  if (m.global_pool) w.put("global_pool", to_string(*m.global_pool));
  w.put("drop_rate", m.drop_rate);
  w.put("pos_drop_rate", m.pos_drop_rate);
  w.put("proj_drop_rate", m.proj_drop_rate);
  w.put("attn_drop_rate", m.attn_drop_rate);
  w.put("drop_path_rate", m.drop_path_rate);
  // The CLIP towers only when something in them is set: image models have none.
  const ClipVisionConfig& vision = m.vision;
  if (vision.image_size || vision.patch_size || vision.width || vision.layers || vision.heads || vision.mlp_ratio) {
    w.section("vision");
    w.put("image_size", vision.image_size);
    w.put("patch_size", vision.patch_size);
    w.put("width", vision.width);
    w.put("layers", vision.layers);
    w.put("heads", vision.heads);
    w.put("mlp_ratio", vision.mlp_ratio);
    w.end_section();
  }
  const ClipTextConfig& text = m.text;
  if (text.context_length || text.vocab_size || text.width || text.layers || text.heads || text.mlp_ratio) {
    w.section("text");
    w.put("context_length", text.context_length);
    w.put("vocab_size", text.vocab_size);
    w.put("width", text.width);
    w.put("layers", text.layers);
    w.put("heads", text.heads);
    w.put("mlp_ratio", text.mlp_ratio);
    w.end_section();
  }
}

}  // namespace

std::string write_recipe(const RecipeConfig& c) {
  Writer w;
  w.put_string("name", c.name);
  w.put("precision", to_string(c.precision));

  w.section("model");
  write_model(w, c.model);
  w.end_section();

  const DataConfig& d = c.data;
  w.section("data");
  w.put("dataset", to_string(d.dataset));
  w.put_string("root", d.root);
  w.put("coarse_labels", d.coarse_labels);
  w.put("train_split", d.train_split);
  w.put("eval_split", d.eval_split);
  w.put_string("csv_image_key", d.csv_image_key);
  w.put_string("csv_caption_key", d.csv_caption_key);
  w.put("csv_separator", d.csv_separator);
  w.put("image_size", d.image_size);
  w.put("channels", d.channels);
  w.put("interpolation", to_string(d.interpolation));
  w.put("crop_pct", d.crop_pct);
  w.put("on_bad_sample", to_string(d.on_bad_sample));
  w.put("batch_size", d.batch_size);
  w.put("eval_batch_size", d.eval_batch_size);
  w.put("num_workers", d.num_workers);
  w.put("prefetch_batches", d.prefetch_batches);
  w.put("limit_train", d.limit_train);
  w.put("limit_eval", d.limit_eval);
  w.put("mean", format_list(d.mean));
  w.put("std", format_list(d.std));
  const AugmentConfig& a = d.augment;
  w.section("augment");
  w.put("random_resized_crop", a.random_resized_crop);
  w.put("scale", format_list({a.scale[0], a.scale[1]}));
  w.put("ratio", format_list({a.ratio[0], a.ratio[1]}));
  w.put("random_crop_padding", a.random_crop_padding);
  w.put("hflip", a.hflip);
  if (!a.color_jitter.empty()) w.put("color_jitter", format_list(a.color_jitter));
  w.put("auto_augment", a.auto_augment);
  w.put("re_prob", a.re_prob);
  w.put("re_mode", to_string(a.re_mode));
  w.put("re_count", a.re_count);
  w.put("aug_repeats", a.aug_repeats);
  w.end_section();
  w.end_section();

  const OptimConfig& o = c.optim;
  w.section("optim");
  w.put("name", to_string(o.name));
  w.put("learning_rate", o.learning_rate);
  w.put("weight_decay", o.weight_decay);
  w.put("betas", format_list({o.betas[0], o.betas[1]}));
  w.put("eps", o.eps);
  w.put("momentum", o.momentum);
  w.put("nesterov", o.nesterov);
  w.put("clip_grad_norm", o.clip_grad_norm);
  w.put("layer_decay", o.layer_decay);
  w.put("lr_base_size", o.lr_base_size);
  w.put("lr_base_scale", to_string(o.lr_base_scale));
  if (!o.lr_groups.empty()) {
    std::string text = "[";
    for (std::size_t i = 0; i < o.lr_groups.size(); ++i) {
      // Globs carry [ ] * that flow syntax would misread: always double-quote them.
      YAML::Emitter glob;
      glob << YAML::DoubleQuoted << o.lr_groups[i].match;
      text += (i ? ", " : "") + std::string("{match: ") + glob.c_str() +
              ", lr_scale: " + format_double(o.lr_groups[i].lr_scale) + "}";
    }
    w.put("lr_groups", text + "]");
  }
  w.end_section();

  const ScheduleConfig& s = c.schedule;
  w.section("schedule");
  w.put("name", to_string(s.name));
  w.put("warmup_epochs", s.warmup_epochs);
  w.put("warmup_steps", s.warmup_steps);
  w.put("warmup_lr", s.warmup_lr);
  w.put("warmup_start_factor", s.warmup_start_factor);
  w.put("min_lr", s.min_lr);
  w.put("decay_epochs", s.decay_epochs);
  w.put("decay_steps", s.decay_steps);
  w.put("decay_rate", s.decay_rate);
  w.end_section();

  const TrainConfig& t = c.train;
  w.section("train");
  w.put("epochs", t.epochs);
  w.put("label_smoothing", t.label_smoothing);
  w.put("seed", t.seed);
  w.put("device", to_string(t.device));
  w.put("attention", to_string(t.attention));
  w.put("threads", t.threads);
  w.put("eval_every", t.eval_every);
  w.put("max_nonfinite_steps", t.max_nonfinite_steps);
  w.section("ema");
  w.put("decay", t.ema.decay);
  w.put("warmup", t.ema.warmup);
  w.put("warmup_power", t.ema.warmup_power);
  w.put("on_cpu", t.ema.on_cpu);
  w.end_section();
  w.section("grad_scaler");
  w.put("init_scale", t.grad_scaler.init_scale);
  w.put("growth_factor", t.grad_scaler.growth_factor);
  w.put("backoff_factor", t.grad_scaler.backoff_factor);
  w.put("growth_interval", t.grad_scaler.growth_interval);
  w.end_section();
  w.section("mixup");
  w.put("mixup_alpha", t.mixup.mixup_alpha);
  w.put("cutmix_alpha", t.mixup.cutmix_alpha);
  if (t.mixup.cutmix_minmax) w.put("cutmix_minmax", format_list({(*t.mixup.cutmix_minmax)[0], (*t.mixup.cutmix_minmax)[1]}));
  w.put("prob", t.mixup.prob);
  w.put("switch_prob", t.mixup.switch_prob);
  w.put("mode", to_string(t.mixup.mode));
  w.put("correct_lam", t.mixup.correct_lam);
  w.end_section();
  w.put("accum_steps", t.accum_steps);
  w.put_string("resume", t.resume);
  w.end_section();

  const LoggingConfig& l = c.logging;
  w.section("logging");
  w.put_string("output_dir", l.output_dir);
  w.put("progress", to_string(l.progress));
  w.put("log_every", l.log_every);
  w.put("tensorboard", l.tensorboard);
  w.end_section();

  w.section("checkpoint");
  w.put("save_last", c.checkpoint.save_last);
  w.put("every_epochs", c.checkpoint.every_epochs);
  w.put("every_steps", c.checkpoint.every_steps);
  w.put("keep_last", c.checkpoint.keep_last);
  w.put("best", c.checkpoint.best);
  w.end_section();

  const DistillConfig& ds = c.distill;
  w.section("distill");
  w.put("type", to_string(ds.type));
  w.put("alpha", ds.alpha);
  w.put("tau", ds.tau);
  w.put("normalization", to_string(ds.normalization));
  if (ds.teacher) {
    w.section("teacher");
    write_model(w, *ds.teacher);
    w.end_section();
  }
  w.put("teacher_weights", ds.teacher_weights);
  w.end_section();

  const ClipTrainConfig& cl = c.clip;
  w.section("clip");
  w.put("lock_image", cl.lock_image);
  w.put("image_lr_scale", cl.image_lr_scale);
  w.put("image_weight_decay", cl.image_weight_decay);
  w.put("text_lr_scale", cl.text_lr_scale);
  w.put("text_weight_decay", cl.text_weight_decay);
  w.put("logit_scale_lr_scale", cl.logit_scale_lr_scale);
  w.put("logit_scale_weight_decay", cl.logit_scale_weight_decay);
  w.end_section();

  const DistConfig& dp = c.dist;
  w.section("dist");
  w.put("backend", to_string(dp.backend));
  w.put("bucket_mb", dp.bucket_mb);
  w.put("timeout_s", dp.timeout_s);
  w.put("rendezvous_timeout_s", dp.rendezvous_timeout_s);
  w.put("drop_last_shard", dp.drop_last_shard);
  w.put("clip_local_loss", dp.clip_local_loss);
  w.put("clip_gather_with_grad", dp.clip_gather_with_grad);
  w.end_section();
  return w.str();
}

}  // namespace tessera::config
