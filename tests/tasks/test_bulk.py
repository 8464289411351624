"""Sync All / Sync Recent: queue pages of scenes, then drain."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from plexsync.core.context import TaskContext
from plexsync.core.settings import Settings
from plexsync.queue.job_queue import JobQueue
from plexsync.queue.model import JobSource
from plexsync.stash.api import StashClient
from plexsync.tasks import bulk
from testkit.fake_stash import FakeStash
from tests.helpers import FakeClock, ScriptedProcessor, captured_log
from tests.tasks.conftest import StubStash, context


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
