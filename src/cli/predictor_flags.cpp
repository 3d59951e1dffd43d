// Flags shared by predict and serve (see predictor_flags.h).
#include "cli/predictor_flags.h"

#include <torch/cuda.h>

#include "tessera/config/names.h"
#include "tessera/core/device.h"
#include "tessera/core/error.h"
#include "tessera/serve/labels.h"

namespace tessera::cli {

void PredictorFlags::add_to(CLI::App& cmd) {
  cmd.add_option("--labels", labels, "CLIP: the classes, comma-separated");
  cmd.add_option("--labels-file", labels_file, "CLIP: the classes, one per line");
  cmd.add_option("--prompt", prompts,
                 "CLIP: a prompt with {} for the label (default \"a photo of a {}.\"; repeat to average several)")
      ->allow_extra_args(false);  // one value per --prompt: what follows is an image
  cmd.add_option("--device", device, "auto (CUDA when visible), cpu or cuda");
  cmd.add_option("--precision", precision, "fp32, bf16 or fp16 (default: the bundle's on CUDA, fp32 on a CPU)");
  cmd.add_option("--threads", threads, "CPU threads for the model (default: one per core)");
}

serve::PredictorOptions PredictorFlags::apply() const {
  core::set_cpu_threads(threads);
  serve::PredictorOptions options;
  options.device = parse_choice<config::DeviceKind>("--device", device);
  if (options.device == config::DeviceKind::CUDA && !torch::cuda::is_available()) {
    throw Error("--device", "cuda was asked for but no CUDA device is visible; use auto or cpu");
  }
  if (!precision.empty()) options.precision = parse_choice<config::Precision>("--precision", precision);
  options.labels = serve::read_labels(labels, labels_file);
  options.prompts = prompts;
  return options;
}

}  // namespace tessera::cli
