"""The `page_status` plugin operation, run as Stash runs it for `runPluginOperation`:
plexsync.py with `{"server_connection": ..., "args": {"mode": "page_status"}}` on stdin (no
hookContext, no task defaultArgs) and the answer's `output` returned to the page."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from plexsync.tasks.status import page_status
from testkit.page_state import seed_mixed
from tests.e2e.conftest import run_plugin, stash_command_with

# Stash at a port nothing listens on: the operation must not need it (nor Plex, nor settings).
NO_STASH = {"Scheme": "http", "Host": "127.0.0.1", "Port": 1, "SessionCookie": None}
# Modules that would mean a Stash or Plex call, or the task router's settings round trip.
FORBIDDEN = ("plexsync.tasks.router", "plexsync.core.settings", "plexsync.stash.api",
             "plexsync.plex.client", "plexapi", "stashapi", "requests", "http.client")


def test_the_operation_answers_the_status_from_local_state_alone(tmp_path: Path) -> None:
    seed_mixed(str(tmp_path), time.time())
    run = run_plugin({"server_connection": NO_STASH, "args": {"mode": "page_status"}}, tmp_path)
    assert run.returncode == 0 and run.answer["error"] is None
    expected = page_status(str(tmp_path))
    output = run.answer["output"]
    # The same status JSON as in-process, but for what moves with the clock (MTBF, availability).
    for status in (output["status"], expected["status"]):
        status["outages"] = {k: v for k, v in status["outages"].items()
                             if k not in ("mtbf_s", "availability")}
    assert output["status"] == expected["status"]
    assert output["status"]["outages"]["count"] == 3 and output["status"]["dlq"] == 5
    assert output["dlq_newest"] == expected["dlq_newest"]
    assert run.log_lines == []   # polled every few seconds: it must not fill Stash's log


def test_the_operation_loads_neither_stash_plex_nor_the_task_router(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COVERAGE_")}
    env["PLEXSYNC_DATA_DIR"] = str(tmp_path)
    proc = subprocess.run(
        stash_command_with("-X", "importtime"),
        input='{"server_connection": {"Port": 1}, "args": {"mode": "page_status"}}',
        capture_output=True, text=True, env=env, timeout=60, check=True)
    loaded = {line.rsplit("|", 1)[1].strip() for line in proc.stderr.splitlines()
              if line.startswith("import time:") and "|" in line}
    assert "plexsync.tasks.page" in loaded
    assert sorted(m for m in FORBIDDEN if m in loaded) == []
