// Train state to and from safetensors (see train_state.h).
#include "tessera/train/train_state.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Context.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <c10/core/GradMode.h>
#include <spdlog/spdlog.h>
#include <torch/optim/adamw.h>
#include <torch/optim/sgd.h>

#include <charconv>
#include <mutex>
#include <set>
#include <sstream>
#include <unordered_map>

#include "tessera/core/error.h"

namespace tessera::train {

namespace {

using Tensors = std::vector<std::pair<std::string, at::Tensor>>;

constexpr const char* kFormat = "tessera-train-state";
constexpr const char* kVersion = "1";

// Shortest text that reads back to the same double (std::to_chars' guarantee).
std::string exact(double v) {
  char buf[64];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, end);
}

const char* optimizer_kind(torch::optim::Optimizer& optimizer) {
  if (dynamic_cast<torch::optim::AdamW*>(&optimizer)) return "adamw";
  if (dynamic_cast<torch::optim::SGD*>(&optimizer)) return "sgd";
  throw Error("train state", "only AdamW and SGD state can be checkpointed");
}

// Parameter identity (what the optimizer keys its state by) to the parameter's name.
std::unordered_map<void*, std::string> names_by_impl(torch::nn::Module& model) {
  std::unordered_map<void*, std::string> names;
  for (const auto& item : model.named_parameters(/*recurse=*/true)) names[item.value().unsafeGetTensorImpl()] = item.key();
  return names;
}

std::vector<at::Generator> cuda_generators() {
  std::vector<at::Generator> generators;
  if (!at::globalContext().hasCUDA()) return generators;
  const auto count = static_cast<c10::DeviceIndex>(at::detail::getCUDAHooks().getNumGPUs());
  for (c10::DeviceIndex i = 0; i < count; ++i) {
    generators.push_back(at::globalContext().defaultGenerator(c10::Device(c10::kCUDA, i)));
  }
  return generators;
}

at::Tensor rng_state(at::Generator generator) {  // a handle: copies share the generator
  std::lock_guard<std::mutex> lock(generator.mutex());
  return generator.get_state();
}

void set_rng_state(at::Generator generator, const at::Tensor& state) {
  std::lock_guard<std::mutex> lock(generator.mutex());
  generator.set_state(state);
}

class Reader {
 public:
  Reader(const core::NamedTensors& file, std::string origin) : file_(file), origin_(std::move(origin)) {
    for (const auto& [name, tensor] : file.tensors) tensors_[name] = tensor;
  }

  [[noreturn]] void fail(const std::string& message) const {
    throw Error(origin_, message + "; this train state does not fit the run being resumed");
  }

  const std::string& meta(const std::string& key) const {
    auto it = file_.metadata.find(key);
    if (it == file_.metadata.end()) fail("the metadata lacks '" + key + "'");
    return it->second;
  }
  int64_t meta_int(const std::string& key) const {
    const std::string& text = meta(key);
    int64_t v = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || end != text.data() + text.size()) fail("metadata '" + key + "' is not an integer: " + text);
    return v;
  }
  double meta_double(const std::string& key) const {
    const std::string& text = meta(key);
    double v = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || end != text.data() + text.size()) fail("metadata '" + key + "' is not a number: " + text);
    return v;
  }

  const at::Tensor* find(const std::string& name) const {
    auto it = tensors_.find(name);
    return it == tensors_.end() ? nullptr : &it->second;
  }
  const at::Tensor& get(const std::string& name) const {
    const at::Tensor* t = find(name);
    if (!t) fail("tensor '" + name + "' is missing");
    return *t;
  }
  // Every tensor whose name starts with `prefix`.
  std::vector<std::string> names_under(const std::string& prefix) const {
    std::vector<std::string> out;
    for (const auto& [name, tensor] : tensors_) {
      if (name.rfind(prefix, 0) == 0) out.push_back(name);
    }
    return out;
  }

 private:
  const core::NamedTensors& file_;
  std::string origin_;
  std::map<std::string, at::Tensor> tensors_;
};

// `saved`, checked against the shape of `like`, on its device and dtype.
at::Tensor fitted(const Reader& r, const std::string& name, const at::Tensor& like) {
  const at::Tensor& saved = r.get(name);
  if (saved.sizes() != like.sizes()) {
    std::ostringstream m;
    m << "'" << name << "' has shape " << saved.sizes() << ", the parameter " << like.sizes();
    r.fail(m.str());
  }
  return saved.to(like.device(), like.scalar_type(), /*non_blocking=*/false, /*copy=*/true);
}

void save_optimizer(torch::optim::Optimizer& optimizer, torch::nn::Module& model, Tensors& out) {
  const auto names = names_by_impl(model);
  const bool adamw = dynamic_cast<torch::optim::AdamW*>(&optimizer) != nullptr;
  for (const auto& [impl, state] : optimizer.state()) {
    auto it = names.find(impl);
    TORCH_CHECK(it != names.end(), "train state: the optimizer holds state for a tensor that is not a model parameter");
    const std::string prefix = "optim/" + it->second + "/";
    if (adamw) {
      const auto& s = static_cast<const torch::optim::AdamWParamState&>(*state);
      out.emplace_back(prefix + "step", at::full({1}, s.step(), at::kLong));
      out.emplace_back(prefix + "exp_avg", s.exp_avg().detach().cpu());
      out.emplace_back(prefix + "exp_avg_sq", s.exp_avg_sq().detach().cpu());
      if (s.max_exp_avg_sq().defined()) out.emplace_back(prefix + "max_exp_avg_sq", s.max_exp_avg_sq().detach().cpu());
    } else {
      const auto& s = static_cast<const torch::optim::SGDParamState&>(*state);
      if (s.momentum_buffer().defined()) {
        out.emplace_back(prefix + "momentum_buffer", s.momentum_buffer().detach().cpu());
      }
    }
  }
}

void restore_optimizer(const Reader& r, torch::optim::Optimizer& optimizer, torch::nn::Module& model) {
  const bool adamw = std::string(r.meta("optimizer")) == "adamw";
  if (r.meta("optimizer") != optimizer_kind(optimizer)) {
    r.fail("it holds " + r.meta("optimizer") + " state but the recipe's optimizer is " + optimizer_kind(optimizer));
  }
  std::set<std::string> used;
  auto& states = optimizer.state();
  states.clear();
  for (const auto& item : model.named_parameters(/*recurse=*/true)) {
    const std::string prefix = "optim/" + item.key() + "/";
    const at::Tensor& p = item.value();
    if (adamw) {
      if (!r.find(prefix + "exp_avg")) continue;  // no step has touched it yet
      auto s = std::make_unique<torch::optim::AdamWParamState>();
      s->step(r.get(prefix + "step").item<int64_t>());
      s->exp_avg(fitted(r, prefix + "exp_avg", p));
      s->exp_avg_sq(fitted(r, prefix + "exp_avg_sq", p));
      for (const char* f : {"step", "exp_avg", "exp_avg_sq"}) used.insert(prefix + f);
      if (r.find(prefix + "max_exp_avg_sq")) {
        s->max_exp_avg_sq(fitted(r, prefix + "max_exp_avg_sq", p));
        used.insert(prefix + "max_exp_avg_sq");
      }
      states[p.unsafeGetTensorImpl()] = std::move(s);
    } else {
      if (!r.find(prefix + "momentum_buffer")) continue;
      auto s = std::make_unique<torch::optim::SGDParamState>();
      s->momentum_buffer(fitted(r, prefix + "momentum_buffer", p));
      used.insert(prefix + "momentum_buffer");
      states[p.unsafeGetTensorImpl()] = std::move(s);
    }
  }
  for (const auto& name : r.names_under("optim/")) {
    if (!used.count(name)) r.fail("'" + name + "' belongs to no parameter of the model");
  }
}

}  // namespace

std::string serialize_train_state(const TrainProgress& progress, const TrainStateRefs& refs,
                                  const std::map<std::string, std::string>& extra_metadata) {
  c10::NoGradGuard no_grad;
  Tensors tensors;
  save_optimizer(refs.optimizer, refs.model, tensors);
  for (const auto& [key, value] : refs.scaler.state()) tensors.emplace_back("scaler/" + key, value.cpu());
  tensors.emplace_back("rng/cpu", rng_state(at::detail::getDefaultCPUGenerator()));
  const auto cuda = cuda_generators();
  for (size_t i = 0; i < cuda.size(); ++i) tensors.emplace_back("rng/cuda/" + std::to_string(i), rng_state(cuda[i]));
  if (refs.ema) {
    for (const auto& [name, tensor] : refs.ema->state()) tensors.emplace_back("ema/" + name, tensor.detach().cpu());
  }

  std::map<std::string, std::string> meta = extra_metadata;
  meta["format"] = kFormat;
  meta["version"] = kVersion;
  meta["optimizer"] = optimizer_kind(refs.optimizer);
  meta["step"] = std::to_string(progress.step);
  meta["epoch"] = std::to_string(progress.epoch);
  meta["batches_in_epoch"] = std::to_string(progress.batches_in_epoch);
  meta["steps_in_epoch"] = std::to_string(progress.steps_in_epoch);
  meta["epoch_loss_sum"] = exact(progress.epoch_loss_sum);
  meta["best_top1"] = exact(progress.best_top1);
  meta["nonfinite_in_a_row"] = std::to_string(progress.nonfinite_in_a_row);
  meta["metrics_rows"] = std::to_string(progress.metrics_rows);
  meta["ema_updates"] = refs.ema ? std::to_string(progress.step) : "0";
  meta["cuda_generators"] = std::to_string(cuda.size());
  return core::serialize_safetensors(tensors, meta);
}

TrainProgress restore_train_state(const core::NamedTensors& file, const TrainStateRefs& refs,
                                  const std::string& origin) {
  c10::NoGradGuard no_grad;
  const Reader r(file, origin);
  if (r.meta("format") != kFormat) r.fail("not a train state (format '" + r.meta("format") + "')");
  if (r.meta("version") != kVersion) r.fail("train state version " + r.meta("version") + ", expected " + kVersion);

  TrainProgress p;
  p.step = r.meta_int("step");
  p.epoch = r.meta_int("epoch");
  p.batches_in_epoch = r.meta_int("batches_in_epoch");
  p.steps_in_epoch = r.meta_int("steps_in_epoch");
  p.epoch_loss_sum = r.meta_double("epoch_loss_sum");
  p.best_top1 = r.meta_double("best_top1");
  p.nonfinite_in_a_row = r.meta_int("nonfinite_in_a_row");
  p.metrics_rows = r.meta_int("metrics_rows");

  restore_optimizer(r, refs.optimizer, refs.model);

  std::map<std::string, at::Tensor> scaler;
  for (const auto& name : r.names_under("scaler/")) scaler[name.substr(7)] = r.get(name);
  refs.scaler.load_state(scaler);

  const bool saved_ema = !r.names_under("ema/").empty();
  if (refs.ema && !saved_ema) r.fail("the run now keeps a weight EMA (train.ema.decay) but the checkpoint has none");
  if (!refs.ema && saved_ema) r.fail("the checkpoint has a weight EMA but train.ema.decay is now 0");
  if (refs.ema) {
    Tensors ema;
    for (const auto& [name, tensor] : refs.ema->state()) ema.emplace_back(name, fitted(r, "ema/" + name, tensor));
    if (ema.size() != r.names_under("ema/").size()) r.fail("the EMA holds tensors the model does not have");
    refs.ema->load_state(ema);
  }

  // The generators last: nothing after this may draw random numbers before training goes on.
  set_rng_state(at::detail::getDefaultCPUGenerator(), r.get("rng/cpu"));
  const auto cuda = cuda_generators();
  const int64_t saved_cuda = r.meta_int("cuda_generators");
  if (saved_cuda != static_cast<int64_t>(cuda.size())) {
    spdlog::warn("{}: saved {} CUDA generator states, this machine has {} GPUs; their random streams are not "
                 "continued exactly", origin, saved_cuda, cuda.size());
  }
  for (size_t i = 0; i < cuda.size() && static_cast<int64_t>(i) < saved_cuda; ++i) {
    set_rng_state(cuda[i], r.get("rng/cuda/" + std::to_string(i)));
  }
  return p;
}

}  // namespace tessera::train
