"""Reconciliation runs against the fake Plex and Stash: scopes with an injected clock, the
automatic check, the single-run lock, the history in the status JSON."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import filelock
import pytest

from plexsync.core.context import TaskContext
from plexsync.core.settings import Settings
from plexsync.queue.job_queue import JobQueue
from plexsync.reconcile import auto
from plexsync.reconcile.engine import LOCK_NAME, Scope, Trigger, reconcile
from plexsync.stash.api import StashClient
from plexsync.tasks.process_queue import run_process_queue
from plexsync.tasks.reconcile import auto_reconcile
from plexsync.tasks.status import read_status, run_queue_status, summary_lines
from plexsync.timer import arm as timer_arm
from plexsync.timer.state import RECONCILE_DUE_KEY
from testkit.fake_plex import FakePlex
from testkit.fake_stash import FakeStash
from tests.helpers import FakeClock

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
STASH_ROOT, PLEX_ROOT = "/data/videos", "/media/videos"



@dataclass
class Env:
    plex: FakePlex
    stash: FakeStash
    data_dir: Path
    clock: FakeClock

    def ctx(self, started_by_stash: bool = True, **settings: Any) -> TaskContext:
        raw = {"plex_url": self.plex.url, "plex_token": self.plex.token,
               "path_map": f"{STASH_ROOT}={PLEX_ROOT}", **settings}
        return TaskContext(settings=Settings.from_mapping(raw), data_dir=str(self.data_dir),
                           stash=StashClient(self.stash.server_connection()), clock=self.clock,
                           progress=lambda _: None, started_by_stash=started_by_stash)

    def scene(self, name: str, created: timedelta, updated: timedelta | None = None) -> int:
        """A scene created / updated that long before NOW, whose Plex item lacks its title."""
        rel = f"folder/{name}.mp4"
        sid = self.stash.add_scene(
            title=f"Title {name}", files=[{"path": f"{STASH_ROOT}/{rel}", "size": 10,
                                           "duration": 1.0}],
            created_at=NOW - created, updated_at=NOW - (updated or created))
        self.plex.add_item(1, f"{PLEX_ROOT}/{rel}", size=10, duration_ms=1000)
        return sid

    def queued(self) -> set[int]:
        queue = JobQueue.open(str(self.data_dir), clock=self.clock)
        try:
            return {sid for sid in self.stash.scene_ids() if queue.job(sid) is not None}
        finally:
            queue.close()

    def meta(self) -> dict[str, str]:
        store = JobQueue.open(str(self.data_dir))
        try:
            return store.read_meta()
        finally:
            store.close()

    def runs(self) -> list[dict[str, Any]]:
        store = JobQueue.open(str(self.data_dir))
        try:
            return store.reconcile_runs(100)
        finally:
            store.close()


def reconciliation_line(env: Env) -> str:
    """The status summary's line about reconciliation."""
    queue = JobQueue.open(str(env.data_dir), clock=env.clock)
    try:
        lines = summary_lines(read_status(queue))
    finally:
        queue.close()
    [line] = [line for line in lines if "econciliation" in line]
    return line


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    with FakePlex() as plex, FakeStash(clock=lambda: NOW) as stash:
        plex.add_section(1, "Movies", [PLEX_ROOT])
        data_dir = tmp_path / "data"
        data_dir.mkdir(mode=0o700)
        yield Env(plex, stash, data_dir, FakeClock(NOW.timestamp()))


def test_scopes_pick_exactly_the_scenes_created_or_updated_inside_their_window(env: Env) -> None:
    day, hour = timedelta(days=1), timedelta(hours=1)
    old = env.scene("old", 30 * day)
    touched = env.scene("touched", 30 * day, updated=2 * hour)
    three_days = env.scene("three-days", 3 * day)
    ten_hours = env.scene("ten-hours", 10 * hour)
    six_days = env.scene("six-days", 8 * day, updated=6 * day)
    yesterday = env.scene("yesterday", 25 * hour)
    expected = {
        Scope.DAY: {touched, ten_hours},
        Scope.WEEK: {touched, three_days, ten_hours, six_days, yesterday},
        Scope.ALL: {old, touched, three_days, ten_hours, six_days, yesterday},
    }
    for scope, scenes in expected.items():
        result = reconcile(env.ctx(), scope, Trigger.TASK)
        assert result.scanned == len(scenes), scope
        assert env.queued() == scenes, scope
        assert result.gaps["empty"] == len(scenes)
        queue = JobQueue.open(str(env.data_dir), clock=env.clock)
        queue.clear_pending()
        queue.close()


def test_auto_reconcile_fires_on_the_interval_and_at_start_up_and_not_otherwise(
    env: Env, monkeypatch: pytest.MonkeyPatch,
) -> None:
    env.scene("a", timedelta(days=30))
    hour = 3600.0
    armed: list[float] = []
    monkeypatch.setattr(timer_arm, "arm_quietly", lambda data_dir, at, conn, enabled: (
        armed.append(at)))

    def tick(hours: float, parent: int, **settings: Any) -> bool:
        env.clock.now += hours * hour
        before = len(env.runs())
        auto_reconcile(env.ctx(**{"reconcile_interval": "daily", **settings}), parent_pid=parent)
        return len(env.runs()) > before

    assert tick(0, parent=100)                      # no run yet: the first one
    assert env.runs()[0]["trigger"] == "auto" and env.runs()[0]["scope"] == "24h"
    assert not tick(0.5, parent=100)                # same Stash, within the day
    assert not tick(0, parent=200)                  # Stash restarted, but the last run is fresh
    assert not tick(2, parent=200)                  # 2.5 h later, no restart since: not due
    assert tick(0, parent=300)                      # a restart, last run over an hour ago
    assert not tick(23, parent=300)                 # 23 h after that run: not yet
    assert tick(1, parent=300)                      # 24 h: the interval
    # the wake-up timer is armed for the next run, and told so through the queue meta
    assert armed[-1] == env.clock.now + 24 * hour == float(env.meta()[RECONCILE_DUE_KEY])
    assert not tick(1, parent=300)
    assert armed[-1] == env.clock.now + 23 * hour
    assert not tick(100, parent=400, reconcile_interval="never")   # never: not even start-up
    assert RECONCILE_DUE_KEY not in env.meta()      # and the timer no longer wakes for it


def test_a_command_line_run_from_cron_is_never_a_start_up(
        env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    """A shell or cron runs each task under a new parent: read as Stash restarting, every run
    more than an hour after the last would reconcile."""
    monkeypatch.setattr(timer_arm, "arm_quietly", lambda data_dir, at, conn, enabled: None)
    env.scene("a", timedelta(days=30))
    auto_reconcile(env.ctx(reconcile_interval="daily"), parent_pid=100)   # the first run
    for _ in range(3):
        env.clock.now += 2 * 3600
        assert auto_reconcile(env.ctx(started_by_stash=False, reconcile_interval="daily")) is None
    assert len(env.runs()) == 1
    assert env.meta()[auto.PARENT_KEY] == "100"     # Stash's parent is still the one noted


def test_a_second_reconciliation_while_one_runs_leaves_it_alone(env: Env) -> None:
    env.scene("a", timedelta(days=30))
    held = filelock.FileLock(os.path.join(env.data_dir, LOCK_NAME))
    with held.acquire(timeout=0):
        result = reconcile(env.ctx(), Scope.ALL, Trigger.TASK)
    assert result.skipped and result.scanned == 0 and env.runs() == [] and env.queued() == set()
    assert env.plex.count() == 0


def test_runs_are_recorded_and_shown_in_the_status_json(env: Env) -> None:
    env.scene("a", timedelta(days=30))
    env.scene("b", timedelta(days=30))
    assert reconciliation_line(env) == "Reconciliation: no run yet."
    reconcile(env.ctx(), Scope.ALL, Trigger.TASK)
    assert reconciliation_line(env).startswith(
        "Last reconciliation: 2026-03-10T12:00:00+00:00 (all, task): scanned 2, gaps stale 0, "
        "empty 2, missing 0; enqueued 2;")
    status = run_queue_status(env.ctx())["reconcile"]
    assert status["last_run_at"] == NOW.isoformat(timespec="seconds")
    assert status["gaps_by_type"] == {"stale": 0, "empty": 2, "missing": 0}
    [run] = status["history"]
    assert (run["scope"], run["trigger"], run["scanned"], run["enqueued"]) == ("all", "task", 2, 2)
    assert run["seconds"] >= 0


def test_plex_requests_are_the_listing_pages_when_the_library_is_in_step(env: Env) -> None:
    for i in range(5):
        env.scene(f"s{i}", timedelta(days=30))
    reconcile(env.ctx(), Scope.ALL, Trigger.TASK)   # queues all five (Plex lacks titles)
    env.plex.clear_requests()
    result = reconcile(env.ctx(), Scope.ALL, Trigger.TASK)
    assert result.already_queued == 5
    listings = env.plex.count("GET", "/library/sections/1/all")
    assert listings == result.listing_pages == 1
    assert env.plex.count() == listings + 2      # + GET / and GET /library/sections


def test_a_synced_scene_whose_file_left_every_library_is_no_gap_on_the_next_pass(
        env: Env) -> None:
    """The user moved a synced scene's file to a folder Plex does not cover: the sync calls it
    out of scope. A second reconciliation must not find it stale again (and again...)."""
    sid = env.scene("moved", timedelta(days=30))
    reconcile(env.ctx(), Scope.ALL, Trigger.TASK)
    run_process_queue(env.ctx())
    assert env.queued() == set()
    env.stash.update_scene(sid, files=[{"path": "/private/renamed.mp4", "size": 10,
                                        "duration": 1.0}])
    first = reconcile(env.ctx(), Scope.ALL, Trigger.TASK)
    run_process_queue(env.ctx())
    second = reconcile(env.ctx(), Scope.ALL, Trigger.TASK)
    assert (first.enqueued, second.enqueued) == (0, 0), dict(second.gaps)
    assert first.out_of_scope == second.out_of_scope == 1


def test_scenes_queued_before_a_run_fails_get_the_wake_up_timer(
        env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    """Plex goes away halfway: the pages already queued stay queued (by design), and the
    timer is armed for them, so they do not wait for the next edit."""
    from plexsync.errors import PlexServerDown
    from plexsync.plex.client import PlexClient
    from plexsync.reconcile import engine
    from plexsync.tasks.reconcile import run_reconcile_all

    env.scene("a", timedelta(days=30))             # page 1: an empty gap, queued
    from testkit.plex_state import TAG_KINDS

    tagged = env.stash.add_tag("t")                # page 2: its tags need the full item
    env.stash.add_scene(title="Title b", tag_ids=[tagged],
                        files=[{"path": f"{STASH_ROOT}/folder/b.mp4", "size": 10,
                                "duration": 1.0}], created_at=NOW - timedelta(days=30))
    tags: dict[str, list[str]] = {kind: [] for kind in TAG_KINDS} | {"genre": ["x", "y", "z"]}
    env.plex.add_item(1, f"{PLEX_ROOT}/folder/b.mp4", size=10, duration_ms=1000,
                      title="Title b", tags=tags, poster=b"a poster")
    monkeypatch.setattr(engine, "PER_PAGE", 1)

    def down(self: PlexClient, rating_key: int) -> None:
        raise PlexServerDown("Plex stopped answering")

    monkeypatch.setattr(PlexClient, "fetch_item", down)
    armed: list[float] = []
    monkeypatch.setattr(timer_arm, "arm_quietly", lambda data_dir, at, conn, enabled: (
        armed.append(at)))
    with pytest.raises(PlexServerDown):
        run_reconcile_all(env.ctx())
    assert len(env.queued()) == 1
    assert armed, "queued work with no drain and no timer"
