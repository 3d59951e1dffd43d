// Gathering rows across ranks, and its backward (see gather.h).
#include "tessera/dist/gather.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <vector>

namespace tessera::dist {
namespace {

// How the ranks' rows sit in the padded buffer the collectives move: rank r's N_r
// rows start at r * max_rows (all_gather needs one shape on every rank).
struct RowLayout {
  std::vector<int64_t> rows;  // N_r per rank
  int64_t max_rows = 0;
  int64_t offset(int64_t rank) const {  // where rank's rows start in the gathered result
    int64_t o = 0;
    for (int64_t r = 0; r < rank; ++r) o += rows[r];
    return o;
  }
};

RowLayout gather_layout(ProcessGroup& group, int64_t rows, const std::string& what) {
  const at::Tensor counts = group.all_gather(at::tensor({rows}, at::kLong).to(group.device()), what + " (row counts)").cpu();
  RowLayout layout;
  layout.rows.assign(counts.data_ptr<int64_t>(), counts.data_ptr<int64_t>() + counts.numel());
  layout.max_rows = *std::max_element(layout.rows.begin(), layout.rows.end());
  return layout;
}

at::Tensor pad_rows(const at::Tensor& t, int64_t rows) {
  if (t.size(0) == rows) return t.contiguous();
  std::vector<int64_t> shape = t.sizes().vec();
  shape[0] = rows - t.size(0);
  return at::cat({t, at::zeros(shape, t.options())}).contiguous();
}

// Drops the padding of a gathered (size * max_rows, ...) buffer.
at::Tensor unpad(const at::Tensor& padded, const RowLayout& layout) {
  const auto full = [&](int64_t n) { return n == layout.max_rows; };
  if (std::all_of(layout.rows.begin(), layout.rows.end(), full)) return padded;  // nothing was padded
  std::vector<at::Tensor> parts;
  for (size_t r = 0; r < layout.rows.size(); ++r) {
    parts.push_back(padded.narrow(0, static_cast<int64_t>(r) * layout.max_rows, layout.rows[r]));
  }
  return at::cat(parts);
}

at::Tensor gather_with_layout(ProcessGroup& group, const at::Tensor& rows, const RowLayout& layout,
                              const std::string& what) {
  const at::Tensor padded = group.all_gather(pad_rows(rows, layout.max_rows), what);
  return unpad(padded, layout);
}

// What the backward needs besides the gradient, kept in the autograd context.
struct GatherInfo : torch::CustomClassHolder {
  std::shared_ptr<ProcessGroup> group;
  RowLayout layout;
  std::string what;
};

class AllGatherRows : public torch::autograd::Function<AllGatherRows> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& rows,
                            const std::shared_ptr<ProcessGroup>& group, const std::string& what) {
    auto info = c10::make_intrusive<GatherInfo>();
    info->group = group;
    info->what = what;
    info->layout = gather_layout(*group, rows.size(0), what);
    at::Tensor out = gather_with_layout(*group, rows.detach(), info->layout, what);
    ctx->saved_data["info"] = c10::IValue::make_capsule(info);
    return out;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto info = c10::static_intrusive_pointer_cast<GatherInfo>(ctx->saved_data["info"].toCapsule());
    const RowLayout& layout = info->layout;
    ProcessGroup& group = *info->group;
    // The result's gradient back into the padded layout, summed over the ranks; this
    // rank's block of the sum is its rows' gradient (reduce-scatter as all-reduce).
    std::vector<at::Tensor> blocks;
    int64_t offset = 0;
    for (const int64_t n : layout.rows) {
      blocks.push_back(pad_rows(grads[0].narrow(0, offset, n), layout.max_rows));
      offset += n;
    }
    at::Tensor summed = at::cat(blocks).contiguous();
    group.all_reduce_sum(summed, info->what + " (backward)").wait();
    const int64_t rank = group.rank();
    return {summed.narrow(0, rank * layout.max_rows, layout.rows[rank]), at::Tensor(), at::Tensor()};
  }
};

}  // namespace

at::Tensor all_gather_rows(ProcessGroup& group, const at::Tensor& rows, const std::string& what) {
  TORCH_CHECK(rows.dim() >= 1, what, ": needs a tensor with a batch dimension");
  at::NoGradGuard no_grad;
  return gather_with_layout(group, rows, gather_layout(group, rows.size(0), what), what);
}

int64_t gathered_offset(ProcessGroup& group, int64_t rows, const std::string& what) {
  return gather_layout(group, rows, what).offset(group.rank());
}

at::Tensor all_gather_rows_with_grad(const std::shared_ptr<ProcessGroup>& group, const at::Tensor& rows,
                                     const std::string& what) {
  TORCH_CHECK(group, what, ": no process group");
  TORCH_CHECK(rows.dim() >= 1, what, ": needs a tensor with a batch dimension");
  return AllGatherRows::apply(rows, group, what);
}

}  // namespace tessera::dist
