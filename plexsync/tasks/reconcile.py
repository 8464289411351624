"""Reconcile Library (All / Recent / Last 7 Days) and the automatic reconciliation check.

Design choice: like Sync All, the task drains the queue itself right after queueing the gaps
(`run_process_queue`), so the user sees one task that finds AND repairs the drift, and the
command line behaves the same; if another drain is running it exits at once and the running
drain, which re-checks the queue before it stops, syncs the new jobs.

`auto_reconcile(ctx)` is called by the router after every task except the reconcile tasks
themselves: when a run is due (plexsync/reconcile/auto.py) it runs one with
`reconcile_scope`, then drains; when one is due later it arms the wake-up timer for then
(the timer reads the due time from the queue meta and asks Stash for Process Queue).
"""

from __future__ import annotations

import os
from typing import Any

from plexsync.core.context import TaskContext
from plexsync.core.log import log
from plexsync.errors import PlexSyncError
from plexsync.queue.job_queue import JobQueue
from plexsync.reconcile import auto
from plexsync.reconcile.engine import Scope, Trigger, reconcile
from plexsync.tasks.process_queue import PLEX_DOWN_RECHECK, run_process_queue
from plexsync.timer.state import RECONCILE_DUE_KEY
from plexsync.timer.wake import arm_timer


def _reconcile(ctx: TaskContext, scope: Scope, trigger: Trigger) -> dict[str, Any]:
    try:
        result = reconcile(ctx, scope, trigger)
    except PlexSyncError:
        # The pages queued before the failure stay queued (each is one transaction) but no
        # drain follows here: the wake-up timer brings one, as after a drain Plex stopped.
        _arm_for_queued(ctx)
        raise
    out = result.as_output()
    out["drain"] = run_process_queue(ctx) if result.enqueued else None
    return out


def run_reconcile_all(ctx: TaskContext) -> dict[str, Any]:
    return _reconcile(ctx, Scope.ALL, Trigger.TASK)


def run_reconcile_recent(ctx: TaskContext) -> dict[str, Any]:
    return _reconcile(ctx, Scope.DAY, Trigger.TASK)


def run_reconcile_7days(ctx: TaskContext) -> dict[str, Any]:
    return _reconcile(ctx, Scope.WEEK, Trigger.TASK)


def auto_reconcile(ctx: TaskContext, parent_pid: int | None = None) -> dict[str, Any] | None:
    """Run an automatic reconciliation if one is due; returns its output, else None.

    Keeps the queue meta `RECONCILE_DUE_KEY` (the next due time; absent when automatic runs
    are off) for the wake-up timer, and arms the timer for that time. A start-up is read from
    the parent process (auto.py), so a run from the command line (cron, a shell: the parent is
    not Stash) never counts as one and leaves the noted parent alone."""
    if parent_pid is None and ctx.started_by_stash:
        parent_pid = os.getppid()
    store = JobQueue.open(ctx.data_dir)
    try:
        runs = store.reconcile_runs(1)
        meta = store.read_meta()
        startup = parent_pid is not None and auto.started_up(meta, parent_pid)
        now = ctx.clock()
        decision = auto.due(ctx.settings, runs[0]["started_at"] if runs else None, now, startup)
        changes: dict[str, str | None] = {}
        if startup:
            changes[auto.PARENT_KEY] = str(parent_pid)
        next_at = decision.next_at if not decision.now else None
        wanted = None if next_at is None else repr(next_at)
        if meta.get(RECONCILE_DUE_KEY) != wanted and not decision.now:
            changes[RECONCILE_DUE_KEY] = wanted
        if changes:
            store.update_meta(lambda _meta, _next: changes)
    finally:
        store.close()
    if not decision.now:
        if next_at is not None:
            arm_timer(ctx, next_at)
        return None
    log.info(f"Automatic reconciliation ({decision.reason}, scope "
             f"{ctx.settings.reconcile_scope}).")
    out = _reconcile(ctx, Scope(ctx.settings.reconcile_scope), Trigger.AUTO)
    if out.get("skipped"):
        return out
    next_at = now + auto.INTERVALS[ctx.settings.reconcile_interval]
    store = JobQueue.open(ctx.data_dir)
    try:
        store.update_meta(lambda _meta, _next: {RECONCILE_DUE_KEY: repr(next_at)})
    finally:
        store.close()
    arm_timer(ctx, next_at)
    return out


def _arm_for_queued(ctx: TaskContext) -> None:
    queue = JobQueue.open(ctx.data_dir, clock=ctx.clock)
    try:
        due = queue.next_due_at()
    finally:
        queue.close()
    if due is not None:
        arm_timer(ctx, max(due, ctx.clock() + PLEX_DOWN_RECHECK))
