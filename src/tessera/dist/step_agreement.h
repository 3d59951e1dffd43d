// What the ranks of a data-parallel run settle together after every optimizer step, in
// one small all-reduce: the step's loss and logged metrics over the global batch, the
// images it took, whether any rank's loss was not finite (then every rank skips the
// step, or their weights would part), and whether any rank was asked to stop (then all
// stop after this step and checkpoint it, rather than meet at different collectives).
#pragma once

#include <cstdint>
#include <vector>

#include "tessera/dist/process_group.h"

namespace tessera::dist {

struct StepReport {
  double loss = 0.0;            // this rank's mean loss over the step's micro-batches
  std::vector<double> metrics;  // this rank's step metrics, the same list on every rank
  int64_t images = 0;           // images this rank trained on in the step
  bool finite = true;           // this rank's loss was finite
  int stop_signal = 0;          // SIGINT / SIGTERM this rank received, or 0
};

// Over all ranks: loss and metrics averaged (each rank's batch is an equal share of the
// global batch), images summed, finite when every rank's was, and SIGTERM when any rank
// got one, else SIGINT when any rank got one.
StepReport agree_on_step(ProcessGroup& group, const StepReport& local);

}  // namespace tessera::dist
