"""Shared set-up for the reliability suite (docs/reliability.md).

Every test here has a hard per-test time limit (`TIME_LIMIT`, SIGALRM): a hang is a failure,
never a stuck CI job. The suite is sized for a 2-core CI machine (about 3 minutes in all).
`World` is a real drain (JobQueue on SQLite, SyncProcessor, Drain) against the loopback fakes,
with an injected clock so retries due later can be made due without sleeping.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from plexsync.core.context import TaskContext
from plexsync.core.settings import Settings
from plexsync.queue.backoff import Backoff
from plexsync.queue.drain import Drain
from plexsync.queue.job_queue import JobQueue
from plexsync.stash.api import StashClient
from plexsync.sync.processor import SyncProcessor
from plexsync.tasks.status import queue_status
from testkit.fake_plex import FakePlex
from testkit.fake_stash import FakeStash
from tests.helpers import FakeClock

TIME_LIMIT = 90          # seconds per test
STASH_ROOT = "/stash/media"
PLEX_ROOT = "/plex/media"

settings.register_profile("reliability", deadline=None, derandomize=True, database=None,
                          suppress_health_check=[HealthCheck.too_slow,
                                                 HealthCheck.function_scoped_fixture])


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "time_limit(seconds): this test's hard time limit")


@pytest.fixture(autouse=True)
def time_limit(request: pytest.FixtureRequest) -> Iterator[None]:
    limit = int(getattr(request.node.get_closest_marker("time_limit"), "args", [TIME_LIMIT])[0])

    def expire(signum: int, frame: FrameType | None) -> None:
        raise TimeoutError(f"{request.node.nodeid} ran past its {limit} s limit")

    old = signal.signal(signal.SIGALRM, expire)
    signal.alarm(limit)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)



@dataclass
class World:
    """N scenes in Stash, each with its Plex item (old title), all queued; one data dir."""

    plex: FakePlex
    stash: FakeStash
    data_dir: Path
    scenes: dict[int, int] = field(default_factory=dict)   # scene id → ratingKey
    titles: dict[int, str] = field(default_factory=dict)   # scene id → Stash title
    clock: FakeClock = field(default_factory=lambda: FakeClock(time.time()))
    settings: dict[str, Any] = field(default_factory=dict)

    def add(self, n: int) -> None:
        for _ in range(n):
            i = len(self.scenes)
            title = f"Stash title {i} ✓"
            sid = self.stash.add_scene(title=title, files=[
                {"path": f"{STASH_ROOT}/d{i % 7}/s{i}.mp4", "size": 1000 + i, "duration": 60.0}])
            self.scenes[sid] = self.plex.add_item(1, f"{PLEX_ROOT}/d{i % 7}/s{i}.mp4",
                                                  title=f"Plex title {i}", size=1000 + i,
                                                  duration_ms=60_000)
            self.titles[sid] = title

    def queue(self) -> JobQueue:
        return JobQueue.open(str(self.data_dir), clock=self.clock,
                        backoff=Backoff(rng=lambda: 0.0))

    def ctx(self) -> TaskContext:
        raw = {"plex_url": self.plex.url, "plex_token": self.plex.token,
               "path_map": f"{STASH_ROOT}={PLEX_ROOT}", "read_timeout": 2,
               "connect_timeout": 2, **self.settings}
        return TaskContext(settings=Settings.from_mapping(raw), data_dir=str(self.data_dir),
                           stash=StashClient(self.stash.server_connection()), clock=self.clock,
                           sleep=lambda s: None)

    def drain(self, queue: JobQueue) -> dict[str, Any] | Exception:
        """One Process Queue; returns its summary, or the error it stopped with."""
        ctx = self.ctx()
        drain = Drain(queue, lambda: SyncProcessor(ctx),
                      lock_path=str(self.data_dir / "drain.lock"), clock=self.clock,
                      sleep=self._sleep, progress=lambda p: None)
        try:
            return drain.run()
        except Exception as exc:   # the stop reason is what the test checks
            return exc

    def _sleep(self, seconds: float) -> None:
        self.clock.now += seconds

    def holds(self, sid: int) -> bool:
        """Whether Plex holds the scene's Stash values (the title is the telling one)."""
        return self.plex.item(self.scenes[sid]).title == self.titles[sid]

    def check_honest(self, queue: JobQueue) -> None:
        """No job dead-lettered; a scene recorded as synced only if Plex holds its values."""
        status = queue_status(queue)
        assert status["dlq"] == 0, queue.dlq_entries()
        for sid, record in queue.records_for(self.scenes).items():
            assert record is not None and self.holds(sid), f"scene {sid} recorded, not in Plex"

    def settle(self, queue: JobQueue, rounds: int = 8) -> None:
        """Drain (advancing the clock past every retry) until nothing is left to do."""
        for _ in range(rounds):
            due = queue.next_due_at()
            if due is None:
                return
            self.clock.now = max(self.clock.now, due) + 1
            self.drain(queue)


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setenv("PLEXSYNC_DATA_DIR", str(tmp_path / "data"))
    (tmp_path / "data").mkdir(mode=0o700)
    with FakePlex() as plex, FakeStash(plugin_dir=str(tmp_path / "plugin")) as stash:
        plex.add_section(1, "Movies", [PLEX_ROOT])
        yield World(plex, stash, tmp_path / "data")


def invoke(stdin: dict[str, Any]) -> dict[str, Any]:
    """plexsync.py's main, in this process: the answer Stash would read ({output, error})."""
    from plexsync.core.log import log
    from plexsync.core.protocol import parse
    from plexsync.errors import PlexSyncError
    from plexsync.hook.handler import run_hook
    from plexsync.tasks.router import run_task

    try:
        invocation = parse(json.dumps(stdin))
        if invocation.hook_context is not None:
            return {"output": run_hook(invocation), "error": None}
        return {"output": run_task(invocation), "error": None}
    except PlexSyncError as exc:
        return {"output": None, "error": log.redact(str(exc))}


def ps_command_lines() -> list[str]:
    """Every process's command line (Linux /proc), for the secrets check."""
    lines = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as fh:
                    lines.append(fh.read().replace(b"\0", b" ").decode(errors="replace"))
            except OSError:
                continue
    return lines
