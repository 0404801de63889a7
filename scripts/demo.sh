#!/usr/bin/env bash
# The demo on a fresh machine: installs Fieldpass, then runs `fieldpass demo` (server on
# SQLite, a seeded match, enrolled gate devices, then the gate app). Extra arguments go to it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/fieldpass demo "$@"
