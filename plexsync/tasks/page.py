"""The data behind the PlexSync page in Stash's UI (`ui/plexsync.js`, docs/ui.md).

Two things live here:

- `page_status`: the answer to the `page_status` plugin operation (`runPluginOperation` with
  `args: {mode: "page_status"}`). It reads local state only (the queue database, the breaker,
  timer and result files in the data directory): no Stash call, no Plex call and no settings
  read, so the page can poll it every few seconds and gets an answer in about 50 ms
  (bytecode cached; docs/ui.md) even while Plex is down or a drain holds the queue (SQLite
  reads never wait for the write lock).
- The results of the tasks the page starts. Stash ends a plugin job FINISHED and only logs its
  output, so the page cannot read it from the job; instead the router records the output (or
  error) of the modes in `RESULT_MODES` in `task-results.json` with the page's `ui_request` id,
  and the page finds it in the next `page_status` answer.

Failure behaviour: a damaged results file is moved aside (core.datadir) and reads as empty; a
failure to record a result is logged and never fails the task whose result it is.
"""

from __future__ import annotations

import os
import time

from plexsync.core import datadir
from plexsync.core.log import log
from plexsync.errors import InputError
from plexsync.queue.sqlite_store import SQLiteStore
from plexsync.queue.status_view import iso
from plexsync.tasks.status import outage_block, store_status

# Each poll of the page is one plugin process, so `page_status` imports only light modules:
# the queue database directly (no JobQueue, no model with its dataclasses: ~40 ms of imports),
# no `typing`. The budget is pinned by tests/tasks/test_page_import_budget.py.
TYPE_CHECKING = False  # mypy takes any name TYPE_CHECKING as true
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from plexsync.core.protocol import Invocation

OPERATION = "page_status"
RESULTS_FILE = "task-results.json"
DLQ_NEWEST = 20
# The tasks the page's buttons start; their last output is kept for the page to show.
RESULT_MODES = frozenset({
    "process_queue", "recover_dlq", "health_check",
    "reconcile_all", "reconcile_recent", "reconcile_7days", "import_play_state",
})


def page_status(data_dir: str, clock: Callable[[], float] = time.time) -> dict[str, Any]:
    """Everything the page shows: the status JSON plus the newest dead letters and the last
    result of each task the page can start."""
    store = SQLiteStore.open(data_dir)
    try:
        status = store_status(store, data_dir, clock)
        newest = store.newest_dead_letter_rows(DLQ_NEWEST)
    finally:
        store.close()
    return {
        "status": status,
        "dlq_newest": [
            {"scene_id": d["scene_id"], "error_class": d["error_class"],
             "message": d["message"], "attempts": d["attempts"],
             "last_failure_at": iso(d["last_failure_at"]), "candidates": d["candidates"]}
            for d in newest
        ],
        # The last 30 outages, newest first (the status JSON carries only their summary).
        "outage_history": outage_block(data_dir, clock())[1]["history"],
        "results": read_results(data_dir),
        "generated_at": iso(clock()),
    }


def read_results(data_dir: str) -> dict[str, Any]:
    return datadir.read_json(os.path.join(data_dir, RESULTS_FILE), {})


def record_result(
    data_dir: str, mode: str, request: str | None, *, output: Any = None,
    error: str | None = None, now: float | None = None,
) -> None:
    """Keep the last output (or error) of `mode` for the page; a no-op for other modes."""
    if mode not in RESULT_MODES:
        return
    path = os.path.join(data_dir, RESULTS_FILE)
    entry = {"at": iso(time.time() if now is None else now), "request": request,
             "output": output, "error": error}
    try:
        with datadir.locked(path):
            results = datadir.read_json(path, {})
            results[mode] = entry
            datadir.write_json(path, results)
    except Exception as exc:  # the task did its work; losing its page result is not fatal
        log.warning(f"Could not save the {mode} result for the PlexSync page: {exc}")



def run_operation(invocation: Invocation) -> dict[str, Any]:
    """Answer a plugin operation (core.protocol.OPERATIONS); `page_status` takes no arguments."""
    if invocation.mode != OPERATION:
        raise InputError(f"unknown operation {invocation.mode!r}; PlexSync answers {OPERATION!r}.")
    return page_status(datadir.resolve(invocation.plugin_dir))
