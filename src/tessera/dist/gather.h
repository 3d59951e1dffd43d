// All-gather along the batch dimension, with or without gradient: how a loss that
// needs the global batch (CLIP's contrastive loss) sees every rank's rows.
#pragma once

#include <ATen/core/Tensor.h>

#include <memory>
#include <string>

#include "tessera/dist/process_group.h"

namespace tessera::dist {

// Every rank's `rows` (N_r, ...), concatenated along dim 0 in rank order; the N_r may
// differ (a batch that lost unreadable samples). No gradient flows through.
at::Tensor all_gather_rows(ProcessGroup& group, const at::Tensor& rows, const std::string& what);

// all_gather_rows, differentiable as torch.distributed.nn.all_gather (what open_clip's
// gather_with_grad uses): the gradient that reaches the result is summed over the
// ranks, and this rank's rows of the sum flow back into `rows`. Every rank must call it
// (and run its backward) in the same order.
at::Tensor all_gather_rows_with_grad(const std::shared_ptr<ProcessGroup>& group, const at::Tensor& rows,
                                     const std::string& what);

// Where this rank's rows start in the gathered result: the lower ranks' row counts summed.
int64_t gathered_offset(ProcessGroup& group, int64_t rows, const std::string& what);

}  // namespace tessera::dist
