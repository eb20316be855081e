#!/usr/bin/env bash
# The whole test suite (fast, slow and browser tests). Sets up .venv first if needed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --dev
export MPLBACKEND=Agg
# tests/conftest.py writes the id of the running test here: when pytest dies of a signal (a
# segfault in native code), this script says which test it was, even if nothing else was printed.
WORDCAM_TEST_TRACE=$(mktemp "${TMPDIR:-/tmp}/wordcam-test-trace.XXXXXX")
export WORDCAM_TEST_TRACE
# pyproject's addopts deselect slow and browser tests for quick local runs; here we run them all.
status=0
.venv/bin/python -m pytest -o addopts="-ra" -p no:cacheprovider "$@" || status=$?
if [ "$status" -gt 128 ]; then
  signal=$(kill -l "$((status - 128))" 2>/dev/null || echo "$((status - 128))")
  echo "scripts/test.sh: pytest died of SIG$signal (exit status $status);" \
    "last record: $(cat "$WORDCAM_TEST_TRACE" 2>/dev/null || echo none) [kept in $WORDCAM_TEST_TRACE]" >&2
else
  rm -f "$WORDCAM_TEST_TRACE"
fi
exit "$status"
