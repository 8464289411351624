"""The drain under trouble: a job whose Plex request keeps failing while Plex answers, a real
Plex outage, and the queue database failing mid-batch. Scripted processors, fake clock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from plexsync.errors import PlexServerDown
from plexsync.queue.backoff import Backoff
from plexsync.queue.drain import Drain
from plexsync.queue.job_queue import JobQueue
from plexsync.queue.model import Job, JobState, Outcome, Processor
from plexsync.queue.sqlite_db import StoreError
from tests.helpers import (
    FakeClock,
    ScriptedProcessor,
    captured_log,
    failed,
    lines,
    synced,
)

LOCKED = "the queue database q.db stayed locked for too long (database is locked)"


class World:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.clock = FakeClock()
        self.queue = JobQueue(str(tmp / "q.db"), clock=self.clock,
                              backoff=Backoff(max_retries=3, rng=lambda: 0.5))
        self.progress: list[float] = []

    def drain(self, processor: Processor, **kwargs: Any) -> Drain:
        return Drain(self.queue, lambda: processor, lock_path=str(self.tmp / "drain.lock"),
                     clock=self.clock, sleep=self.clock.sleep, progress=self.progress.append,
                     **kwargs)

    def fill(self, scenes: range | list[int]) -> None:
        for scene in scenes:
            self.queue.enqueue(scene)
            self.clock.advance(1)   # each job is queued after the one before

    def job(self, scene: int) -> Job:
        job = self.queue.job(scene)
        assert job is not None
        return job


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    w = World(tmp_path)
    yield w
    w.queue.close()


def fail_call(obj: object, name: str, monkeypatch: pytest.MonkeyPatch,
              when: Callable[[int], bool]) -> list[int]:
    """Make `obj.name` raise a StoreError on the calls `when(n)` selects (n counts from 1)."""
    original = getattr(obj, name)
    calls: list[int] = []

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        calls.append(len(calls) + 1)
        if when(len(calls)):
            raise StoreError(LOCKED)
        return original(*args, **kwargs)

    monkeypatch.setattr(obj, name, wrapper)
    return calls


# ---------------------------------------------------------------------- one failing job


def lone_timeout(job: Job) -> Outcome:
    return failed(job, PlexServerDown(
        "Plex did not answer PUT /library/sections/1/all in time (timeout).", outage=False))


def test_a_job_whose_request_fails_while_plex_answers_does_not_stop_the_batch(
        world: World) -> None:
    world.fill([1, 2, 3])
    with captured_log():
        out = world.drain(ScriptedProcessor({1: lone_timeout})).run()
    assert out["stopped"] == "empty" and out["synced"] == 2 and out["retried"] == 1
    job = world.job(1)
    assert job.state is JobState.RETRYING and job.attempts == 1


def test_such_a_job_is_dead_lettered_as_plex_server_down_after_max_retries(
        world: World) -> None:
    world.fill([1, 2])
    processor = ScriptedProcessor({1: lone_timeout})
    for _ in range(6):          # its retries are minutes apart: later drains take them
        with captured_log():
            world.drain(processor).run()
        world.clock.advance(1800)
    [dead] = world.queue.dlq_entries()
    assert dead.scene_id == 1 and dead.error_class == "PlexServerDown" and dead.attempts == 4
    assert processor.seen.count(1) == 4 and processor.seen.count(2) == 1


# ---------------------------------------------------------------------- a real outage


def outage_at(scene: int, tried: list[int] | None = None) -> Callable[[Job], Outcome]:
    def script(job: Job) -> Outcome:
        if tried is not None:
            tried.append(job.scene_id)
        if job.scene_id == scene:
            raise PlexServerDown("cannot connect to Plex for GET /; is Plex running?")
        return synced(job)

    return script


def test_an_outage_releases_the_batch_uncounted_and_says_how_many_jobs_wait(
        world: World) -> None:
    world.fill(range(1, 31))
    with captured_log() as stream:
        out = world.drain(ScriptedProcessor(default=outage_at(3))).run()
    assert out["stopped"] == "plex_down" and out["synced"] == 2 and out["released"] == 23
    assert all(world.job(s).attempts == 0 for s in range(3, 31))
    warnings = [ln for ln in lines(stream, "w") if "Plex unreachable" in ln]
    assert len(warnings) == 1
    assert warnings[0].startswith("Plex unreachable; 28 jobs wait for the next run")
    assert "cannot connect to Plex" in warnings[0]


def test_jobs_released_for_an_outage_keep_their_place_in_line(world: World) -> None:
    world.fill(range(1, 31))
    queued_at = {s: world.job(s).not_before for s in range(1, 31)}
    with captured_log():
        world.drain(ScriptedProcessor(default=outage_at(3))).run()
    assert all(world.job(s).not_before == queued_at[s] for s in range(3, 26))
    world.clock.advance(3600)
    world.fill([99])                              # queued during the outage
    processor = ScriptedProcessor()
    with captured_log():
        world.drain(processor).run()
    assert processor.batches[0] == list(range(3, 28))
    assert processor.seen[-1] == 99


def test_a_drain_during_an_outage_asks_plex_once_and_stops(world: World) -> None:
    world.fill([1, 2, 3])
    tried: list[int] = []
    processor = ScriptedProcessor(default=outage_at(1, tried))
    with captured_log():
        for _ in range(3):
            world.clock.advance(60)
            assert world.drain(processor).run()["stopped"] == "plex_down"
    assert tried == [1, 1, 1]
    assert world.queue.dlq_entries() == [] and world.job(1).attempts == 0


# ---------------------------------------------------------------------- the queue fails


def slow(world: World) -> Callable[[Job], None]:
    return lambda job: world.clock.advance(31)   # each job outlasts the heartbeat interval


def test_a_store_error_renewing_leases_stops_the_drain_without_failing_any_job(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    world.fill(range(1, 6))
    fail_call(world.queue, "renew", monkeypatch, when=lambda n: n == 2)
    with captured_log(), pytest.raises(StoreError, match="stayed locked"):
        world.drain(ScriptedProcessor(before_each=slow(world))).run()
    assert world.queue.dlq_entries() == []
    counts = world.queue.counts()
    assert counts["synced"] == 1 and counts["pending"] == 4 and counts["in_progress"] == 0
    assert all(world.job(s).attempts == 0 for s in range(2, 6))
    monkeypatch.undo()
    with captured_log():
        assert world.drain(ScriptedProcessor()).run()["synced"] == 4


def test_a_store_error_applying_an_outcome_stops_the_drain_without_failing_any_job(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    world.fill(range(1, 6))
    fail_call(world.queue, "apply", monkeypatch, when=lambda n: n == 2)
    with captured_log(), pytest.raises(StoreError):
        world.drain(ScriptedProcessor()).run()
    assert world.queue.dlq_entries() == []
    assert world.queue.counts()["in_progress"] == 0
    assert all(world.job(s).state is JobState.PENDING for s in range(2, 6))


def test_when_even_giving_jobs_back_fails_the_next_drain_takes_them_at_once(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    world.fill(range(1, 4))
    fail_call(world.queue, "apply", monkeypatch, when=lambda n: n >= 2)
    fail_call(world.queue, "release", monkeypatch, when=lambda n: True)
    with captured_log(), pytest.raises(StoreError):
        world.drain(ScriptedProcessor()).run()
    monkeypatch.undo()
    assert world.queue.dlq_entries() == [] and world.queue.counts()["in_progress"] == 2
    with captured_log():
        out = world.drain(ScriptedProcessor()).run()
    assert out["synced"] == 2 and world.queue.counts()["synced"] == 3


def test_a_store_error_the_processor_raises_still_fails_its_jobs(world: World) -> None:
    world.fill([1, 2])

    def broken(job: Job) -> Outcome:
        raise StoreError("the processor's own cache database is unusable")

    with captured_log():
        out = world.drain(ScriptedProcessor(default=broken)).run()
    assert out["dead_lettered"] == 2   # StoreError is a PlexSyncError of class Internal


# ---------------------------------------------------------------------- cheap progress


def test_progress_does_not_count_the_whole_queue_for_every_batch(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    world.fill(range(1, 101))
    calls = fail_call(world.queue, "counts", monkeypatch, when=lambda n: False)
    with captured_log():
        out = world.drain(ScriptedProcessor()).run()
    assert out["synced"] == 100
    assert len(calls) <= 2          # once for progress, once for the summary (not per batch)
    assert world.progress[0] == pytest.approx(0.01)
    assert world.progress == sorted(world.progress) and world.progress[-1] == 1.0
