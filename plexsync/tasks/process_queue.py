"""The Process Queue task: the drain engine (queue/drain.py) over the sync processor.

The drain ends when no job is due now; if work is due later (a retry), the task then arms the
wake-up timer (plexsync/timer/) for the earliest due time, so Stash is asked for Process Queue
again when it comes due, with no edit needed and without holding Stash's job queue.
"""

from __future__ import annotations

import os
from typing import Any

from plexsync.core.context import TaskContext
from plexsync.queue.backoff import Backoff
from plexsync.queue.drain import LOCK_NAME, Drain
from plexsync.queue.drain_report import StopReason
from plexsync.queue.job_queue import JobQueue
from plexsync.queue.model import Processor
from plexsync.resilience import gate
from plexsync.sync.objects import ObjectExpander
from plexsync.timer.wake import arm_timer

# After a drain stopped because Plex is down, its released jobs are due at once; ask again
# this much later instead of at once, so an outage does not fill Stash's job list. Once the
# breaker is open, the timer is armed for its next probe instead (plexsync/resilience/).
PLEX_DOWN_RECHECK = 30.0
# A drain cut short by queue_timeout leaves due jobs: the next one starts this much later,
# which lets the jobs queued behind it in Stash (scans, generates) run in between.
MIN_GAP = 2.0
# Another process holds the breaker's probe: look again this much later.
PROBE_STALE_RECHECK = 30.0


def run_process_queue(ctx: TaskContext) -> dict[str, Any]:
    """The Process Queue task: builds the Plex processor lazily (only if a job is claimed)."""
    settings = ctx.settings
    queue = JobQueue.open(ctx.data_dir, clock=ctx.clock,
                          backoff=Backoff(max_retries=settings.max_retries))
    objects = ObjectExpander(queue, ctx.stash, ctx.clock)

    def build() -> Processor:
        from plexsync.sync.processor import build_processor

        return build_processor(ctx)

    breaker = gate.breaker_for(ctx)
    try:
        counts = queue.counts()
        stop = gate.check_before_drain(ctx, breaker, counts["pending"] + counts["retrying"])
        if stop is not None:   # the breaker is open: wake up for the next probe instead
            queue.markers.fulfil()
            next_probe = breaker.peek(ctx.clock()).get("next_probe_at")
            arm_timer(ctx, float(next_probe) if next_probe else ctx.clock() + PROBE_STALE_RECHECK)
            return stop
        guard = gate.OutageGuard(breaker, ctx.clock, ctx.sleep, settings.plex_url)
        out = Drain(
            queue, build, lock_path=os.path.join(ctx.data_dir, LOCK_NAME),
            enabled=settings.enabled, queue_timeout=settings.queue_timeout,
            clock=ctx.clock, sleep=ctx.sleep, progress=ctx.progress, guard=guard,
            expand=objects.run,
        ).run()
        due = queue.next_due_at()
    finally:
        queue.close()
    if out.get("stopped") == StopReason.PLEX_DOWN:
        state = breaker.peek(ctx.clock())
        out["circuit"] = state["state"]
        if state.get("next_probe_at"):   # open: the timer probes, and drains once Plex answers
            arm_timer(ctx, float(state["next_probe_at"]))
            return out
    if due is not None and settings.wake_timer:
        arm_timer(ctx, wake_at(due, ctx.clock(), str(out.get("stopped", ""))))
    return out


def wake_at(due: float, now: float, stopped: str) -> float:
    """When the timer should ask for the next drain, given the queue's earliest due time."""
    if stopped == StopReason.PLEX_DOWN:
        return max(due, now + PLEX_DOWN_RECHECK)
    return max(due, now + MIN_GAP)
