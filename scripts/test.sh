#!/usr/bin/env bash
# The README's second command: install what is missing, build, and run every test.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/build.sh"
cd "${TESSERA_BUILD_DIR:-$root/build}"
# Tests run side by side, one per core: give each one OpenMP thread, or their
# spin-waiting thread teams fight over the cores and everything slows down.
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
ctest --output-on-failure --parallel "$(nproc)" "$@"
