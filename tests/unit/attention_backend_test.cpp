// Tests for train.attention (src/tessera/core/attention_backend.h): math and flash give
// the same attention through Tessera's modules on the CPU, an unavailable backend is a
// clear error, auto reports ATen's pick, and ATen's switches are restored afterwards.
#include <ATen/ATen.h>
#include <ATen/Context.h>
#include <gtest/gtest.h>
#include <torch/nn/modules/container/modulelist.h>

#include <functional>
#include <iostream>
#include <string>

#include "fixtures/error_of.h"
#include "tessera/core/attention_backend.h"
#include "tessera/core/error.h"
#include "tessera/nn/attention.h"
#include "tessera/nn/sdpa.h"
#include "tessera/nn/window_attention.h"

namespace tessera::core {
namespace {

using config::AttentionBackend;

struct Switches {
  bool flash, efficient, math, cudnn;
  bool operator==(const Switches&) const = default;
};

Switches current_switches() {
  const auto& ctx = at::globalContext();
  return {ctx.userEnabledFlashSDP(), ctx.userEnabledMemEfficientSDP(), ctx.userEnabledMathSDP(),
          ctx.userEnabledCuDNNSDP()};
}

using tessera::testing::error_of;

AttentionProbe cpu_probe(std::vector<int64_t> head_dims = {16}) {
  AttentionProbe probe;
  probe.head_dims = std::move(head_dims);
  probe.device = c10::Device(c10::kCPU);
  return probe;
}

struct Outputs {
  at::Tensor out, input_grad;
};

// Attention forward and the input's gradient under `backend`, same weights and input each time.
Outputs run_attention(nn::Attention& attention, const at::Tensor& x, const std::optional<at::Tensor>& mask,
                      AttentionBackend backend) {
  apply_attention_backend(backend, cpu_probe({16}));
  const at::Tensor input = x.clone().requires_grad_(true);
  const at::Tensor out = attention->forward(input, mask);
  out.pow(2).sum().backward();
  return {out.detach(), input.grad()};
}

TEST(AttentionBackend, MathAndFlashAgreeOnCpu) {
  SdpaSwitchesGuard restore;
  at::manual_seed(0);
  nn::Attention attention(nn::AttentionOptions(64, 4));  // head_dim 16
  const at::Tensor x = at::randn({3, 11, 64});
  const at::Tensor mask = at::randn({1, 1, 11, 11});  // additive, like Swin's bias + shift mask
  for (const bool masked : {false, true}) {
    const std::optional<at::Tensor> m = masked ? std::optional<at::Tensor>(mask) : std::nullopt;
    const Outputs math = run_attention(attention, x, m, AttentionBackend::Math);
    const Outputs flash = run_attention(attention, x, m, AttentionBackend::Flash);
    const double out_error = (math.out - flash.out).abs().max().item<double>();
    const double grad_error = (math.input_grad - flash.input_grad).abs().max().item<double>();
    EXPECT_LE(out_error, 1e-5) << "mask " << masked;
    EXPECT_LE(grad_error, 1e-5) << "mask " << masked;
    std::cout << "[ attention ] math vs flash on cpu" << (masked ? " with a mask" : "") << ": output " << out_error
              << ", input grad " << grad_error << " (max abs)\n";
  }
}

TEST(AttentionBackend, FlashRunsAloneOnCpu) {
  SdpaSwitchesGuard restore;
  const std::string line = apply_attention_backend(AttentionBackend::Flash, cpu_probe({16, 64}));
  EXPECT_EQ(line, "attention: flash (the only SDPA backend enabled; checked for float32, head_dims 16, 64 on cpu)");
  EXPECT_EQ(current_switches(), (Switches{true, false, false, false}));
}

TEST(AttentionBackend, EfficientIsNotAvailableOnCpu) {
  SdpaSwitchesGuard restore;
  set_sdpa_switches(AttentionBackend::Auto);
  const Switches before = current_switches();
  EXPECT_TRUE(attention_backend_problem(AttentionBackend::Efficient, cpu_probe()).has_value());
  const std::string message = error_of([] { apply_attention_backend(AttentionBackend::Efficient, cpu_probe()); });
  EXPECT_EQ(message.rfind("train.attention: efficient is not available on cpu (float32, head_dim 16): ", 0), 0u)
      << message;
  EXPECT_NE(message.find("; use auto, flash or math"), std::string::npos) << message;
  std::cout << "[ attention ] " << message << "\n";
  EXPECT_EQ(current_switches(), before);  // a refused choice changes nothing
}

TEST(AttentionBackend, AutoReportsAtensPick) {
  SdpaSwitchesGuard restore;
  const std::string line = apply_attention_backend(AttentionBackend::Auto, cpu_probe({16}));
  EXPECT_EQ(line.rfind("attention: auto (ATen picks ", 0), 0u) << line;
  EXPECT_NE(line.find(" for float32, head_dim 16 on cpu)"), std::string::npos) << line;
  std::cout << "[ attention ] " << line << "\n";
  EXPECT_EQ(current_switches(), (Switches{true, true, true, true}));
}

TEST(AttentionBackend, GuardRestoresTheSwitches) {
  const Switches outside = current_switches();
  {
    SdpaSwitchesGuard restore;
    set_sdpa_switches(AttentionBackend::Math);
    EXPECT_EQ(current_switches(), (Switches{false, false, true, false}));
  }
  EXPECT_EQ(current_switches(), outside);
}

TEST(AttentionBackend, SdpaCallThatTheChosenBackendCannotRunNamesTheSetting) {
  SdpaSwitchesGuard restore;
  set_sdpa_switches(AttentionBackend::Efficient);  // no CPU kernel
  const at::Tensor q = at::randn({1, 2, 4, 8});
  const std::string message = error_of([&] { nn::scaled_dot_product(q, q, q); });
  EXPECT_EQ(message.rfind("train.attention: the SDPA backend chosen here cannot run attention with q [1, 2, 4, 8]", 0),
            0u)
      << message;
  EXPECT_NE(message.find("use train.attention: auto or math"), std::string::npos) << message;
}

TEST(AttentionBackend, HeadDimsOfAModel) {
  torch::nn::ModuleList model(nn::Attention(nn::AttentionOptions(64, 4)), nn::WindowAttention(nn::WindowAttentionOptions(96, 3, 7)),
                              nn::Attention(nn::AttentionOptions(64, 1)), nn::Attention(nn::AttentionOptions(48, 3)));
  const nn::AttentionShapes shapes = nn::attention_shapes(*model);
  EXPECT_EQ(shapes.head_dims, (std::vector<int64_t>{16, 32, 64}));
  EXPECT_TRUE(shapes.masked);  // WindowAttention
  torch::nn::ModuleList vit_like(nn::Attention(nn::AttentionOptions(64, 4)));
  EXPECT_FALSE(nn::attention_shapes(*vit_like).masked);
  EXPECT_TRUE(nn::attention_shapes(*torch::nn::ModuleList()).head_dims.empty());
}

TEST(AttentionBackend, ComputeDtypeFollowsThePrecision) {
  EXPECT_EQ(attention_dtype(config::Precision::FP32), c10::kFloat);
  EXPECT_EQ(attention_dtype(config::Precision::BF16), c10::kBFloat16);
  EXPECT_EQ(attention_dtype(config::Precision::FP16), c10::kHalf);
}

TEST(AttentionBackend, Bf16OnCpu) {
  SdpaSwitchesGuard restore;
  AttentionProbe probe = cpu_probe({32});
  probe.dtype = c10::kBFloat16;
  probe.with_mask = true;
  EXPECT_FALSE(attention_backend_problem(AttentionBackend::Math, probe).has_value());
  const std::string line = apply_attention_backend(AttentionBackend::Auto, probe);
  EXPECT_NE(line.find("bfloat16, head_dim 32 on cpu"), std::string::npos) << line;
  std::cout << "[ attention ] " << line << " (with a mask)\n";
}

}  // namespace
}  // namespace tessera::core
