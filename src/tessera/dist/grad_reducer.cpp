// Bucketed, hook-driven gradient all-reduce (see grad_reducer.h).
#include "tessera/dist/grad_reducer.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <fmt/format.h>
#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/function_hook.h>
#include <torch/csrc/autograd/variable.h>

#include <mutex>

namespace tessera::dist {

struct GradReducer::State {
  struct Slot {  // one parameter's place in its bucket
    std::string name;
    at::Tensor param;
    int64_t bucket = 0;
    int64_t offset = 0;  // elements into the bucket's buffer
    bool ready = false;  // its gradient is in the buffer (this pass)
  };
  struct Bucket {
    std::vector<int64_t> slots;
    at::Tensor flat;      // the bucket's gradients, flattened one after another
    int64_t bytes = 0;
    int64_t waiting = 0;  // slots not yet ready (this pass)
    Pending work;
    std::string what;  // names the all-reduce in errors
  };

  std::mutex mutex;
  bool active = true;  // false once the reducer is gone: late hooks do nothing
  bool sync = false;
  std::shared_ptr<ProcessGroup> group;
  std::vector<Slot> slots;
  std::vector<Bucket> buckets;
  int64_t next_to_issue = 0;
  int64_t issued_by_hooks = 0;
  std::vector<std::pair<c10::intrusive_ptr<torch::autograd::Node>, uintptr_t>> hooks;  // accumulator, key

  // Copies slot `s`'s gradient (zeros when it has none) into its bucket.
  void fill(Slot& s) {
    const at::Tensor view = buckets[s.bucket].flat.narrow(0, s.offset, s.param.numel()).view(s.param.sizes());
    const at::Tensor& grad = s.param.grad();
    if (grad.defined()) {
      view.copy_(grad);
    } else {
      view.zero_();
    }
    s.ready = true;
    --buckets[s.bucket].waiting;
  }

  // Issues, in bucket order, every bucket that is complete and whose predecessors are
  // issued: the ranks must issue their collectives in the same order.
  void issue_ready() {
    const double inverse = 1.0 / static_cast<double>(group->size());
    while (next_to_issue < static_cast<int64_t>(buckets.size()) && buckets[next_to_issue].waiting == 0) {
      Bucket& b = buckets[next_to_issue];
      b.flat.mul_(inverse);  // DDP divides before the sum: the mean, with no overflow in fp16
      b.work = group->all_reduce_sum(b.flat, b.what);
      ++next_to_issue;
    }
  }

  void on_gradient(int64_t slot) {
    std::lock_guard<std::mutex> lock(mutex);
    if (!active || !sync) return;
    Slot& s = slots[slot];
    TORCH_CHECK(!s.ready, "GradReducer: parameter '", s.name,
                "' got its gradient twice in one backward pass (is it used by two backward calls between "
                "prepare() and finish()?)");
    fill(s);
    const int64_t before = next_to_issue;
    issue_ready();
    issued_by_hooks += next_to_issue - before;
  }
};

namespace {

// Runs after AccumulateGrad has added this pass's gradient into the parameter's .grad.
class GradientReadyHook : public torch::autograd::FunctionPostHook {
 public:
  GradientReadyHook(std::weak_ptr<GradReducer::State> state, int64_t slot) : state_(std::move(state)), slot_(slot) {}
  torch::autograd::variable_list operator()(const torch::autograd::variable_list& outputs,
                                            const torch::autograd::variable_list& /*inputs*/) override {
    if (auto state = state_.lock()) state->on_gradient(slot_);
    return outputs;
  }

 private:
  std::weak_ptr<GradReducer::State> state_;
  int64_t slot_;
};

}  // namespace

GradReducer::GradReducer(std::vector<std::pair<std::string, at::Tensor>> parameters,
                         std::shared_ptr<ProcessGroup> group, const GradReducerOptions& options)
    : state_(std::make_shared<State>()) {
  TORCH_CHECK(group, "GradReducer: no process group");
  TORCH_CHECK(options.bucket_bytes() > 0, "GradReducer: bucket_bytes must be positive, got ", options.bucket_bytes());
  TORCH_CHECK(!parameters.empty(), "GradReducer: no parameters");
  State& st = *state_;
  st.group = std::move(group);

  // Buckets in reverse parameter order, each of one dtype, closed once it holds
  // bucket_bytes (a larger parameter gets a bucket of its own).
  for (auto it = parameters.rbegin(); it != parameters.rend(); ++it) {
    const auto& [name, param] = *it;
    TORCH_CHECK(param.requires_grad() && param.is_leaf(), "GradReducer: '", name,
                "' is not a trainable parameter (a leaf that requires grad)");
    TORCH_CHECK(param.device() == st.group->device(), "GradReducer: '", name, "' is on ", param.device(),
                ", the process group works on ", st.group->device());
    const bool new_bucket =
        st.buckets.empty() || st.buckets.back().bytes >= options.bucket_bytes() ||
        st.slots[st.buckets.back().slots.front()].param.scalar_type() != param.scalar_type();
    if (new_bucket) st.buckets.emplace_back();
    State::Slot slot;
    slot.name = name;
    slot.param = param;
    slot.bucket = static_cast<int64_t>(st.buckets.size()) - 1;
    slot.offset = st.buckets.back().bytes / static_cast<int64_t>(param.element_size());
    st.buckets.back().slots.push_back(static_cast<int64_t>(st.slots.size()));
    st.buckets.back().bytes += static_cast<int64_t>(param.nbytes());
    st.slots.push_back(std::move(slot));
  }
  for (size_t i = 0; i < st.buckets.size(); ++i) {
    State::Bucket& b = st.buckets[i];
    const at::Tensor& first = st.slots[b.slots.front()].param;
    b.flat = at::empty({b.bytes / static_cast<int64_t>(first.element_size())}, first.options().requires_grad(false));
    b.what = fmt::format("all-reduce of gradient bucket {} of {} ({} tensor{}, {:.2f} MB)", i, st.buckets.size(),
                         b.slots.size(), b.slots.size() == 1 ? "" : "s", b.bytes / 1e6);
  }
  // The hooks sit on each parameter's gradient accumulator, which the reducer keeps
  // alive: a parameter holds only a weak reference to it.
  for (size_t s = 0; s < st.slots.size(); ++s) {
    auto accumulator = torch::autograd::impl::grad_accumulator(st.slots[s].param);
    const uintptr_t key = accumulator->add_post_hook(std::make_unique<GradientReadyHook>(state_, s));
    st.hooks.emplace_back(std::move(accumulator), key);
  }
}

GradReducer::~GradReducer() {
  std::lock_guard<std::mutex> lock(state_->mutex);
  state_->active = false;
  for (auto& [accumulator, key] : state_->hooks) accumulator->del_post_hook(key);
}

void GradReducer::prepare(bool sync) {
  std::lock_guard<std::mutex> lock(state_->mutex);
  State& st = *state_;
  // A sync pass's buckets may still be in flight (its buffers in use) until finish().
  TORCH_CHECK(!st.sync, "GradReducer: prepare() again before finish() of the last sync pass");
  st.sync = sync;
  st.next_to_issue = 0;
  st.issued_by_hooks = 0;
  for (auto& s : st.slots) s.ready = false;
  for (auto& b : st.buckets) {
    b.waiting = static_cast<int64_t>(b.slots.size());
    b.work = Pending{};
  }
}

void GradReducer::finish() {
  State& st = *state_;
  {
    std::lock_guard<std::mutex> lock(st.mutex);
    if (!st.sync) return;
    for (auto& b : st.buckets) {
      for (int64_t s : b.slots) {
        if (!st.slots[s].ready) st.fill(st.slots[s]);
      }
    }
    st.issue_ready();
    st.sync = false;  // hooks of a stray backward pass must not touch the buffers now
  }
  for (auto& b : st.buckets) b.work.wait();
  at::NoGradGuard no_grad;
  for (auto& s : st.slots) {
    const at::Tensor mean = st.buckets[s.bucket].flat.narrow(0, s.offset, s.param.numel()).view(s.param.sizes());
    at::Tensor& grad = s.param.mutable_grad();
    if (grad.defined()) {
      grad.copy_(mean);
    } else {
      grad = mean.clone();
    }
  }
}

int64_t GradReducer::num_buckets() const { return static_cast<int64_t>(state_->buckets.size()); }

int64_t GradReducer::issued_during_backward() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->issued_by_hooks;
}

}  // namespace tessera::dist
