#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what it needs, starts PostgreSQL, runs
# lint, the layering contracts and pytest. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# nginx for tests/e2e/test_slow_clients.py (the packaged reverse-proxy config, run for real)
if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then
    as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
    echo "installing nginx-light (Debian package, for the reverse-proxy tests)..." >&2
    as_root apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends nginx-light >/dev/null
fi
export FIELDPASS_TEST_PG_URL=${FIELDPASS_TEST_PG_URL:-$(bash scripts/postgres.sh)}
.venv/bin/ruff check .
.venv/bin/lint-imports
.venv/bin/python -m pytest "$@"
