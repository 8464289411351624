"""The data behind the PlexSync page in Stash's UI (`ui/plexsync.js`, docs/ui.md).

- `run_operation` answers the `page_status` plugin operation (`runPluginOperation` with
  `args: {mode: "page_status"}`) with `status.page_status`. It reads local state only, so the
  page can poll it every few seconds and gets an answer in about 50 ms (docs/ui.md) even while
  Plex is down or a drain holds the queue (SQLite reads never wait for the write lock).
- The results of the tasks the page starts: Stash ends a plugin job FINISHED and only logs its
  output, so the router records the output (or error) of `RESULT_MODES` in `task-results.json`
  with the page's `ui_request` id, and the page finds it in the next `page_status` answer.

Failure behaviour: a damaged results file is moved aside (core.datadir) and reads as empty; a
failure to record a result is logged and never fails the task whose result it is.
"""

from __future__ import annotations

import os
import time

from plexsync.core import datadir
from plexsync.core import fastjson as json
from plexsync.core.log import log
from plexsync.errors import InputError
from plexsync.tasks.status import iso, page_status

# Each poll of the page is one plugin process: light imports only (tasks/status.py says which).
TYPE_CHECKING = False  # mypy takes any name TYPE_CHECKING as true
if TYPE_CHECKING:
    from typing import Any

    from plexsync.core.protocol import Invocation

OPERATION = "page_status"
RESULTS_FILE = "task-results.json"
# The tasks the page's buttons start; their last output is kept for the page to show.
RESULT_MODES = frozenset({
    "process_queue", "recover_dlq", "health_check",
    "reconcile_all", "reconcile_recent", "reconcile_7days", "import_play_state",
})


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
    # The page shows it: no registered secret is stored, whatever the task's output holds.
    entry = json.loads(log.scrub(json.dumps(entry, default=str)))
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
