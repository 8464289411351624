"""Fixtures shared by the unit tests: a queue on a temporary SQLite file, the clock."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

import pytest

from plexsync.queue.backoff import Backoff
from plexsync.queue.job_queue import JobQueue
from tests.contract.plex_guard import plex_contract_guard
from tests.helpers import FakeClock

__all__ = ["plex_contract_guard"]  # autouse: every test's fake Plex traffic meets the PMS spec


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def queue(tmp_path: Path, clock: FakeClock) -> Iterator[JobQueue]:
    q = JobQueue(str(tmp_path / "q.db"), clock=clock,
                 backoff=Backoff(max_retries=3, rng=lambda: 0.5))
    yield q
    q.close()


@pytest.fixture(autouse=True)
def _no_wake_timer_outlives_its_test(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test that runs Process Queue may arm a real wake-up timer in its tmp_path data
    directory: end it with the test (it would exit by itself once Stash is gone, but only
    when it wakes). Only the timers named by this test's own state files are touched."""
    if "tmp_path" not in request.fixturenames:
        yield
        return
    tmp_path: Path = request.getfixturevalue("tmp_path")
    yield
    for state_file in tmp_path.rglob("wake-timer.json"):
        with suppress(OSError, ValueError):
            pid = json.loads(state_file.read_text()).get("pid")
            if isinstance(pid, int) and _is_wake_timer(pid, state_file.parent):
                with suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGTERM)


def _is_wake_timer(pid: int, data_dir: Path) -> bool:
    """Only a process whose command line is this data directory's timer (Linux /proc)."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"wake-timer" in argv and str(data_dir).encode() in argv
