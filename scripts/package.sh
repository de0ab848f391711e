#!/usr/bin/env bash
# Builds platform-specific VSIXs, each carrying the server and its Python dependencies for its
# platform (VS Code's `vsce package --target` convention): dist/aitk-inference-<target>.vsix.
#   bash scripts/package.sh                 # this machine's platform
#   bash scripts/package.sh all             # linux-x64 linux-arm64 win32-x64 darwin-x64 darwin-arm64
# Wheels come from the package index once (cached in build/pylibs/); any target builds anywhere.
set -euo pipefail
cd "$(dirname "$0")/.."
ALL=(linux-x64 linux-arm64 win32-x64 darwin-x64 darwin-arm64)
if (($# == 0)); then
  set -- "$(node -p 'process.platform + "-" + process.arch')"
elif [[ $1 == all ]]; then
  set -- "${ALL[@]}"
fi
py=.venv/bin/python
[[ -x $py ]] || py=python3
for target in "$@"; do
  "$py" scripts/bundle_python_libs.py "$target"
  out=dist/aitk-inference-$target.vsix
  npx vsce package --no-dependencies --skip-license --target "$target" --out "$out" >/dev/null
  echo "package: $out ($(du -h "$out" | cut -f1))"
done
