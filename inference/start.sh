#!/usr/bin/env bash
# Container start command (see defaultCommands in infra/provision/inference.parameters.json).
#
# Cold start: the app's pinned requirements go into a venv ON THE SHARE, keyed by the hash of
# requirements.txt, so a restart reuses it instead of re-installing torch every time. Each replica
# builds in a unique folder (mktemp -d) and renames it into place atomically, so two replicas starting
# together never share or use a half-built one. AITK_PYTHON (an interpreter that already has the
# requirements, e.g. in a custom image) skips the venv altogether.
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
    # A folder of our own (the container runs `bash -c ...`, so $$ is 1 in every replica: it cannot
    # tell replicas apart). Only this replica ever writes into it, and only it removes it.
    tmp="$(mktemp -d "$venvs/.building-$hash-XXXXXXXX")"
    trap 'rm -rf "$tmp"' EXIT
    python3 -m venv "$tmp"
    "$tmp/bin/python" -m pip install --no-cache-dir -q -r "$requirements"
    touch "$tmp/.complete"
    if [[ -d "$venv" && ! -f "$venv/.complete" ]]; then
      # Left half-built by an older start.sh: move it aside under a name of our own, then drop it.
      stale="$(mktemp -d "$venvs/.stale-$hash-XXXXXXXX")"
      mv -T "$venv" "$stale/venv" 2>/dev/null || true
      rm -rf "$stale"
    fi
    # rename(2) is atomic and refuses a non-empty target: if another replica won, keep its venv.
    if mv -T "$tmp" "$venv" 2>/dev/null; then
      echo "[start] venv ready"
    else
      echo "[start] another replica built $venv first; using it"
    fi
    rm -rf "$tmp"
    trap - EXIT
    if [[ ! -f "$venv/.complete" ]]; then
      echo "[start] $venv is incomplete; restart to build it again" >&2
      exit 1
    fi
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
