"""The PlexSync page's data (plexsync/tasks/page.py) and the task results the router keeps."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from plexsync.core import datadir
from plexsync.core.context import TaskContext
from plexsync.core.protocol import Invocation
from plexsync.errors import InputError, PlexServerDown
from plexsync.queue.enums import SettleAction
from plexsync.queue.job_queue import JobQueue
from plexsync.tasks import page, router
from plexsync.tasks import status as status_task
from testkit.page_state import DEAD, seed_mixed
from tests.helpers import FakeClock


def test_a_fresh_data_dir_answers_zeros_and_empty_lists(tmp_path: Path) -> None:
    answer = status_task.page_status(str(tmp_path), FakeClock())
    status = answer["status"]
    assert (status["pending"], status["retrying"], status["dlq"], status["synced"]) == (0, 0, 0, 0)
    assert answer["dlq_newest"] == [] and answer["results"] == {}
    assert answer["generated_at"] is not None


def test_the_answer_carries_the_same_status_json_as_view_queue_status(tmp_path: Path) -> None:
    clock = FakeClock()
    seed_mixed(str(tmp_path), clock())
    queue = JobQueue.open(str(tmp_path), clock=clock)
    try:
        from plexsync.tasks.status import read_status

        expected = read_status(queue, str(tmp_path))
    finally:
        queue.close()
    assert status_task.page_status(str(tmp_path), clock)["status"] == expected


def test_newest_dead_letters_come_first_with_their_candidates(tmp_path: Path) -> None:
    seed_mixed(str(tmp_path), FakeClock()())
    newest = status_task.page_status(str(tmp_path))["dlq_newest"]
    assert [d["scene_id"] for d in newest] == sorted(DEAD, reverse=True)
    low = next(d for d in newest if d["scene_id"] == 403)
    assert low["error_class"] == "LowConfidence" and low["candidates"] == list(DEAD[403][2])


def test_newest_dead_letters_are_capped(tmp_path: Path) -> None:
    clock = FakeClock()
    queue = JobQueue.open(str(tmp_path), clock=clock)
    try:
        for scene_id in range(1, status_task.DLQ_NEWEST + 6):
            queue.enqueue(scene_id)
        for job in queue.claim(100, 60, "t"):
            clock.advance(1)
            queue.settle(job.id, "t", SettleAction.DEAD, error={
                "error_class": "PlexNotFound", "message": "m", "candidates": []})
    finally:
        queue.close()
    newest = status_task.page_status(str(tmp_path), clock)["dlq_newest"]
    assert [d["scene_id"] for d in newest] == list(range(status_task.DLQ_NEWEST + 5, 5, -1))


def test_results_are_kept_only_for_the_tasks_the_page_starts(tmp_path: Path) -> None:
    page.record_result(str(tmp_path), "health_check", "ui-1", output={"ok": True}, now=0)
    page.record_result(str(tmp_path), "clear_dlq", "ui-2", output={"cleared": 3})
    page.record_result(str(tmp_path), "recover_dlq", None, error="Plex is down.", now=60)
    assert page.read_results(str(tmp_path)) == {
        "health_check": {"at": "1970-01-01T00:00:00+00:00", "request": "ui-1",
                         "output": {"ok": True}, "error": None},
        "recover_dlq": {"at": "1970-01-01T00:01:00+00:00", "request": None, "output": None,
                        "error": "Plex is down."},
    }


def test_a_damaged_results_file_reads_empty_and_is_replaced(tmp_path: Path) -> None:
    (tmp_path / page.RESULTS_FILE).write_text("{not json", encoding="utf-8")
    assert page.read_results(str(tmp_path)) == {}
    page.record_result(str(tmp_path), "process_queue", "ui-3", output={"synced": 1})
    assert page.read_results(str(tmp_path))["process_queue"]["request"] == "ui-3"


def test_an_unknown_operation_is_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="page_status"):
        page.run_operation(Invocation({"PluginDir": str(tmp_path)}, {}, "page_statuz", None))


class _Stash:
    def __init__(self, conn: Mapping[str, Any]) -> None:
        pass

    def plugin_settings(self) -> dict[str, Any]:
        return {"plex_url": "http://plex:32400", "plex_token": "t"}

    def configure_plugin(self, values: Mapping[str, Any]) -> None:
        pass


@pytest.fixture
def task_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[TaskContext]:
    """run_task with a stub Stash and a handler that records its context."""
    import plexsync.stash.api

    seen: list[TaskContext] = []
    monkeypatch.setenv(datadir.ENV_VAR, str(tmp_path))
    monkeypatch.setattr(plexsync.stash.api, "StashClient", _Stash)

    def handler(ctx: TaskContext) -> dict[str, Any]:
        seen.append(ctx)
        if ctx.args.get("fail"):
            raise PlexServerDown("Plex did not answer.")
        return {"checks": []}

    monkeypatch.setattr(router, "resolve_handler", lambda mode: handler)
    return seen


def test_the_router_keeps_a_page_task_result_under_its_request_id(
    task_env: list[TaskContext], tmp_path: Path
) -> None:
    out = router.run_task(Invocation({}, {"mode": "health_check", "ui_request": "ui-9"},
                                     "health_check", None))
    assert out == {"checks": []}
    assert dict(task_env[0].args) == {}   # the page's tag is not a task argument
    result = page.read_results(str(tmp_path))["health_check"]
    assert (result["request"], result["output"], result["error"]) == ("ui-9", {"checks": []},
                                                                      None)


def test_the_router_keeps_a_failing_page_task_error_and_still_raises(
    task_env: list[TaskContext], tmp_path: Path
) -> None:
    with pytest.raises(PlexServerDown):
        router.run_task(Invocation({}, {"mode": "process_queue", "fail": "1",
                                        "ui_request": "ui-5"}, "process_queue", None))
    result = page.read_results(str(tmp_path))["process_queue"]
    assert (result["request"], result["error"]) == ("ui-5", "Plex did not answer.")


def test_the_router_answers_the_page_operation_without_stash(
    task_env: list[TaskContext], tmp_path: Path
) -> None:
    out = router.run_task(Invocation({}, {"mode": "page_status"}, "page_status", None))
    assert out["status"]["pending"] == 0 and task_env == []
