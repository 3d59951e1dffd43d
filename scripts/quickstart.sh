#!/usr/bin/env bash
# The README's first command: install what is missing, build, and train the quickstart
# recipe (a small ViT on Fashion-MNIST). Extra arguments go to `tessera train`,
# e.g. --set train.epochs=1.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/build.sh"
cd "$root"
exec "${TESSERA_BUILD_DIR:-$root/build}/tessera" train recipes/quickstart.yaml "$@"
