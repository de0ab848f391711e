#!/usr/bin/env bash
# The main job against the embedded local default: start the local Azure emulator, provision the
# template into it, deploy the project, print each step and the endpoint.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/python scripts/demo.py "$@"
