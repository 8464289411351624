"""plexsync/__main__.py, the entry, in-process: what each kind of input is dispatched to, and
the one JSON answer. (tests/e2e runs it as Stash does, with `python -S`; coverage's start-up
hook is a .pth file, which -S skips, so those runs do not show in the coverage report.)"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from plexsync.__main__ import main

HOOK = {"server_connection": {"Scheme": "http", "Host": "127.0.0.1", "Port": 1},
        "args": {"hookContext": {"id": 5, "type": "Scene.Update.Post",
                                 "input": {"id": "5", "title": "T"},
                                 "inputFields": ["id", "title"]}}}


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PLEXSYNC_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], stdin: Any = "",
        argv: tuple[str, ...] = ()) -> tuple[int, dict[str, Any] | None]:
    monkeypatch.setattr(sys, "argv", ["plexsync.py", *argv])
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin if isinstance(stdin, str)
                                                  else json.dumps(stdin)))
    code = main()
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) <= 1, lines
    return code, json.loads(lines[0]) if lines else None


def test_a_hook_queues_its_scene_and_answers_once(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    code, answer = run(monkeypatch, capsys, HOOK)
    assert code == 0 and answer is not None
    assert answer["error"] is None and answer["output"]["queued"] == 5
    assert answer["output"]["drain"] == "not requested"   # Stash on port 1 did not answer


def test_input_that_is_not_json_is_one_error_and_exit_1(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    code, answer = run(monkeypatch, capsys, "{not json")
    assert code == 1 and answer is not None
    assert answer["output"] is None and answer["error"]


def test_the_page_status_operation_answers_from_local_state(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    code, answer = run(monkeypatch, capsys, {"server_connection": {"Port": 1},
                                             "args": {"mode": "page_status"}})
    assert code == 0 and answer is not None and answer["error"] is None
    assert answer["output"]["status"]["pending"] == 0


def test_a_bug_is_one_error_line_without_a_traceback(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from plexsync.hook import handler

    def boom(_invocation: object) -> dict[str, Any]:
        raise RuntimeError("boom")

    monkeypatch.setattr(handler, "run_hook", boom)
    code, answer = run(monkeypatch, capsys, HOOK)
    assert code == 1 and answer is not None
    assert answer["error"] == "PlexSync hit an internal error: RuntimeError: boom"


@pytest.mark.parametrize(("argv", "target"), [
    (("process_queue", "--stash-url", "http://x:1"), "plexsync.tasks.cli"),
    (("wake-timer", "/some/data"), "plexsync.timer.process"),
])
def test_arguments_run_the_command_line_or_the_wake_up_timer(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        argv: tuple[str, ...], target: str) -> None:
    import importlib

    seen: list[list[str]] = []

    def fake_main(args: list[str]) -> int:
        seen.append(list(args))
        return 7

    monkeypatch.setattr(importlib.import_module(target), "main", fake_main)
    code, answer = run(monkeypatch, capsys, argv=argv)
    assert code == 7 and answer is None
    assert seen == [list(argv[1:]) if target.endswith("process") else list(argv)]
