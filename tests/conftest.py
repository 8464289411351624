"""Fixtures shared by the unit tests: the queue over every storage backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from plexsync.queue.backoff import Backoff
from plexsync.queue.job_queue import JobQueue
from plexsync.queue.memory_store import MemoryStore
from plexsync.queue.sqlite_store import SQLiteStore
from plexsync.queue.storage import Storage
from tests.helpers import FakeClock


@pytest.fixture(params=["sqlite", "memory"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    """Each test using it runs once per backend of the storage contract."""
    backend: Storage = (SQLiteStore(str(tmp_path / "q.db")) if request.param == "sqlite"
                        else MemoryStore())
    yield backend
    backend.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def queue(storage: Storage, clock: FakeClock) -> JobQueue:
    return JobQueue(storage, clock=clock, backoff=Backoff(max_retries=3, rng=lambda: 0.5))
