// Gradient averaging for data-parallel training, as PyTorch's DistributedDataParallel
// does it (Li et al., 2020, "PyTorch Distributed"): the gradients go into flat buckets
// of about bucket_bytes, filled in reverse parameter order (roughly the order backward
// produces them); a hook after each parameter's gradient accumulation copies it into
// its bucket, and a bucket whose gradients are all in is all-reduced at once, while
// backward goes on with the layers below. Buckets are issued in the same order on
// every rank, as the collectives require.
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/arg.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tessera/dist/process_group.h"

namespace tessera::dist {

struct GradReducerOptions {
  TORCH_ARG(int64_t, bucket_bytes) = 25 * 1024 * 1024;  // DDP's bucket_cap_mb = 25
};

class GradReducer {
 public:
  // `parameters`: the trainable ones (requires_grad leaves), by name, the same on every
  // rank and in the model's order. Their gradients must live on group->device().
  GradReducer(std::vector<std::pair<std::string, at::Tensor>> parameters, std::shared_ptr<ProcessGroup> group,
              const GradReducerOptions& options = {});
  ~GradReducer();
  GradReducer(const GradReducer&) = delete;
  GradReducer& operator=(const GradReducer&) = delete;

  // Call before each backward pass. sync = false on the micro-batches of an
  // accumulation window but the last: their gradients only accumulate in .grad, with
  // no communication (DDP's no_sync()); the last pass reduces the accumulated sum.
  void prepare(bool sync);

  // Call after the backward pass of a sync step. Issues the buckets that are still
  // waiting (a parameter the loss did not reach contributes its .grad as it is, or
  // zeros when it has none), waits for every bucket and writes the mean over the ranks
  // into each parameter's .grad. A rank that died or hung is a tessera::Error here
  // (or from backward, when it shows while a bucket is issued).
  void finish();

  // How many flat buckets the gradients go in.
  int64_t num_buckets() const;
  // Buckets of the last sync pass that were issued from the gradient hooks, that is
  // while backward was still running, rather than by finish().
  int64_t issued_during_backward() const;

  struct State;  // what the gradient hooks share with the reducer (grad_reducer.cpp)

 private:
  std::shared_ptr<State> state_;
};

}  // namespace tessera::dist
