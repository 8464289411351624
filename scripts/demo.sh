#!/usr/bin/env bash
# Set up, then run PlexSync's main job against the bundled demo: a fake Stash and a fake Plex on
# loopback, a generated library, hooks and Process Queue run exactly as Stash runs them.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m testkit.demo "$@"
