"""All status output: View Queue Status (docs/tasks.md: the status JSON as task output, plus a
readable summary log), the PlexSync page's answer (`page_status`), and Outage Summary.

`circuit` and `outages` come from the breaker file (plexsync/resilience/): read without its
lock and never written here, so a status never waits for a drain; MTTR, MTBF and availability
are null until something was measured. `reconcile` shows the newest runs from the history
table (`gaps_by_type`: the last run's).

Outage Summary (`outage_summary`): the last 30 outages with MTTR, MTBF and availability, as
readable lines and as the task's JSON output.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from plexsync.core.log import log
from plexsync.playstate import status as play_status
from plexsync.queue.enums import OutcomeKind, SettleAction
from plexsync.queue.job_queue import JobQueue
from plexsync.queue.markers import drain_state
from plexsync.reconcile.gap_types import GapType
from plexsync.resilience import history as outage_history
from plexsync.resilience import state as breaker_state
from plexsync.timer.state import timer_status

# The page's status operation (tasks/page.py) polls this: standard library only at import time
# (no `typing`, no settings, no model's dataclasses), pinned by
# tests/tasks/test_page_import_budget.py.
TYPE_CHECKING = False  # mypy takes any name TYPE_CHECKING as true
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any

    from plexsync.core.context import TaskContext

HISTORY = 10
DLQ_NEWEST = 20
# The stats counters the status shows: outcome kinds and settle actions by their enum values.
COUNTERS = tuple(str(key) for key in (
    "succeeded", OutcomeKind.SYNCED, OutcomeKind.UNCHANGED, OutcomeKind.SKIPPED,
    OutcomeKind.OUT_OF_SCOPE, OutcomeKind.FAILED, SettleAction.RETRY, SettleAction.DEAD))


def iso(epoch: float | None) -> str | None:
    """Epoch seconds as ISO 8601 UTC (what status output shows), None stays None."""
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")


def queue_status(queue: JobQueue) -> dict[str, Any]:
    """The queue's numbers from one consistent read, as the status JSON shows them."""
    return queue_json(queue.counts())


def queue_json(counts: Mapping[str, Any]) -> dict[str, Any]:
    raw = counts["stats"]
    processed = int(raw.get("processed", 0))
    return {
        "pending": counts["pending"],
        "in_progress": counts["in_progress"],
        "retrying": counts["retrying"],
        "dlq": counts["dlq"],
        "dlq_by_error": dict(sorted(counts["dlq_by_error"].items())),
        "synced": counts["synced"],
        "out_of_scope": counts["out_of_scope"],
        # performers, tags, studios, groups renamed or deleted, not yet expanded into scenes
        "objects_pending": counts["objects_pending"],
        "last_sync_at": iso(counts["last_sync_at"]),
        "next_due_at": iso(counts["next_due_at"]),
        "stats": {
            "processed": processed,
            **{key: int(raw.get(key, 0)) for key in COUNTERS},
            "by_confidence": {key.split(".", 1)[1]: int(value)
                              for key, value in sorted(raw.items())
                              if key.startswith("confidence.")},
            "avg_seconds": round(raw.get("seconds", 0.0) / processed, 3)
            if processed else None,
        },
    }


def timer_json(data_dir: str | None, now: float) -> dict[str, Any] | None:
    """`{"armed_until": ISO time, "pid": int}` of the live wake-up timer, or None."""
    live = timer_status(data_dir, now) if data_dir else None
    if live is None:
        return None
    return {"armed_until": iso(live["armed_until"]), "pid": live["pid"]}


def outage_block(data_dir: str | None, now: float) -> tuple[str, dict[str, Any]]:
    """(circuit state, outage summary) from the breaker file (a damaged file reads closed)."""
    state = breaker_state.read(data_dir, now)[0] if data_dir else breaker_state.fresh(now)
    return str(state["state"]), outage_history.summary(state, now)


def read_status(queue: JobQueue, data_dir: str | None = None) -> dict[str, Any]:
    """The status JSON of docs/tasks.md (keys in the order it lists them, plus `drain` and
    `timer`), for View Queue Status and the PlexSync page alike."""
    clock = queue.clock
    q = queue_status(queue)
    runs = [{**run, "at": iso(run["started_at"])} for run in queue.reconcile_runs(HISTORY)]
    circuit, outages = outage_block(data_dir, clock())
    return {
        "pending": q["pending"],
        "in_progress": q["in_progress"],
        "retrying": q["retrying"],
        "dlq": q["dlq"],
        "dlq_by_error": q["dlq_by_error"],
        "synced": q["synced"],
        "out_of_scope": q["out_of_scope"],
        "objects_pending": q["objects_pending"],
        "circuit": circuit,
        "last_sync_at": q["last_sync_at"],
        "next_retry_at": q["next_due_at"],
        "drain": drain_state(queue.read_meta(), clock()).value,
        "timer": timer_json(data_dir, clock()),
        "reconcile": {"last_run_at": runs[0]["at"] if runs else None, "history": runs,
                      "gaps_by_type": {t.value: runs[0]["gaps"].get(t.value, 0) for t in GapType}
                      if runs else {}},
        "outages": {k: outages[k] for k in ("count", "mttr_s", "mtbf_s", "availability",
                                             "ongoing")},
        "stats": q["stats"],
        "play_import": play_status.status_block(queue.read_meta()),
    }


def page_status(data_dir: str, clock: Callable[[], float] = time.time) -> dict[str, Any]:
    """Everything the PlexSync page shows: the status JSON, the newest dead letters, the last
    30 outages and the last result of each task the page can start."""
    from plexsync.tasks.page import read_results

    queue = JobQueue.open(data_dir, clock=clock)
    try:
        status = read_status(queue, data_dir)
        newest = queue.newest_dead_letter_rows(DLQ_NEWEST)
    finally:
        queue.close()
    return {
        "status": status,
        "dlq_newest": [{**d, "last_failure_at": iso(d["last_failure_at"])} for d in newest],
        "outage_history": outage_block(data_dir, clock())[1]["history"],
        "results": read_results(data_dir),
        "generated_at": iso(clock()),
    }


def summary_lines(status: dict[str, Any]) -> list[str]:
    """A few human lines for the Stash log (the JSON is in the task output)."""
    stats = status["stats"]
    lines = [
        f"Queue: {status['pending']} pending, {status['in_progress']} in progress, "
        f"{status['retrying']} waiting to retry"
        + (f" (next at {status['next_retry_at']})" if status["next_retry_at"] else "")
        + f"; Process Queue is {status['drain']}"
        + (f"; the wake-up timer (pid {status['timer']['pid']}) asks for it at "
           f"{status['timer']['armed_until']}" if status.get("timer") else "") + ".",
        f"Dead-letter queue: {status['dlq']}"
        + (" (" + ", ".join(f"{k} {v}" for k, v in status["dlq_by_error"].items()) + ")"
           if status["dlq_by_error"] else "") + ".",
        f"Synced scenes: {status['synced']}"
        + (f", last at {status['last_sync_at']}" if status["last_sync_at"] else "")
        + f"; outside every Plex library: {status['out_of_scope']}.",
        f"Jobs processed: {stats['processed']} ({stats['succeeded']} succeeded, "
        f"{stats['skipped']} skipped, {stats['failed']} failed attempts, "
        f"{stats['dead_lettered']} dead-lettered)"
        + (f"; {stats['avg_seconds']:.2f} s per job on average" if stats["avg_seconds"] else "")
        + (("; confidence " + ", ".join(f"{k} {v}" for k, v in stats["by_confidence"].items()))
           if stats["by_confidence"] else "") + ".",
        f"Plex circuit: {status['circuit']}.",
    ]
    rec = status["reconcile"]
    if rec["history"]:
        last = rec["history"][0]
        lines.append(
            f"Last reconciliation: {rec['last_run_at']} ({last['scope']}, {last['trigger']}): "
            f"scanned {last['scanned']}, gaps "
            + ", ".join(f"{t.value} {rec['gaps_by_type'].get(t.value, 0)}" for t in GapType)
            + f"; enqueued {last['enqueued']}; {last['seconds']:.1f} s.")
    else:
        lines.append("Reconciliation: no run yet.")
    if status.get("play_import") is not None:
        lines.append(play_status.status_line(status["play_import"]))
    return lines


def run_queue_status(ctx: TaskContext) -> dict[str, Any]:
    queue = JobQueue.open(ctx.data_dir, clock=ctx.clock)
    try:
        status = read_status(queue, ctx.data_dir)
    finally:
        queue.close()
    for line in summary_lines(status):
        log.info(line)
    return status


def outage_lines(circuit: str, outages: dict[str, Any]) -> list[str]:
    """The Outage Summary for the Stash log."""
    lines = [f"Plex circuit: {circuit}."]
    ongoing = outages.get("ongoing")
    if ongoing:
        lines.append(f"Ongoing outage since {ongoing['start']} "
                     f"({ongoing['duration_s']:.0f} s so far, {ongoing['jobs_affected']} "
                     "job(s) waiting).")
    if not outages["count"]:
        lines.append("No Plex outage recorded.")
        return lines
    availability = outages["availability"]
    lines.append(
        f"Outages: {outages['count']}; MTTR "
        + (f"{outages['mttr_s']:.0f} s" if outages["mttr_s"] is not None else "n/a")
        + "; MTBF " + (f"{outages['mtbf_s']:.0f} s" if outages["mtbf_s"] is not None else "n/a")
        + "; availability "
        + (f"{availability * 100:.3f}%" if availability is not None else "n/a") + ".")
    for record in outages["history"]:
        lines.append(f"  {record['start']} → {record['end']}: {record['duration_s']:.0f} s, "
                     f"{record['jobs_affected']} job(s) affected")
    return lines


def run_outage_summary(ctx: TaskContext) -> dict[str, Any]:
    """Outage Summary: readable lines in the log, the same data as the task's output."""
    circuit, outages = outage_block(ctx.data_dir, ctx.clock())
    for line in outage_lines(circuit, outages):
        log.info(line)
    return {"circuit": circuit, **outages}
