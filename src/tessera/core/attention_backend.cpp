// train.attention applied through ATen's SDPA switches (see attention_backend.h).
#include "tessera/core/attention_backend.h"

#include <ATen/ATen.h>
#include <ATen/Context.h>
#include <ATen/SDPBackend.h>
#include <c10/core/GradMode.h>
#include <c10/util/Exception.h>

#include <vector>

#include "tessera/config/names.h"
#include "tessera/core/error.h"
#include "tessera/core/precision.h"

namespace tessera::core {

namespace {

using config::AttentionBackend;

// Collects the warnings ATen gives while it looks for a kernel: its reasons for
// refusing one ("... not used because ...") come that way.
class WarningCollector : public c10::WarningHandler {
 public:
  void process(const c10::Warning& warning) override { messages.push_back(warning.msg()); }
  std::vector<std::string> messages;
};

std::string one_line(std::string text) {
  for (char& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

std::string dtype_name(c10::ScalarType dtype) {
  switch (dtype) {
    case c10::kFloat: return "float32";
    case c10::kBFloat16: return "bfloat16";
    case c10::kHalf: return "float16";
    case c10::kDouble: return "float64";
    default: return c10::toString(dtype);
  }
}

std::string backend_name(at::SDPBackend backend) {
  switch (backend) {
    case at::SDPBackend::math: return "math";
    case at::SDPBackend::flash_attention: return "flash";
    case at::SDPBackend::efficient_attention: return "efficient";
    case at::SDPBackend::cudnn_attention: return "cudnn";
    case at::SDPBackend::overrideable: return "overrideable";
    case at::SDPBackend::error: break;
  }
  return "none";
}

std::string join(const std::vector<std::string>& parts, const std::string& separator) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? separator : "") + parts[i];
  return out;
}

// "head_dim 64" or "head_dims 32, 64".
std::string describe_dims(const std::vector<int64_t>& dims) {
  std::vector<std::string> text;
  for (int64_t d : dims) text.push_back(std::to_string(d));
  return (dims.size() == 1 ? "head_dim " : "head_dims ") + join(text, ", ");
}

// q, k, v of one tiny attention call shaped like the run's: (1, 2 heads, 8 tokens, head_dim).
struct ProbeTensors {
  at::Tensor q, k, v;
  std::optional<at::Tensor> mask;
};

ProbeTensors probe_tensors(const AttentionProbe& probe, int64_t head_dim) {
  const auto options = at::TensorOptions().dtype(probe.dtype).device(probe.device);
  ProbeTensors t;
  t.q = at::randn({1, 2, 8, head_dim}, options).requires_grad_(probe.backward);
  t.k = at::randn({1, 2, 8, head_dim}, options).requires_grad_(probe.backward);
  t.v = at::randn({1, 2, 8, head_dim}, options).requires_grad_(probe.backward);
  if (probe.with_mask) t.mask = at::zeros({1, 1, 8, 8}, options);
  return t;
}

// Runs the probe with the switches as they are; nullopt or ATen's reason for failing.
std::optional<std::string> run_probe(const AttentionProbe& probe) {
  WarningCollector warnings;
  c10::WarningUtils::WarningHandlerGuard collect(&warnings);
  c10::AutoGradMode grad(probe.backward);
  for (int64_t head_dim : probe.head_dims) {
    try {
      const ProbeTensors t = probe_tensors(probe, head_dim);
      const at::Tensor out = at::scaled_dot_product_attention(t.q, t.k, t.v, t.mask);
      if (probe.backward) out.sum().backward();
    } catch (const c10::Error& e) {
      std::string reason = one_line(e.what_without_backtrace());
      // ATen's check messages end with a C++ source location; keep only the sentence.
      if (const auto at = reason.find(" (Triggered internally"); at != std::string::npos) reason.resize(at);
      while (!reason.empty() && (reason.back() == '.' || reason.back() == ' ')) reason.pop_back();
      reason = "ATen: " + reason;
      std::vector<std::string> why;
      for (const auto& m : warnings.messages) why.push_back(one_line(m));
      if (!why.empty()) reason += " (" + join(why, "; ") + ")";
      return probe.head_dims.size() > 1 ? "head_dim " + std::to_string(head_dim) + ": " + reason : reason;
    }
  }
  return std::nullopt;
}

}  // namespace

c10::ScalarType attention_dtype(config::Precision precision) { return scalar_type(precision); }

SdpaSwitchesGuard::SdpaSwitchesGuard() {
  const auto& ctx = at::globalContext();
  flash_ = ctx.userEnabledFlashSDP();
  mem_efficient_ = ctx.userEnabledMemEfficientSDP();
  math_ = ctx.userEnabledMathSDP();
  cudnn_ = ctx.userEnabledCuDNNSDP();
}

SdpaSwitchesGuard::~SdpaSwitchesGuard() {
  if (!restore_) return;
  auto& ctx = at::globalContext();
  ctx.setSDPUseFlash(flash_);
  ctx.setSDPUseMemEfficient(mem_efficient_);
  ctx.setSDPUseMath(math_);
  ctx.setSDPUseCuDNN(cudnn_);
}

void set_sdpa_switches(AttentionBackend backend) {
  auto& ctx = at::globalContext();
  const bool all = backend == AttentionBackend::Auto;
  ctx.setSDPUseFlash(all || backend == AttentionBackend::Flash);
  ctx.setSDPUseMemEfficient(all || backend == AttentionBackend::Efficient);
  ctx.setSDPUseMath(all || backend == AttentionBackend::Math);
  ctx.setSDPUseCuDNN(all);  // not selectable on its own; auto lets ATen use it
}

std::optional<std::string> attention_backend_problem(AttentionBackend backend, const AttentionProbe& probe) {
  SdpaSwitchesGuard restore;
  set_sdpa_switches(backend);
  return run_probe(probe);
}

std::string apply_attention_backend(AttentionBackend backend, const AttentionProbe& probe) {
  const std::string what = dtype_name(probe.dtype) + ", " + describe_dims(probe.head_dims);
  const std::string device = probe.device.str();
  SdpaSwitchesGuard restore;  // a failed choice leaves the switches as they were
  set_sdpa_switches(backend);
  if (const auto problem = run_probe(probe)) {
    if (backend == AttentionBackend::Auto) {
      throw Error("train.attention", "no SDPA backend can run attention on " + device + " (" + what + "): " + *problem);
    }
    // Name only what was checked to work here, not what ought to.
    std::vector<std::string> usable = {"auto"};
    for (const auto other : {AttentionBackend::Flash, AttentionBackend::Efficient, AttentionBackend::Math}) {
      if (other != backend && !attention_backend_problem(other, probe)) usable.push_back(config::to_string(other));
    }
    std::string choices = usable.back();
    if (usable.size() > 1) {
      usable.pop_back();
      choices = join(usable, ", ") + " or " + choices;
    }
    throw Error("train.attention", config::to_string(backend) + " is not available on " + device + " (" + what +
                                       "): " + *problem + "; use " + choices);
  }
  restore.keep();
  if (backend != AttentionBackend::Auto) {
    return "attention: " + config::to_string(backend) + " (the only SDPA backend enabled; checked for " + what + " on " +
           device + ")";
  }
  // auto: ATen decides per call; say what it takes for calls shaped like the run's.
  WarningCollector quiet;
  c10::WarningUtils::WarningHandlerGuard collect(&quiet);
  c10::AutoGradMode grad(probe.backward);
  std::vector<std::string> picks;
  for (const int64_t head_dim : probe.head_dims) {
    try {
      const ProbeTensors t = probe_tensors(probe, head_dim);
      const auto choice = static_cast<at::SDPBackend>(at::_fused_sdp_choice(t.q, t.k, t.v, t.mask));
      picks.push_back(backend_name(choice) + (probe.head_dims.size() > 1 ? " for head_dim " + std::to_string(head_dim) : ""));
    } catch (const c10::Error&) {
      return "attention: auto (ATen chooses per call)";
    }
  }
  return "attention: auto (ATen picks " + join(picks, ", ") + " for " + what + " on " + device + ")";
}

}  // namespace tessera::core
