"""Test-only: run one real reconciliation in its own process, so a test can SIGKILL it.

    python tests/e2e/reconcile_script.py <data_dir> <settings> <server_connection> <per_page>

(settings and server_connection as JSON.)

Only the page size is changed (a module constant), so a small world spans several Stash pages.
Prints the run's output as one JSON line on stdout.
"""

from __future__ import annotations

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from plexsync.core.context import TaskContext
from plexsync.core.settings import Settings
from plexsync.reconcile import engine
from plexsync.stash.api import StashClient


def main() -> None:
    data_dir, settings, connection, per_page = sys.argv[1:5]
    engine.PER_PAGE = int(per_page)
    ctx = TaskContext(settings=Settings.from_mapping(json.loads(settings)), data_dir=data_dir,
                      stash=StashClient(json.loads(connection)), progress=lambda p: None)
    result = engine.reconcile(ctx, engine.Scope.ALL, engine.Trigger.TASK)
    print(json.dumps(result.as_output()), flush=True)


if __name__ == "__main__":
    main()
