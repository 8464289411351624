"""Dead-letter queue tasks: clear, purge and recover."""

from __future__ import annotations

from pathlib import Path

import pytest

from plexsync.core.context import TaskContext
from plexsync.core.settings import Settings
from plexsync.errors import InputError, LowConfidence, PlexServerDown, StashError
from plexsync.queue.job_queue import JobQueue
from plexsync.tasks import dlq
from testkit.fake_plex import FakePlex
from tests.helpers import FakeClock, ScriptedProcessor, captured_log, lines
from tests.tasks.conftest import DAY, StubStash, context, dead_letter


def test_clear_dlq_empties_the_dead_letter_queue(tmp_path: Path, clock: FakeClock,
                                                 queue: JobQueue) -> None:
    dead_letter(queue, 1, LowConfidence("x"))
    with captured_log():
        assert dlq.run_clear_dlq(context(tmp_path, clock)) == {"cleared": 1}
    assert queue.counts()["dlq"] == 0


def test_purge_dlq_uses_the_retention_setting_unless_days_is_given(
        tmp_path: Path, clock: FakeClock, queue: JobQueue) -> None:
    dead_letter(queue, 1, LowConfidence("x"))
    clock.advance(20 * DAY)
    dead_letter(queue, 2, LowConfidence("x"))
    clock.advance(15 * DAY)
    with captured_log():
        assert dlq.run_purge_dlq(context(tmp_path, clock))["purged"] == 1  # 30 days
        assert dlq.run_purge_dlq(context(tmp_path, clock, days="10"))["purged"] == 1
    assert queue.counts()["dlq"] == 0


@pytest.mark.parametrize("days", ["soon", "-1", "nan"])
def test_purge_dlq_rejects_a_bad_days_argument_by_name(
        tmp_path: Path, clock: FakeClock, days: str) -> None:
    with pytest.raises(InputError, match="days argument"):
        dlq.run_purge_dlq(context(tmp_path, clock, days=days))


def test_recover_requeues_only_scenes_still_in_stash_and_drains(
        tmp_path: Path, clock: FakeClock, queue: JobQueue, processor: ScriptedProcessor,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dlq, "plex_problem", lambda ctx: None)
    for scene in (1, 2, 3):
        dead_letter(queue, scene, PlexServerDown("down"))
    dead_letter(queue, 4, StashError("x"))
    with captured_log():
        out = dlq.run_recover_dlq(context(tmp_path, clock, StubStash([1, 3, 4])))
    assert (out["matched"], out["requeued"], out["gone"]) == (3, 2, 1)
    assert sorted(processor.seen) == [1, 3]
    assert [d.scene_id for d in queue.dlq_entries()] == [4]


def test_recover_leaves_the_dlq_alone_while_plex_is_down(
        tmp_path: Path, clock: FakeClock, queue: JobQueue,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dlq, "plex_problem", lambda ctx: "Plex is not reachable (refused)")
    dead_letter(queue, 1, PlexServerDown("down"))
    with captured_log() as stream:
        out = dlq.run_recover_dlq(context(tmp_path, clock, StubStash([1])))
    assert out["requeued"] == 0 and queue.counts()["dlq"] == 1
    assert "not reachable" in lines(stream, "w")[0]


def test_recover_rejects_unknown_error_types_listing_the_valid_ones(
        tmp_path: Path, clock: FakeClock) -> None:
    with pytest.raises(InputError) as info:
        dlq.run_recover_dlq(context(tmp_path, clock, error_types="PlexDown"))
    assert "error_types" in str(info.value) and "PlexServerDown, PlexNotFound" in str(info.value)


def test_plex_health_comes_from_the_identity_probe(tmp_path: Path, clock: FakeClock) -> None:
    with FakePlex() as plex:
        settings = Settings.from_mapping({"plex_url": plex.url, "plex_token": plex.token,
                                          "connect_timeout": 1, "read_timeout": 1})
        ctx = TaskContext(settings=settings, data_dir=str(tmp_path), stash=None)
        assert dlq.plex_problem(ctx) is None
        plex.go_down()
        problem = dlq.plex_problem(ctx)
    assert problem is not None and problem.startswith("Plex is not reachable")


