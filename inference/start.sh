#!/usr/bin/env bash
# Container start command (see defaultCommands in infra/provision/inference.parameters.json).
#
# Cold start: the app's pinned requirements go into a venv ON THE SHARE, keyed by the hash of
# requirements.txt, so a restart reuses it instead of re-installing torch every time. A venv is built
# under a temporary name and renamed into place, so two replicas starting together never use a
# half-built one. AITK_PYTHON (an interpreter that already has the requirements, e.g. in a custom
# image) skips the venv altogether.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
mount="${AITK_MOUNT:-/mount}"
requirements="${AITK_REQUIREMENTS:-$here/requirements.txt}"

if [[ -n "${AITK_PYTHON:-}" ]]; then
  python="$AITK_PYTHON"
else
  hash=$(sha256sum "$requirements" | cut -c1-16)
  venvs="$mount/.venvs"
  venv="$venvs/inference-$hash"
  if [[ ! -f "$venv/.complete" ]]; then
    echo "[start] installing requirements into $venv (first start with this requirements.txt)"
    mkdir -p "$venvs"
    tmp="$venvs/.building-$hash-$$"
    rm -rf "$tmp"
    python3 -m venv "$tmp"
    "$tmp/bin/python" -m pip install --no-cache-dir -q -r "$requirements"
    touch "$tmp/.complete"
    # Another replica may have won the race: keep its venv, drop ours.
    mv -T "$tmp" "$venv" 2>/dev/null || rm -rf "$tmp"
  else
    echo "[start] reusing $venv"
  fi
  python="$venv/bin/python"
fi
if [[ -n "${AITK_PREPARE_ONLY:-}" ]]; then
  echo "[start] prepared $python"
  exit 0
fi
exec "$python" "$here/app.py" "$@"
