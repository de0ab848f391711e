#!/usr/bin/env bash
# Every test and check: ruff, mypy, pytest (emulator, core, LSP, inference app), TypeScript
# type check + unit tests, and the end-to-end VS Code test. Fails if any of them fails.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh $( [[ -f package.json ]] && echo --node )
export PATH="$PWD/.venv/bin:$PATH"
status=0
step() { echo "== $*" >&2; "$@" || { echo "FAILED: $*" >&2; status=1; }; }
step ruff check server tests benchmarks inference scripts
step ruff format --check server tests benchmarks inference scripts
step mypy
if [[ -f package.json ]]; then
  step npm run --silent typecheck
  step npm run --silent test:unit
  # End to end in a real VS Code (code-server + headless chromium); installs its tools first.
  step npm run --silent test:e2e
fi
# pytest exits 5 when it collected nothing: that is a failure here, not a pass.
pytest_rc=0
python -m pytest "$@" || pytest_rc=$?
if [[ $pytest_rc -ne 0 ]]; then
  [[ $pytest_rc -eq 5 ]] && echo "FAILED: pytest collected no tests" >&2
  status=1
fi
exit $status
