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

// Checks that every rank built the same parameters and buffers (names, dtypes, shapes;
// a rank whose replica differs makes every rank throw a tessera::Error naming the first
// difference), then sends rank 0's values to every rank in flat buckets of about
// bucket_bytes.
void broadcast_module(ProcessGroup& group, const torch::nn::Module& module,
                      int64_t bucket_bytes = 25 * 1024 * 1024);

}  // namespace tessera::dist
