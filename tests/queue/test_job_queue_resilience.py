"""Queue behaviour behind drain resilience:
a per-request PlexServerDown (Plex itself answers) gets limited retries, a released job keeps
its place in line, and the drain's frequent questions are cheap reads."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from plexsync.errors import ErrorClass, PlexServerDown, StashError
from plexsync.plex.errors import translate
from plexsync.queue import markers
from plexsync.queue.backoff import LONE_FAILURE, Backoff
from plexsync.queue.enums import SettleAction
from plexsync.queue.job_queue import JobQueue
from plexsync.queue.model import JobState
from plexsync.queue.sqlite_db import StoreError
from plexsync.tasks import args
from tests.helpers import LEASE, OWNER, FakeClock, claim_one, failed


def not_an_outage(message: str = "Plex did not answer PUT /library/sections/1/all in time "
                                 "(timeout).") -> PlexServerDown:
    return PlexServerDown(message, outage=False)


# ---------------------------------------------------------------------- the error and backoff


def test_plex_server_down_is_an_outage_unless_marked_otherwise() -> None:
    assert PlexServerDown("down").outage is True
    assert not_an_outage().outage is False
    assert not_an_outage().error_class is ErrorClass.PLEX_SERVER_DOWN
    assert StashError("x").outage is False


def test_a_translated_request_failure_starts_out_as_an_outage() -> None:
    import requests

    error = translate(requests.exceptions.ReadTimeout("slow"), "PUT /x", PlexServerDown)
    assert isinstance(error, PlexServerDown) and error.outage is True


def test_backoff_retries_an_outage_without_limit_but_a_lone_failure_max_retries_times() -> None:
    backoff = Backoff(max_retries=3, rng=lambda: 1.0)
    assert backoff.retry_delay(ErrorClass.PLEX_SERVER_DOWN, 10_000) is not None
    assert backoff.limit(ErrorClass.PLEX_SERVER_DOWN, outage=False) == 3
    delays = [backoff.retry_delay(ErrorClass.PLEX_SERVER_DOWN, n, outage=False)
              for n in range(1, 5)]
    assert delays == [LONE_FAILURE.base * 2**n for n in range(3)] + [None]   # 60, 120, 240 s


def test_a_lone_failure_changes_nothing_for_classes_that_already_have_a_limit() -> None:
    backoff = Backoff(max_retries=3, rng=lambda: 0.5)
    for error_class in ErrorClass:
        if error_class is not ErrorClass.PLEX_SERVER_DOWN:
            assert backoff.policy(error_class, outage=False) == backoff.policy(error_class)


# ---------------------------------------------------------------------- apply


def test_a_request_failure_while_plex_answers_is_retried_max_retries_times_then_dead(
        queue: JobQueue, clock: FakeClock) -> None:
    queue.enqueue(1)
    actions = []
    for _ in range(4):
        clock.advance(1000)
        actions.append(queue.apply(failed(claim_one(queue), not_an_outage()), OWNER).action)
    assert actions == [SettleAction.RETRY] * 3 + [SettleAction.DEAD]
    [dead] = queue.dlq_entries()
    assert dead.error_class == "PlexServerDown" and dead.attempts == 4
    assert "timeout" in dead.message


def test_recover_dlq_by_default_takes_back_those_dead_letters(
        queue: JobQueue, clock: FakeClock) -> None:
    queue.enqueue(1)
    for _ in range(4):
        clock.advance(1000)
        queue.apply(failed(claim_one(queue), not_an_outage()), OWNER)
    assert queue.requeue_dlq(args.parse_error_types(None)) == 1
    job = queue.job(1)
    assert job is not None and job.attempts == 0 and queue.dlq_entries() == []


def test_an_outage_between_lone_failures_costs_the_job_no_attempt(
        queue: JobQueue, clock: FakeClock) -> None:
    queue.enqueue(1)
    queue.apply(failed(claim_one(queue), not_an_outage()), OWNER)
    clock.advance(1000)
    queue.release([claim_one(queue)], OWNER)          # the drain stopped for an outage
    job = queue.job(1)
    assert job is not None and job.attempts == 1 and job.state is JobState.RETRYING


# ---------------------------------------------------------------------- release keeps place


def test_a_released_job_keeps_its_place_in_line(queue: JobQueue, clock: FakeClock) -> None:
    for scene in (1, 2, 3):
        queue.enqueue(scene)
        clock.advance(10)
    first = claim_one(queue)
    clock.advance(100)
    assert queue.release([first], OWNER) == 1
    released = queue.job(1)
    assert released is not None and released.not_before == first.not_before
    assert released.state is JobState.PENDING and released.attempts == 0
    assert [j.scene_id for j in queue.claim(3, LEASE, OWNER)] == [1, 2, 3]


def test_a_release_with_a_delay_still_postpones(queue: JobQueue, clock: FakeClock) -> None:
    queue.enqueue(1)
    assert queue.release([claim_one(queue)], OWNER, delay=30) == 1
    job = queue.job(1)
    assert job is not None and job.not_before == clock() + 30


# ---------------------------------------------------------------------- cheap reads


class _NoCounts(JobQueue):
    """The queue, but any call of `counts` or `update_meta` fails the test."""

    def counts(self) -> dict[str, Any]:
        raise AssertionError("counts() called")

    def update_meta(self, fn: Any) -> dict[str, str]:
        raise AssertionError("update_meta() called")


def test_next_due_at_asks_one_question_not_the_whole_status(
        tmp_path: Path, clock: FakeClock) -> None:
    full = JobQueue(str(tmp_path / "q.db"), clock=clock, backoff=Backoff(rng=lambda: 0.5))
    lean = _NoCounts(str(tmp_path / "q.db"), clock=clock)
    assert lean.next_due_at() is None
    full.enqueue(1)
    clock.advance(5)
    full.enqueue(2)
    assert lean.next_due_at() == full.counts()["next_due_at"] == clock() - 5
    full.apply(failed(claim_one(full), StashError("x")), OWNER)   # 1 retries later
    assert lean.next_due_at() == full.counts()["next_due_at"] == clock()
    claim_one(full)                                                  # 2 is leased
    assert lean.next_due_at() == full.counts()["next_due_at"]
    full.close()
    lean.close()


def test_drain_state_is_read_without_writing(tmp_path: Path, clock: FakeClock) -> None:
    full = JobQueue(str(tmp_path / "q.db"), clock=clock)
    lean = _NoCounts(str(tmp_path / "q.db"), clock=clock)
    assert lean.markers.state() == "idle"
    full.markers.begin(OWNER)
    assert lean.markers.state() == "running"
    full.update_meta(lambda meta, due: {markers.HEARTBEAT_AT: None,
                                        markers.SCHEDULED_AT: f"{clock():.6f} 1"})
    assert lean.markers.state() == "scheduled"
    full.close()
    lean.close()


def test_drain_state_and_next_due_answer_while_another_process_holds_the_write_lock(
        tmp_path: Path, clock: FakeClock) -> None:
    db = str(tmp_path / "q.db")
    setup = JobQueue(db, clock=clock)
    setup.enqueue(1)
    setup.markers.begin(OWNER)
    setup.close()
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    queue = JobQueue(db, busy_timeout=0.01, retries=0, clock=clock)
    try:
        assert queue.markers.state() == "running"
        assert queue.next_due_at() == clock()
        with pytest.raises(StoreError):   # a write still waits for the lock, as it must
            queue.enqueue(2)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        queue.close()
