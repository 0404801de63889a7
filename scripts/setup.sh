#!/usr/bin/env bash
# Create .venv and install Fieldpass with its test tools. Idempotent; safe to re-run.
# pip's chatter goes to .venv/setup.log; on failure its tail is shown.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/system-packages.sh
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
log=.venv/setup.log
echo "setting up .venv (log: $log)" >&2
if ! { .venv/bin/python -m pip install --upgrade pip \
        && .venv/bin/python -m pip install -e '.[test]'; } >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    echo "error: installing Fieldpass into .venv failed (full log: $log)" >&2
    exit 1
fi
