// Making the replicas equal at the start of data-parallel training: rank 0's
// parameters and buffers are sent to every rank (as DistributedDataParallel's
// constructor does), after a check that every rank built the same model.
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "tessera/dist/process_group.h"

namespace tessera::dist {

// Sends rank `root`'s `tensors` to every rank, in flat buckets of about bucket_bytes
// (consecutive tensors of one dtype). Every rank passes tensors of the same shapes and
// dtypes in the same order, on group.device().
void broadcast_tensors(ProcessGroup& group, const std::vector<at::Tensor>& tensors, int64_t root,
                       int64_t bucket_bytes, const std::string& what);

// Checks that every rank has the same named tensors (names, dtypes and shapes, in
// order) as rank 0; a rank whose replica differs throws a tessera::Error that names its
// first differing tensor, and every other rank throws too, so none waits forever.
void check_same_tensors(ProcessGroup& group, const std::vector<std::pair<std::string, at::Tensor>>& named);

// check_same_tensors, then broadcast_tensors from rank 0, over the module's parameters
// and buffers.
void broadcast_module(ProcessGroup& group, const torch::nn::Module& module,
                      int64_t bucket_bytes = 25 * 1024 * 1024);

}  // namespace tessera::dist
