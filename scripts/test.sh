#!/usr/bin/env bash
# Set up, then run the whole test suite with coverage.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m pytest --cov=plexsync --cov-report=term "$@"
