// One all-reduce per step for what the ranks must agree on (see step_agreement.h).
#include "tessera/dist/step_agreement.h"

#include <cmath>
#include <csignal>

namespace tessera::dist {

StepReport agree_on_step(ProcessGroup& group, const StepReport& local) {
  // Sums of [loss, images, non-finite ranks, ranks stopped by SIGINT, by SIGTERM, metrics...];
  // a non-finite loss is sent as 0 so that the sum stays finite.
  std::vector<double> values = {local.finite ? local.loss : 0.0, static_cast<double>(local.images),
                                local.finite ? 0.0 : 1.0, local.stop_signal == SIGINT ? 1.0 : 0.0,
                                local.stop_signal == SIGTERM ? 1.0 : 0.0};
  values.insert(values.end(), local.metrics.begin(), local.metrics.end());
  const std::vector<double> sums = group.sum(values, "all-reduce of the step's loss and flags");
  const double ranks = static_cast<double>(group.size());
  StepReport global;
  global.finite = sums[2] == 0.0;
  global.loss = global.finite ? sums[0] / ranks : std::nan("");
  global.images = static_cast<int64_t>(std::llround(sums[1]));
  global.stop_signal = sums[4] > 0 ? SIGTERM : sums[3] > 0 ? SIGINT : 0;
  for (size_t i = 5; i < sums.size(); ++i) global.metrics.push_back(sums[i] / ranks);
  return global;
}

}  // namespace tessera::dist
