"""The breaker inside a drain (OutageGuard) and at drain start (check_before_drain)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from plexsync.core.context import TaskContext
from plexsync.core.settings import Settings
from plexsync.errors import PlexAuth, PlexNotFound, PlexServerDown
from plexsync.queue.drain import Drain
from plexsync.queue.job_queue import JobQueue
from plexsync.queue.model import Job, Outcome
from plexsync.resilience import breaker as breaker_mod
from plexsync.resilience import gate
from plexsync.resilience.breaker import Breaker
from plexsync.resilience.probe import ProbeResult
from tests.helpers import FakeClock, ScriptedProcessor, captured_log, failed, lines, synced


def drain(tmp_path: Path, queue: JobQueue, clock: FakeClock, processor: ScriptedProcessor,
          guard: gate.OutageGuard) -> dict[str, object]:
    with captured_log():
        return Drain(queue, lambda: processor, lock_path=str(tmp_path / "drain.lock"),
                     clock=clock, sleep=clock.sleep, progress=lambda p: None,
                     guard=guard).run()


def ctx(tmp_path: Path, clock: FakeClock) -> TaskContext:
    return TaskContext(settings=Settings(plex_url="http://plex:32400"), data_dir=str(tmp_path),
                       stash=None, clock=clock, sleep=clock.sleep, progress=lambda p: None)


def down(job: Job) -> Outcome:
    raise PlexServerDown("connection refused")


def test_the_drain_goes_on_until_the_fifth_outage_failure_opens_the_breaker(
        tmp_path: Path, queue: JobQueue, clock: FakeClock) -> None:
    for scene in range(1, 11):
        queue.enqueue(scene)
    processor = ScriptedProcessor(default=down)
    b = Breaker(str(tmp_path))
    out = drain(tmp_path, queue, clock, processor, gate.OutageGuard(b, clock, clock.sleep))
    assert out["stopped"] == "plex_down"
    assert len(processor.batches) == breaker_mod.FAILURE_THRESHOLD
    state = b.peek(clock())
    assert state["state"] == "open" and state["jobs_affected"] == 10
    counts = queue.counts()
    assert (counts["pending"], counts["dlq"]) == (10, 0)
    assert all(queue.job(s).attempts == 0 for s in range(1, 11))  # type: ignore[union-attr]


def test_a_success_between_failures_resets_the_count(
        tmp_path: Path, queue: JobQueue, clock: FakeClock) -> None:
    b = Breaker(str(tmp_path))
    for _ in range(4):
        b.failure(clock())
    queue.enqueue(1)
    drain(tmp_path, queue, clock, ScriptedProcessor(), gate.OutageGuard(b, clock, clock.sleep))
    assert b.peek(clock())["failures"] == 0


def test_not_found_and_401_never_count(tmp_path: Path, queue: JobQueue,
                                       clock: FakeClock) -> None:
    b = Breaker(str(tmp_path))
    for scene in range(1, 8):
        queue.enqueue(scene)
    drain(tmp_path, queue, clock, ScriptedProcessor(
        default=lambda j: failed(j, PlexNotFound("no item yet"))),
        gate.OutageGuard(b, clock, clock.sleep))
    queue.enqueue(20)
    with pytest.raises(PlexAuth):
        drain(tmp_path, queue, clock, ScriptedProcessor(
            default=lambda j: failed(j, PlexAuth("401"))), gate.OutageGuard(b, clock, clock.sleep))
    state = b.peek(clock())
    assert state["state"] == "closed" and state["failures"] == 0


def recovered(tmp_path: Path, clock: FakeClock) -> Breaker:
    b = Breaker(str(tmp_path))
    for _ in range(5):
        b.failure(clock())
    assert b.begin_probe(clock() + 5)
    b.end_probe(clock() + 5, ok=True)
    clock.advance(5)
    return b


def test_after_a_recovery_jobs_that_send_plex_requests_are_paced_at_5_per_second(
        tmp_path: Path, queue: JobQueue, clock: FakeClock) -> None:
    from plexsync.plex import session

    b = recovered(tmp_path, clock)
    for scene in range(1, 22):
        queue.enqueue(scene)

    def one_request(job: Any) -> Any:
        session.SENT[0] += 1          # what PlexSession counts for one edit
        return synced(job, clock)
    processor = ScriptedProcessor(default=one_request)
    started = clock()
    drain(tmp_path, queue, clock, processor, gate.OutageGuard(b, clock, clock.sleep))
    assert len(processor.seen) == 21
    # ~0.19 s per job (5 → 5.3 jobs/s over these seconds of the ramp); none waits longer
    assert 3.6 <= clock() - started <= 4.2
    assert max(clock.sleeps) <= 0.2 + 1e-9


def test_after_a_recovery_jobs_that_send_plex_nothing_are_not_paced(
        tmp_path: Path, queue: JobQueue, clock: FakeClock) -> None:
    b = recovered(tmp_path, clock)
    for scene in range(1, 22):
        queue.enqueue(scene)
    processor = ScriptedProcessor(default=lambda j: synced(j, clock))
    drain(tmp_path, queue, clock, processor, gate.OutageGuard(b, clock, clock.sleep))
    assert len(processor.seen) == 21 and clock.sleeps == []


def test_no_pacing_without_a_recent_recovery(tmp_path: Path, queue: JobQueue,
                                             clock: FakeClock) -> None:
    for scene in range(1, 30):
        queue.enqueue(scene)
    drain(tmp_path, queue, clock, ScriptedProcessor(),
          gate.OutageGuard(Breaker(str(tmp_path)), clock, clock.sleep))
    assert clock.sleeps == []


def opened(tmp_path: Path, clock: FakeClock) -> Breaker:
    b = Breaker(str(tmp_path))
    for _ in range(5):
        b.failure(clock())
    return b


def test_a_drain_starting_before_the_probe_is_due_stops_with_one_line(
        tmp_path: Path, clock: FakeClock) -> None:
    b = opened(tmp_path, clock)
    calls: list[str] = []

    def prober(url: str) -> ProbeResult:
        calls.append(url)
        return ProbeResult(True, 200, "1", "")

    with captured_log() as stream:
        stop = gate.check_before_drain(ctx(tmp_path, clock), b, 12, prober=prober)
    assert stop is not None and stop["stopped"] == "circuit_open" and calls == []
    [line] = lines(stream, "w")
    assert "Plex is down since" in line and "next probe is due at" in line
    assert b.peek(clock())["jobs_affected"] == 12


def test_a_due_probe_that_answers_closes_the_breaker_and_lets_the_drain_run(
        tmp_path: Path, clock: FakeClock) -> None:
    b = opened(tmp_path, clock)
    clock.advance(5)
    with captured_log():
        stop = gate.check_before_drain(ctx(tmp_path, clock), b, 3,
                                       prober=lambda url: ProbeResult(True, 200, "1.40", ""))
    assert stop is None
    state = b.peek(clock())
    assert state["state"] == "closed" and len(state["outages"]) == 1


def test_a_due_probe_that_fails_doubles_the_wait(tmp_path: Path, clock: FakeClock) -> None:
    b = opened(tmp_path, clock)
    clock.advance(5)
    with captured_log():
        stop = gate.check_before_drain(ctx(tmp_path, clock), b, 3,
                                       prober=lambda url: ProbeResult(False, 0, "", "refused"))
    assert stop is not None
    assert b.peek(clock())["next_probe_at"] == clock() + 10
