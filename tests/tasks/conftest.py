"""Shared by the task tests: a fake clock, a queue in a temporary data dir, a scripted
processor in place of the sync engine, a stub Stash, and a way to dead-letter a job."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from plexsync.core.context import TaskContext
from plexsync.core.settings import Settings
from plexsync.errors import PlexSyncError
from plexsync.queue.enums import SettleAction
from plexsync.queue.job_queue import JobQueue
from plexsync.queue.model import Processor
from tests.helpers import FakeClock, ScriptedProcessor

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
    queue.settle(job.id, "setup", SettleAction.DEAD, error={
        "error_class": error.error_class.value, "message": str(error), "candidates": []})
