"""Maintenance tasks: Clear Queue and Clear Match Cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from plexsync.queue.job_queue import JobQueue
from plexsync.tasks import admin
from tests.helpers import FakeClock, captured_log
from tests.tasks.conftest import context


def test_clear_queue_drops_pending_jobs_but_keeps_those_in_flight(
        tmp_path: Path, clock: FakeClock, queue: JobQueue) -> None:
    for scene in (1, 2, 3):
        queue.enqueue(scene)
    queue.claim(1, 60, "drain")
    with captured_log():
        out = admin.run_clear_queue(context(tmp_path, clock))
    assert out == {"cleared": 2, "kept_in_progress": 1}


def test_clear_match_cache_drops_the_plex_index(tmp_path: Path, clock: FakeClock,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    import plexsync.plex.index_cache

    cleared: list[str] = []
    monkeypatch.setattr(plexsync.plex.index_cache, "clear", cleared.append)
    with captured_log():
        assert admin.run_clear_match_cache(context(tmp_path, clock)) == {"cleared": True}
    assert cleared == [str(tmp_path)]


