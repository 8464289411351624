"""Bad input to plexsync.py: one-line error JSON on stdout, exit 1, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from testkit.fake_plex import FakePlex
from testkit.fake_stash import FakeStash
from tests.e2e.conftest import library, run_plugin

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


@pytest.mark.parametrize("days", ["inf", "Infinity", "1e309", "-inf"])
def test_days_that_are_not_finite_are_a_one_line_error_and_the_answer_stays_json(
        fakes: tuple[FakeStash, FakePlex], tmp_path: Path, days: str) -> None:
    stash, plex = fakes
    library(stash, plex, 1)
    run = run_plugin(stash.task_input({"mode": "purge_dlq", "days": days}), tmp_path / "data")
    assert run.returncode == 1, run.answer
    assert "the days argument must be a finite number of days" in str(run.answer["error"])


def test_a_ui_request_beyond_its_size_limit_is_refused_and_never_stored(
        fakes: tuple[FakeStash, FakePlex], tmp_path: Path) -> None:
    stash, plex = fakes
    library(stash, plex, 1)
    huge = "r" * 5_000_000
    run = run_plugin(stash.task_input({"mode": "health_check", "ui_request": huge}),
                     tmp_path / "data")
    assert "the ui_request argument is longer than 64 characters" in str(run.answer["error"])
    results = tmp_path / "data" / "task-results.json"
    assert not results.exists() or huge not in results.read_text()


@pytest.mark.parametrize("kind", ["dangling symlink", "file"])
@pytest.mark.parametrize("mode", ["hook", "task", "page_status"])
def test_a_data_folder_that_is_not_a_folder_is_a_one_line_error_for_every_entry(
        fakes: tuple[FakeStash, FakePlex], tmp_path: Path, kind: str, mode: str) -> None:
    stash, plex = fakes
    [sid] = library(stash, plex, 1)
    target = tmp_path / "data"
    if kind == "file":
        target.write_text("not a folder")
    else:
        target.symlink_to(tmp_path / "gone")
    stdin = (stash.hook_input(sid, input={"id": str(sid), "title": "t"},
                              input_fields=["id", "title"]) if mode == "hook" else
             stash.task_input({"mode": "queue_status" if mode == "task" else mode}))
    run = run_plugin(stdin, target)
    assert run.returncode == 1 and "internal error" not in str(run.answer["error"])
    assert f"PlexSync's data folder {target} is " in str(run.answer["error"])
    assert "point PLEXSYNC_DATA_DIR at a folder" in str(run.answer["error"])
