// Ctrl-C (SIGINT) and SIGTERM as a request to stop cleanly: the trainer finishes the
// step in hand, writes a checkpoint and returns, so the run can be resumed.
#pragma once

namespace tessera::train {

// Installs the handlers (sigaction). The handler only records the signal in an atomic
// flag; it is installed one-shot (SA_RESETHAND), so a second Ctrl-C kills the process
// at once, as usual, when a user does not want to wait for the checkpoint.
void install_stop_handlers();

// The signal that asked the run to stop (SIGINT, SIGTERM), or 0 when none did.
int stop_requested();

// Forgets a request (tests).
void clear_stop_request();

}  // namespace tessera::train
