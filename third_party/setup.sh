#!/usr/bin/env bash
# Installs what Tessera needs and is missing: Debian packages and a Python virtual
# environment (outside the clone) holding the PyPI torch wheel, whose LibTorch the
# C++ build links against. Idempotent: a second run checks and returns in seconds.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=third_party/versions.sh
source "$here/versions.sh"

log() { printf '[setup] %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else log "need root (or sudo) to run: $*"; exit 1
  fi
}

# --- Debian packages -------------------------------------------------------
missing=()
for pkg in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing Debian packages: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# --- Python virtual environment with torch (LibTorch) and the test-time references ---
venv="$TESSERA_VENV"
stamp="$venv/.tessera-requirements"
wanted="$(printf '%s\n' "${PYTHON_PACKAGES[@]}")"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  py="$(command -v python3)"
  log "creating/updating the virtual environment $venv (python: $py)"
  mkdir -p "$(dirname "$venv")"
  [ -x "$venv/bin/python" ] || "$py" -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "${PYTHON_PACKAGES[@]}"
  printf '%s' "$wanted" > "$stamp"
fi
log "ok: Debian packages and $venv are in place"
