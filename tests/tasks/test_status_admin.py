from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from plexsync.core.context import TaskContext
from plexsync.core.settings import Settings
from plexsync.errors import InputError, LowConfidence, PlexServerDown, PlexSyncError, StashError
from plexsync.queue.job_queue import JobQueue
from plexsync.queue.model import JobSource, Processor
from plexsync.stash.api import StashClient
from plexsync.tasks import admin, bulk
from plexsync.tasks.status import run_queue_status
from testkit.fake_plex import FakePlex
from testkit.fake_stash import FakeStash
from tests.helpers import FakeClock, ScriptedProcessor, captured_log, lines

DAY = 86400.0


class StubStash:
    """Only what these tasks call: scenes_by_id and scene_id_page."""

    def __init__(self, scene_ids: Sequence[int] = ()) -> None:
        self.scene_ids = list(scene_ids)
        self.pages: list[tuple[Any, int, int]] = []

    def scenes_by_id(self, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        return {i: {"id": str(i)} for i in ids if i in self.scene_ids}

    def scene_id_page(self, scene_filter: Any, page: int, per_page: int
                      ) -> tuple[int, list[dict[str, Any]]]:
        self.pages.append((scene_filter, page, per_page))
        chunk = self.scene_ids[(page - 1) * per_page:page * per_page]
        return len(self.scene_ids), [{"id": str(i), "updated_at": "x"} for i in chunk]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def processor(monkeypatch: pytest.MonkeyPatch) -> ScriptedProcessor:
    import plexsync.sync.processor

    scripted = ScriptedProcessor()

    def build(ctx: TaskContext) -> Processor:
        return scripted

    monkeypatch.setattr(plexsync.sync.processor, "build_processor", build)
    return scripted


def context(tmp_path: Path, clock: FakeClock, stash: Any = None,
            **args: Any) -> TaskContext:
    return TaskContext(settings=Settings(), data_dir=str(tmp_path), stash=stash, args=args,
                       clock=clock, sleep=clock.sleep, progress=lambda p: None)


@pytest.fixture
def queue(tmp_path: Path, clock: FakeClock) -> Iterator[JobQueue]:
    q = JobQueue.open(str(tmp_path), clock=clock)
    yield q
    q.close()


def dead_letter(queue: JobQueue, scene_id: int, error: PlexSyncError) -> None:
    """Put a job in the DLQ directly (PlexServerDown alone never gets there by backoff)."""
    queue.enqueue(scene_id)
    [job] = queue.claim(1, 60, "setup")
    queue.storage.settle(job.id, "setup", queue.clock(), "dead", error={
        "error_class": error.error_class.value, "message": str(error), "candidates": []})


# ---------------------------------------------------------------------- status


def test_queue_status_reports_every_spec_key_with_honest_empty_subsystems(
        tmp_path: Path, clock: FakeClock, queue: JobQueue) -> None:
    queue.enqueue(1)
    dead_letter(queue, 2, LowConfidence("x"))
    with captured_log():
        status = run_queue_status(context(tmp_path, clock))
    assert {"pending", "in_progress", "retrying", "dlq", "dlq_by_error", "synced",
            "out_of_scope", "circuit", "last_sync_at", "reconcile", "outages",
            "stats"} <= set(status)
    assert status["pending"] == 1 and status["dlq_by_error"] == {"LowConfidence": 1}
    assert status["circuit"] == "closed"
    assert status["reconcile"] == {"last_run_at": None, "history": [], "gaps_by_type": {}}
    assert status["outages"] == {"count": 0, "mttr_s": None, "mtbf_s": None,
                                 "availability": None}
    assert {"processed", "succeeded", "failed", "dead_lettered", "by_confidence",
            "avg_seconds"} <= set(status["stats"])


def test_queue_status_logs_a_readable_summary(tmp_path: Path, clock: FakeClock,
                                              queue: JobQueue) -> None:
    queue.enqueue(1)
    with captured_log() as stream:
        run_queue_status(context(tmp_path, clock))
    text = lines(stream, "i")
    assert len(text) >= 4
    assert text[0].startswith("Queue: 1 pending, 0 in progress, 0 waiting to retry")


# ---------------------------------------------------------------------- clear / purge


def test_clear_queue_drops_pending_jobs_but_keeps_those_in_flight(
        tmp_path: Path, clock: FakeClock, queue: JobQueue) -> None:
    for scene in (1, 2, 3):
        queue.enqueue(scene)
    queue.claim(1, 60, "drain")
    with captured_log():
        out = admin.run_clear_queue(context(tmp_path, clock))
    assert out == {"cleared": 2, "kept_in_progress": 1}


def test_clear_dlq_empties_the_dead_letter_queue(tmp_path: Path, clock: FakeClock,
                                                 queue: JobQueue) -> None:
    dead_letter(queue, 1, LowConfidence("x"))
    with captured_log():
        assert admin.run_clear_dlq(context(tmp_path, clock)) == {"cleared": 1}
    assert queue.counts()["dlq"] == 0


def test_purge_dlq_uses_the_retention_setting_unless_days_is_given(
        tmp_path: Path, clock: FakeClock, queue: JobQueue) -> None:
    dead_letter(queue, 1, LowConfidence("x"))
    clock.advance(20 * DAY)
    dead_letter(queue, 2, LowConfidence("x"))
    clock.advance(15 * DAY)
    with captured_log():
        assert admin.run_purge_dlq(context(tmp_path, clock))["purged"] == 1  # 30 days
        assert admin.run_purge_dlq(context(tmp_path, clock, days="10"))["purged"] == 1
    assert queue.counts()["dlq"] == 0


@pytest.mark.parametrize("days", ["soon", "-1", "nan"])
def test_purge_dlq_rejects_a_bad_days_argument_by_name(
        tmp_path: Path, clock: FakeClock, days: str) -> None:
    with pytest.raises(InputError, match="days argument"):
        admin.run_purge_dlq(context(tmp_path, clock, days=days))


# ---------------------------------------------------------------------- recover


def test_recover_requeues_only_scenes_still_in_stash_and_drains(
        tmp_path: Path, clock: FakeClock, queue: JobQueue, processor: ScriptedProcessor,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(admin, "plex_problem", lambda ctx: None)
    for scene in (1, 2, 3):
        dead_letter(queue, scene, PlexServerDown("down"))
    dead_letter(queue, 4, StashError("x"))
    with captured_log():
        out = admin.run_recover_dlq(context(tmp_path, clock, StubStash([1, 3, 4])))
    assert (out["matched"], out["requeued"], out["gone"]) == (3, 2, 1)
    assert sorted(processor.seen) == [1, 3]
    assert [d.scene_id for d in queue.dlq_entries()] == [4]


def test_recover_leaves_the_dlq_alone_while_plex_is_down(
        tmp_path: Path, clock: FakeClock, queue: JobQueue,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(admin, "plex_problem", lambda ctx: "Plex is not reachable (refused)")
    dead_letter(queue, 1, PlexServerDown("down"))
    with captured_log() as stream:
        out = admin.run_recover_dlq(context(tmp_path, clock, StubStash([1])))
    assert out["requeued"] == 0 and queue.counts()["dlq"] == 1
    assert "not reachable" in lines(stream, "w")[0]


def test_recover_rejects_unknown_error_types_listing_the_valid_ones(
        tmp_path: Path, clock: FakeClock) -> None:
    with pytest.raises(InputError) as info:
        admin.run_recover_dlq(context(tmp_path, clock, error_types="PlexDown"))
    assert "error_types" in str(info.value) and "PlexServerDown, PlexNotFound" in str(info.value)


def test_error_types_are_case_insensitive_and_default_to_plex_server_down() -> None:
    assert admin.parse_error_types(None) == ["PlexServerDown"]
    assert admin.parse_error_types(" plexnotfound , LowConfidence") == [
        "PlexNotFound", "LowConfidence"]
    assert admin.parse_error_types("all") is None


def test_since_accepts_days_back_or_an_iso_date() -> None:
    now = datetime(2024, 5, 10, tzinfo=UTC).timestamp()
    assert admin.parse_since("7", now) == now - 7 * DAY
    assert admin.parse_since("2024-05-01", now) == datetime(2024, 5, 1, tzinfo=UTC).timestamp()
    assert admin.parse_since("", now) is None
    with pytest.raises(InputError, match="since argument"):
        admin.parse_since("last tuesday", now)


def test_plex_health_comes_from_the_identity_probe(tmp_path: Path, clock: FakeClock) -> None:
    with FakePlex() as plex:
        settings = Settings.from_mapping({"plex_url": plex.url, "plex_token": plex.token,
                                          "connect_timeout": 1, "read_timeout": 1})
        ctx = TaskContext(settings=settings, data_dir=str(tmp_path), stash=None)
        assert admin.plex_problem(ctx) is None
        plex.go_down()
        problem = admin.plex_problem(ctx)
    assert problem is not None and problem.startswith("Plex is not reachable")


# ---------------------------------------------------------------------- match cache


def test_clear_match_cache_drops_the_plex_index(tmp_path: Path, clock: FakeClock,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    import plexsync.plex.index_cache

    cleared: list[str] = []
    monkeypatch.setattr(plexsync.plex.index_cache, "clear", cleared.append)
    with captured_log():
        assert admin.run_clear_match_cache(context(tmp_path, clock)) == {"cleared": True}
    assert cleared == [str(tmp_path)]


# ---------------------------------------------------------------------- bulk


def test_sync_all_pages_through_every_scene_then_drains(
        tmp_path: Path, clock: FakeClock, processor: ScriptedProcessor) -> None:
    stash = StubStash(range(1, 1203))
    with captured_log():
        out = bulk.run_sync_all(context(tmp_path, clock, stash))
    assert [(page, per_page) for _, page, per_page in stash.pages] == [
        (1, 500), (2, 500), (3, 500)]
    assert out["queued"] == 1202 and out["drain"]["synced"] == 1202
    assert len(processor.seen) == 1202


def test_sync_all_jobs_are_task_jobs(tmp_path: Path, clock: FakeClock,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bulk, "run_process_queue", lambda ctx: {})
    with captured_log():
        bulk.run_sync_all(context(tmp_path, clock, StubStash([7])))
    queue = JobQueue.open(str(tmp_path), clock=clock)
    job = queue.job(7)
    queue.close()
    assert job is not None and job.source is JobSource.SYNC_TASK


def test_stash_timestamps_are_written_like_go_rfc3339() -> None:
    moment = datetime(2024, 5, 1, 10, 0, 0, 123456, tzinfo=UTC)
    text = bulk.stash_timestamp(moment)
    local = moment.astimezone()
    assert text.startswith(local.strftime("%Y-%m-%dT%H:%M:%S"))
    assert text.endswith("Z") if not local.utcoffset() else text[-6] in "+-"


def test_sync_recent_queues_only_scenes_updated_in_the_last_day(
        tmp_path: Path, processor: ScriptedProcessor) -> None:
    offset = datetime.now().astimezone().utcoffset() or timedelta(0)
    with FakeStash(utc_offset=offset) as fake:
        now = datetime.now(UTC)
        old = fake.add_scene(title="old", updated_at=now - timedelta(days=3))
        recent = fake.add_scene(title="recent", updated_at=now - timedelta(hours=2))
        ctx = TaskContext(settings=Settings(), data_dir=str(tmp_path),
                          stash=StashClient(fake.server_connection()),
                          progress=lambda p: None)
        with captured_log():
            out = bulk.run_sync_recent(ctx)
    assert out["queued"] == 1 and processor.seen == [recent] and old not in processor.seen
