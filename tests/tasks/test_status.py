"""View Queue Status: the status JSON and its summary lines."""

from __future__ import annotations

from pathlib import Path

from plexsync.errors import LowConfidence
from plexsync.queue.job_queue import JobQueue
from plexsync.tasks.status import run_queue_status
from tests.helpers import FakeClock, captured_log, lines
from tests.tasks.conftest import context, dead_letter


def test_queue_status_reports_every_spec_key_with_honest_empty_subsystems(
        tmp_path: Path, clock: FakeClock, queue: JobQueue) -> None:
    queue.enqueue(1)
    dead_letter(queue, 2, LowConfidence("x"))
    with captured_log():
        status = run_queue_status(context(tmp_path, clock))
    assert {"pending", "in_progress", "retrying", "dlq", "dlq_by_error", "synced",
            "out_of_scope", "circuit", "last_sync_at", "reconcile", "outages",
            "stats"} <= set(status)
    assert status["pending"] == 1 and status["dlq_by_error"] == {"LowConfidence": 1}
    assert status["circuit"] == "closed"
    assert status["reconcile"] == {"last_run_at": None, "history": [], "gaps_by_type": {}}
    assert status["outages"] == {"count": 0, "mttr_s": None, "mtbf_s": None,
                                 "availability": None, "ongoing": None}
    assert {"processed", "succeeded", "failed", "dead_lettered", "by_confidence",
            "avg_seconds"} <= set(status["stats"])


def test_queue_status_logs_a_readable_summary(tmp_path: Path, clock: FakeClock,
                                              queue: JobQueue) -> None:
    queue.enqueue(1)
    with captured_log() as stream:
        run_queue_status(context(tmp_path, clock))
    text = lines(stream, "i")
    assert len(text) >= 4
    assert text[0].startswith("Queue: 1 pending, 0 in progress, 0 waiting to retry")


