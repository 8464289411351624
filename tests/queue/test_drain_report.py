"""The drain's listener seam (drain_report.py): what a drain reports, and to whom."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from plexsync.errors import LowConfidence, PlexServerDown
from plexsync.queue.backoff import Backoff
from plexsync.queue.drain import Drain
from plexsync.queue.drain_report import StopReason
from plexsync.queue.job_queue import Applied, AppliedAction, JobQueue
from plexsync.queue.model import Job, Outcome, OutcomeKind
from plexsync.queue.sqlite_store import SQLiteStore
from tests.helpers import FakeClock, ScriptedProcessor, captured_log, lines


class Recorder:
    """A `DrainListener` that only remembers the events, in order."""

    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []

    def on_busy(self) -> None:
        self.events.append(("busy",))

    def on_orphans(self, count: int) -> None:
        self.events.append(("orphans", count))

    def on_claimed(self, count: int) -> None:
        self.events.append(("claimed", count))

    def on_dropped(self, count: int) -> None:
        self.events.append(("dropped", count))

    def on_batch(self, size: int) -> None:
        self.events.append(("batch", size))

    def on_outcome(self, outcome: Outcome, applied: Applied) -> None:
        self.events.append(("outcome", outcome.job.scene_id, applied.action))

    def on_released(self, count: int) -> None:
        self.events.append(("released", count))

    def on_given_back(self, count: int) -> None:
        self.events.append(("given_back", count))

    def on_give_back_failed(self, count: int, error: Exception) -> None:
        self.events.append(("give_back_failed", count))

    def on_stray_outcome(self, job_id: int) -> None:
        self.events.append(("stray", job_id))

    def on_processor_bug(self, error: BaseException) -> None:
        self.events.append(("bug", type(error).__name__))

    def on_heartbeat_stuck(self, error: Exception) -> None:
        self.events.append(("heartbeat_stuck",))

    def on_stop(self, reason: StopReason, seconds: float, outage: str) -> dict[str, Any]:
        self.events.append(("stop", reason, outage))
        return {"stopped": reason.value}


def drain(tmp_path: Path, listener: Recorder, processor: ScriptedProcessor,
          scenes: list[int]) -> tuple[dict[str, Any], JobQueue]:
    clock = FakeClock()
    queue = JobQueue(SQLiteStore(str(tmp_path / "q.db")), clock=clock,
                     backoff=Backoff(max_retries=3, rng=lambda: 0.5))
    for scene in scenes:
        queue.enqueue(scene)
    out = Drain(queue, lambda: processor, lock_path=str(tmp_path / "drain.lock"),
                clock=clock, sleep=clock.sleep, listener=listener).run()
    return out, queue


def test_a_listener_hears_each_outcome_as_applied_and_the_stop_and_nothing_is_logged(
        tmp_path: Path) -> None:
    def dead(job: Job) -> Outcome:
        return Outcome(job, OutcomeKind.FAILED, error=LowConfidence("two candidates"))

    listener = Recorder()
    with captured_log() as stream:
        out, queue = drain(tmp_path, listener, ScriptedProcessor({2: dead}), [1, 2, 3])
    queue.close()
    assert out == {"stopped": "empty"}    # the task's output is what the listener returns
    assert listener.events == [
        ("claimed", 3), ("batch", 3),
        ("outcome", 1, AppliedAction.DONE), ("outcome", 2, AppliedAction.DEAD),
        ("outcome", 3, AppliedAction.DONE), ("stop", StopReason.EMPTY, ""),
    ]
    assert lines(stream, "i") == [] and lines(stream, "w") == []


def test_an_outage_releases_the_rest_and_stops_with_its_reason(tmp_path: Path) -> None:
    class Down(ScriptedProcessor):
        def process(self, batch: Any) -> Any:
            raise PlexServerDown("connection refused")

    listener = Recorder()
    out, queue = drain(tmp_path, listener, Down(), [1, 2])
    queue.close()
    assert out == {"stopped": "plex_down"}
    assert listener.events[-2:] == [("released", 2),
                                    ("stop", StopReason.PLEX_DOWN, "connection refused")]
