#!/usr/bin/env bash
# The whole test suite (fast, slow and browser tests). Sets up .venv first if needed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --dev
export MPLBACKEND=Agg
# pyproject's addopts deselect slow and browser tests for quick local runs; here we run them all.
exec .venv/bin/python -m pytest -o addopts="-ra" -p no:cacheprovider "$@"
