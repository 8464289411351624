"""The drain's side of the drain markers (drain_markers.py)."""

from __future__ import annotations

from plexsync.errors import StashError
from plexsync.queue import markers
from plexsync.queue.job_queue import JobQueue
from plexsync.queue.markers import DrainState
from tests.helpers import OWNER, FakeClock, claim_one, failed


def test_finish_keeps_running_while_a_job_is_due(queue: JobQueue) -> None:
    queue.markers.begin(OWNER)
    queue.enqueue(1)
    assert queue.markers.finish(OWNER) is False
    assert queue.markers.state() is DrainState.RUNNING


def test_finish_clears_the_heartbeat_when_nothing_is_due(
        queue: JobQueue, clock: FakeClock) -> None:
    queue.update_meta(lambda m, d: {markers.SCHEDULED_AT: f"{clock():.6f} 1"})
    assert queue.markers.state() is DrainState.SCHEDULED
    queue.markers.begin(OWNER)
    assert queue.markers.state() is DrainState.RUNNING
    queue.enqueue(1)
    queue.apply(failed(claim_one(queue), StashError("x")), OWNER)  # due later, not now
    assert queue.markers.finish(OWNER) is True
    assert queue.markers.state() is DrainState.IDLE


def test_a_stale_heartbeat_or_request_counts_as_no_drain(
        queue: JobQueue, clock: FakeClock) -> None:
    queue.markers.begin(OWNER)
    clock.advance(markers.RUNNING_FRESH + 1)
    assert queue.markers.state() is DrainState.IDLE
    queue.update_meta(lambda m, d: {markers.SCHEDULED_AT: f"{clock():.6f} 1"})
    clock.advance(markers.SCHEDULED_FRESH + 1)
    assert queue.markers.state() is DrainState.IDLE


def test_an_early_stop_clears_only_our_own_heartbeat(queue: JobQueue) -> None:
    queue.markers.begin("newer-drain")
    queue.markers.end(OWNER)          # a drain that lost the lock to a newer one
    assert queue.markers.state() is DrainState.RUNNING
    queue.markers.end("newer-drain")
    assert queue.markers.state() is DrainState.IDLE


def test_beginning_fulfils_the_drain_request(queue: JobQueue, clock: FakeClock) -> None:
    queue.update_meta(lambda m, d: {markers.SCHEDULED_AT: f"{clock():.6f} 1"})
    queue.markers.begin(OWNER)
    assert markers.SCHEDULED_AT not in queue.read_meta()
    assert queue.read_meta()[markers.DRAIN_OWNER] == OWNER


def test_a_heartbeat_whose_pid_cannot_be_checked_counts_as_alive_while_fresh() -> None:
    now = 1000.0
    for pid in ("0", "-3", str(2**70), "x"):   # no such pid to signal, or not a pid at all
        meta = {markers.HEARTBEAT_AT: f"{now:.6f} {pid}"}
        assert markers.drain_state(meta, now + 1) is DrainState.RUNNING
        assert markers.drain_state(meta, now + markers.RUNNING_FRESH) is DrainState.IDLE
