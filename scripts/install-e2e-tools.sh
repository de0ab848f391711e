#!/usr/bin/env bash
# Installs what the end-to-end VS Code test needs, idempotently (a second run costs nothing):
#   - Debian's chromium (driven headless by playwright-core) and libkrb5-dev (to build code-server's
#     kerberos module),
#   - Debian's pypy3 (Python 3.9): the real "only an older Python" interpreter of the e2e test,
#   - code-server in .tools/code-server, kept out of package.json: its postinstall refuses Node != 20
#     and needs root tweaks, so this script does its steps by hand for the machine's Node 20.
set -euo pipefail
cd "$(dirname "$0")/.."
CODE_SERVER_VERSION=4.100.3
TOOLS=$PWD/.tools
CS_DIR=$TOOLS/code-server
stamp=$CS_DIR/.installed-$CODE_SERVER_VERSION

need_pkgs=()
command -v chromium >/dev/null 2>&1 || need_pkgs+=(chromium)
[[ -f /usr/include/gssapi/gssapi.h ]] || need_pkgs+=(libkrb5-dev)
[[ -x /usr/bin/pypy3 ]] || need_pkgs+=(pypy3)
if ((${#need_pkgs[@]})); then
  if [[ $(id -u) -eq 0 ]]; then SUDO=; else SUDO=sudo; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi

if [[ ! -f $stamp ]]; then
  node_major=$(node -p 'process.versions.node.split(".")[0]')
  if [[ $node_major != 20 ]]; then
    echo "install-e2e-tools: code-server $CODE_SERVER_VERSION needs Node 20 (found $(node --version))." >&2
    exit 1
  fi
  rm -rf "$CS_DIR"
  mkdir -p "$CS_DIR"
  echo '{"name":"aitk-e2e-tools","private":true}' >"$CS_DIR/package.json"
  npm_q=(--no-audit --no-fund --loglevel=error)
  (cd "$CS_DIR" && npm install "${npm_q[@]}" --omit=dev --ignore-scripts "code-server@$CODE_SERVER_VERSION")
  (cd "$CS_DIR" && npm rebuild "${npm_q[@]}" argon2)
  # What code-server's postinstall.sh does: install VS Code's own modules, build the native ones,
  # and make the symlinks it expects.
  vscode_dir=$CS_DIR/node_modules/code-server/lib/vscode
  (cd "$vscode_dir" && npm install "${npm_q[@]}" --omit=dev --ignore-scripts)
  # node-pty's install script runs `npx node-gyp`: let npx fetch it without a prompt (no TTY here).
  (cd "$vscode_dir" && npm_config_yes=true npm rebuild "${npm_q[@]}" node-pty @vscode/spdlog kerberos native-watchdog)
  (cd "$vscode_dir/extensions" && npm install "${npm_q[@]}" --omit=dev --ignore-scripts)
  ln -sfn node_modules "$vscode_dir/node_modules.asar"
  ln -sfn code-linux.sh "$vscode_dir/bin/remote-cli/code-server"
  ln -sfn browser-linux.sh "$vscode_dir/bin/helpers/browser.sh"
  touch "$stamp"
fi
echo "install-e2e-tools: ready ($CS_DIR/node_modules/.bin/code-server, $(command -v chromium))" >&2
