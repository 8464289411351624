"""What a drain reports (drain_report.py): counters, one line per outcome, the summary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from plexsync.errors import LowConfidence, PlexAuth, PlexServerDown
from plexsync.queue.backoff import Backoff
from plexsync.queue.drain import Drain
from plexsync.queue.drain_report import DrainReport
from plexsync.queue.enums import JobSource, JobState, SettleAction
from plexsync.queue.job_queue import JobQueue
from plexsync.queue.model import Applied, Job, Outcome, OutcomeKind
from tests.helpers import FakeClock, ScriptedProcessor, captured_log, failed, lines, record


def drain(tmp_path: Path, processor: ScriptedProcessor,
          scenes: list[int]) -> tuple[dict[str, Any], JobQueue]:
    clock = FakeClock()
    queue = JobQueue(str(tmp_path / "q.db"), clock=clock,
                     backoff=Backoff(max_retries=3, rng=lambda: 0.5))
    for scene in scenes:
        queue.enqueue(scene)
    out = Drain(queue, lambda: processor, lock_path=str(tmp_path / "drain.lock"),
                clock=clock, sleep=clock.sleep, progress=lambda p: None).run()
    return out, queue


def test_each_outcome_is_counted_as_applied_and_logged_once_then_summed_up(
        tmp_path: Path) -> None:
    def dead(job: Job) -> Outcome:
        return Outcome(job, OutcomeKind.FAILED, error=LowConfidence("two candidates"))

    with captured_log() as stream:
        out, queue = drain(tmp_path, ScriptedProcessor({2: dead}), [1, 2, 3])
    queue.close()
    assert (out["stopped"], out["synced"], out["dead_lettered"], out["retried"]) == (
        "empty", 2, 1, 0)
    infos = lines(stream, "i")
    assert [line.split(" →")[0] for line in infos[:-1]] == ["scene 1", "scene 3"]
    assert lines(stream, "w") == ["scene 2 → dead-lettered: LowConfidence two candidates"]
    assert infos[-1].startswith("Process Queue finished in ") and "(queue empty)" in infos[-1]


def test_an_outage_releases_the_rest_and_stops_with_its_reason(tmp_path: Path) -> None:
    class Down(ScriptedProcessor):
        def process(self, batch: Any) -> Any:
            raise PlexServerDown("connection refused")

    with captured_log() as stream:
        out, queue = drain(tmp_path, Down(), [1, 2])
    queue.close()
    assert (out["stopped"], out["released"], out["pending"]) == ("plex_down", 2, 2)
    assert lines(stream, "w") == [
        "Plex unreachable; 2 jobs wait for the next run (connection refused)."]


def test_each_kind_of_outcome_gets_its_one_line_and_its_counter(tmp_path: Path) -> None:
    clock = FakeClock()
    queue = JobQueue(str(tmp_path / "q.db"), clock=clock)
    report = DrainReport(queue, clock, progress=lambda p: None)
    job = Job(id=1, scene_id=7, state=JobState.IN_PROGRESS, source=JobSource.HOOK,
              event_at=0.0, enqueued_at=0.0, not_before=0.0)
    with captured_log() as stream:
        report.batch(5)
        report.outcome(Outcome(job, OutcomeKind.SYNCED, record=record(7)),
                       Applied(SettleAction.STALE))
        report.outcome(failed(job, PlexAuth("401")), Applied(SettleAction.RELEASED))
        report.outcome(Outcome(job, OutcomeKind.SYNCED, record=record(7),
                               warnings=("poster: 500",)), Applied(SettleAction.DONE))
        report.outcome(Outcome(job, OutcomeKind.UNCHANGED, record=record(7)),
                       Applied(SettleAction.DONE))
        report.outcome(Outcome(job, OutcomeKind.OUT_OF_SCOPE), Applied(SettleAction.OUT_OF_SCOPE))
    queue.close()
    assert lines(stream, "w") == [
        "scene 7 → synced, but its lease had expired; left to the newer claim.",
        "scene 7 → synced (ratingKey 1007, HIGH); warnings: poster: 500"]
    assert lines(stream, "i") == ["scene 7 → released: PlexAuth 401",
                                  "scene 7 → unchanged (ratingKey 1007)"]
    assert report.counts == {"stale": 1, "released": 1, "synced": 1, "unchanged": 1,
                             "out_of_scope": 1}
