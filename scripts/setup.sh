#!/usr/bin/env bash
# Set up wordcam in ./.venv with everything it needs. Safe to run again (it only adds what is missing).
#   bash scripts/setup.sh            runtime (CLI + dashboard)
#   bash scripts/setup.sh --dev      + test tools (pytest, ruff, playwright), Ray (the ray engine) and Debian's chromium for browser tests
set -euo pipefail
cd "$(dirname "$0")/.."

DEV=0
for arg in "$@"; do
  case "$arg" in
    --dev) DEV=1 ;;
    *) echo "setup.sh: unknown option $arg (use --dev)" >&2; exit 2 ;;
  esac
done

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $($PYTHON --version)"
  "$PYTHON" -m venv .venv
fi
PIP=(.venv/bin/python -m pip install --quiet --disable-pip-version-check)

# torch + torchvision first and pinned: on this kind of machine both lie on local disk; any other
# torch release would be a multi-GB download.
if ! .venv/bin/python -c "import torch, torchvision" 2>/dev/null; then
  echo "setup: installing torch 2.14.1 + torchvision 0.29.1"
  "${PIP[@]}" "torch==2.14.1" "torchvision==0.29.1"
fi

if [ "$DEV" = 1 ]; then
  echo "setup: installing wordcam (editable) with test tools"
  "${PIP[@]}" -e ".[dev,ray,fast]"
  # Browser tests drive Debian's chromium; Japanese text in screenshots needs a CJK font.
  missing=()
  [ -x /usr/bin/chromium ] || missing+=(chromium chromium-driver)
  { command -v fc-list >/dev/null && [ -n "$(fc-list :lang=ja 2>/dev/null)" ]; } || missing+=(fonts-noto-cjk)
  if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      echo "setup: installing Debian packages: ${missing[*]}"
      apt-get update -qq >/dev/null
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
      echo "setup: missing ${missing[*]} and not root: browser tests will be skipped" >&2
    fi
  fi
else
  echo "setup: installing wordcam (editable) with the fast CPU runtime"
  "${PIP[@]}" -e ".[fast]"
fi
echo "setup: done ($(.venv/bin/wordcam --version 2>/dev/null || echo wordcam))"
