"""Bad input to plexsync.py: one-line error JSON on stdout, exit 1, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.conftest import run_plugin

HOOK = {"id": 3, "type": "Gallery.Update.Post", "input": None, "inputFields": None}


@pytest.mark.parametrize(("stdin", "expected"), [
    ("this is not json", "stdin is not JSON"),
    ("", "no input on stdin"),
    ("   \n", "no input on stdin"),
    ("[1, 2]", "not an object"),
    (json.dumps({"server_connection": {}}), 'no "args" object'),
    (json.dumps({"server_connection": {}, "args": {}}), 'neither a task "mode" nor'),
    (json.dumps({"server_connection": {}, "args": {"mode": "sync_everything"}}),
     "unknown task mode 'sync_everything'; valid modes: clear_dlq"),
    (json.dumps({"server_connection": {}, "args": {"hookContext": HOOK}}),
     "does not handle the 'Gallery.Update.Post' hook"),
    (json.dumps({"server_connection": {}, "args": {"hookContext": {
        "type": "Scene.Update.Post", "input": None}}}), "carried no scene id"),
])
def test_bad_input_gives_one_line_error_json_and_exit_1(
        tmp_path: Path, stdin: str, expected: str) -> None:
    run = run_plugin(stdin, tmp_path / "data", timeout=60)
    assert run.returncode == 1
    assert run.answer["output"] is None
    error = run.answer["error"]
    assert expected in error and "\n" not in error
    assert "Traceback" not in run.stderr
    assert [line for line in run.log_lines] == [error]  # the same sentence, once, in the log


def test_unknown_mode_lists_every_valid_mode(tmp_path: Path) -> None:
    run = run_plugin({"server_connection": {}, "args": {"mode": "nope"}}, tmp_path / "data",
                     timeout=60)
    for mode in ("process_queue", "queue_status", "clear_queue", "clear_dlq", "purge_dlq",
                 "recover_dlq", "sync_all", "sync_recent", "clear_match_cache"):
        assert mode in run.answer["error"]
