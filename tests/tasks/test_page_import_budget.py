"""The page status operation's import budget: the exact modules `page_status` loads.

The PlexSync page polls `page_status` every few seconds while it is visible, and each answer is
one plugin process, so its start-up time is what the page waits for (docs/ui.md). Like the
hook's budget (tests/hook/test_import_budget.py), these tests pin the set of modules it loads,
counting what the operation imports while it runs, not only at import time: adding one is a
deliberate change to this file, never an accident of a refactor.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from plexsync.core import datadir
from plexsync.timer import state as timer_state
from testkit.page_state import seed_mixed
from tests.helpers import modules_loaded_by

# Every PlexSync module the page status operation may load, and nothing more.
PLEXSYNC_ALLOWED = {
    "plexsync", "plexsync.errors",
    "plexsync.core", "plexsync.core.datadir", "plexsync.core.fastjson", "plexsync.core.lockfile",
    "plexsync.core.log", "plexsync.core.protocol",
    "plexsync.queue", "plexsync.queue.enums", "plexsync.queue.markers", "plexsync.queue.schema",
    "plexsync.queue.sqlite_db", "plexsync.queue.job_queue", "plexsync.queue.transitions",
    "plexsync.queue.dead_letters", "plexsync.queue.object_jobs",
    "plexsync.playstate", "plexsync.playstate.status",
    "plexsync.reconcile", "plexsync.reconcile.gap_types",
    "plexsync.resilience", "plexsync.resilience.history", "plexsync.resilience.state",
    "plexsync.tasks", "plexsync.tasks.page", "plexsync.tasks.status",
    "plexsync.timer", "plexsync.timer.state",
}
# Everything else beyond a bare interpreter: the hook's set (C accelerators and what `enum`
# needs), plus `datetime` (the status JSON's ISO times) and `fcntl` (is the timer's lock held).
OTHERS_ALLOWED = {
    "__future__", "_collections", "_datetime", "_functools", "_json", "_operator", "_sqlite3",
    "collections", "datetime", "enum", "fcntl", "functools", "itertools", "keyword", "math",
    "operator", "reprlib", "types",
}
# Named so a failure says what went wrong: the queue's model and row mapping (dataclasses
# alone is ~20 ms), the drain, `typing`, settings, the task router, anything that talks to
# Stash or Plex.
FORBIDDEN = {
    "dataclasses", "inspect", "typing", "filelock", "plexapi", "requests", "stashapi",
    "http.client", "plexsync.queue.model", "plexsync.queue.backoff", "plexsync.queue.drain",
    "plexsync.queue.drain_markers", "plexsync.queue.sqlite_rows", "plexsync.core.settings",
    "plexsync.tasks.router", "plexsync.stash.api", "plexsync.plex.client",
}


def _seed_everything(data_dir: Path) -> None:
    """A state that takes every branch of the answer: dead letters, reconciliation runs, an
    ongoing outage, a live wake-up timer (this test process, just spawned) and a task result."""
    now = time.time()
    seed_mixed(str(data_dir), now, plex_down=True)
    timer_state.write_state(str(data_dir), {"armed_until": now + 60, "pid": os.getpid(),
                                            "spawned_at": now, "ready": False})
    datadir.write_json(str(data_dir / "task-results.json"), {"health_check": {
        "at": "2026-01-01T00:00:00+00:00", "request": "r1", "output": {"ok": True},
        "error": None}})


def _loaded_by_page_status(data_dir: Path) -> set[str]:
    return modules_loaded_by(
        "import plexsync.core.protocol, plexsync.tasks.page\n"
        f"answer = plexsync.tasks.page.page_status({str(data_dir)!r})\n"
        # Every branch was taken, so its imports (lazy ones included) are counted.
        "assert answer['dlq_newest'] and answer['results'] and answer['outage_history']\n"
        "assert answer['status']['timer'] and answer['status']['outages']['ongoing']\n"
        "assert answer['status']['reconcile']['history']"
    )


def test_page_status_loads_exactly_the_allowed_plexsync_modules(tmp_path: Path) -> None:
    _seed_everything(tmp_path)
    loaded = _loaded_by_page_status(tmp_path)
    assert {m for m in loaded if m.startswith("plexsync")} == PLEXSYNC_ALLOWED


def test_page_status_loads_no_module_beyond_the_allow_list(tmp_path: Path) -> None:
    _seed_everything(tmp_path)
    loaded = _loaded_by_page_status(tmp_path)
    others = {m for m in loaded if not m.startswith("plexsync")}
    assert sorted(others - OTHERS_ALLOWED) == []


def test_page_status_loads_neither_the_queue_policy_nor_typing_nor_a_client(
    tmp_path: Path,
) -> None:
    _seed_everything(tmp_path)
    assert sorted(FORBIDDEN & _loaded_by_page_status(tmp_path)) == []
