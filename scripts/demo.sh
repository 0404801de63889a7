#!/usr/bin/env bash
# The demo on a fresh machine: installs Fieldpass, then runs `fieldpass demo` (server on
# SQLite, a seeded match, enrolled gates, a raffle sale unit and a petrol kiosk, then the gate
# app, or another with --device rsu|petrol). Extra arguments go to it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/fieldpass demo "$@"
