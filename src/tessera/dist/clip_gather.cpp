// open_clip's gather_features + get_logits + get_ground_truth (see clip_gather.h).
#include "tessera/dist/clip_gather.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

#include "tessera/dist/gather.h"

namespace tessera::dist {
namespace {

// Without gradient through the gather: every rank's features, this rank's own rows
// (at `offset`) replaced by the local tensor so that they, at least, carry gradient.
at::Tensor gather_keeping_local_grad(ProcessGroup& group, const at::Tensor& local, int64_t offset,
                                     const std::string& what) {
  const at::Tensor all = all_gather_rows(group, local, what);
  const int64_t rows = local.size(0), total = all.size(0);
  return at::cat({all.narrow(0, 0, offset), local, all.narrow(0, offset + rows, total - offset - rows)});
}

}  // namespace

ClipLogits clip_logits_across_ranks(const at::Tensor& image_features, const at::Tensor& text_features,
                                    const at::Tensor& logit_scale, const std::shared_ptr<ProcessGroup>& group,
                                    const ClipGatherOptions& options) {
  TORCH_CHECK(group, "clip_logits_across_ranks: no process group");
  TORCH_CHECK(image_features.dim() == 2 && image_features.sizes() == text_features.sizes(),
              "clip_logits_across_ranks: image and text features must both be (B, D), got ", image_features.sizes(),
              " and ", text_features.sizes());
  // Where this rank's rows sit in the global batch: needed for its own rows only.
  const bool needs_offset = options.local_loss() || !options.gather_with_grad();
  const int64_t offset =
      needs_offset ? gathered_offset(*group, image_features.size(0), "all-gather of CLIP row counts") : 0;
  // Image and text features side by side, so that one collective moves both.
  const int64_t dim = image_features.size(1);
  const at::Tensor local = at::cat({image_features, text_features}, 1);  // (B_local, 2D)
  const at::Tensor all = options.gather_with_grad()
                             ? all_gather_rows_with_grad(group, local, "all-gather of CLIP features")
                             : gather_keeping_local_grad(*group, local, offset, "all-gather of CLIP features");
  const at::Tensor all_images = all.narrow(1, 0, dim), all_texts = all.narrow(1, dim, dim);

  ClipLogits out;
  const auto long_options = image_features.options().dtype(at::kLong);
  if (options.local_loss()) {
    out.logits_per_image = logit_scale * at::matmul(image_features, all_texts.t());  // (B_local, B_global)
    out.logits_per_text = logit_scale * at::matmul(text_features, all_images.t());   // (B_local, B_global)
    out.targets = at::arange(offset, offset + image_features.size(0), long_options);
  } else {
    out.logits_per_image = logit_scale * at::matmul(all_images, all_texts.t());  // (B_global, B_global)
    out.logits_per_text = out.logits_per_image.t();
    out.targets = at::arange(all_images.size(0), long_options);
  }
  return out;
}

}  // namespace tessera::dist
