"""Reconcile Library (All / Recent / Last 7 Days) and the automatic reconciliation check.

Design choice: like Sync All, the task drains the queue itself right after queueing the gaps
(`run_process_queue`), so the user sees one task that finds AND repairs the drift, and the
command line behaves the same; if another drain is running it exits at once and the running
drain, which re-checks the queue before it stops, syncs the new jobs.

`auto_reconcile(ctx)` is called by the router after every task except the reconcile tasks
themselves: when a run is due (plexsync/reconcile/auto.py) it runs one with
`reconcile_scope`, then drains; when one is due later it arms the wake-up timer for then.
"""

from __future__ import annotations

import importlib.util
import os
from typing import Any

from plexsync.core.context import TaskContext
from plexsync.core.log import log
from plexsync.queue.sqlite_store import SQLiteStore
from plexsync.reconcile import auto
from plexsync.reconcile.engine import Scope, Trigger, reconcile
from plexsync.tasks.process_queue import run_process_queue


def _reconcile(ctx: TaskContext, scope: Scope, trigger: Trigger) -> dict[str, Any]:
    result = reconcile(ctx, scope, trigger)
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
    """Run an automatic reconciliation if one is due; returns its output, else None."""
    if ctx.settings.reconcile_interval not in auto.INTERVALS:
        return None   # never: not even the meta read
    parent = os.getppid() if parent_pid is None else parent_pid
    store = SQLiteStore.open(ctx.data_dir)
    try:
        runs = store.reconcile_runs(1)
        meta = store.read_meta()
        startup = auto.started_up(meta, parent)
        if startup:
            store.update_meta(lambda m, _next: {auto.PARENT_KEY: str(parent)})
    finally:
        store.close()
    now = ctx.clock()
    decision = auto.due(ctx.settings, runs[0]["started_at"] if runs else None, now, startup)
    if not decision.now:
        if decision.next_at is not None:
            arm_wake_timer(ctx, decision.next_at)
        return None
    log.info(f"Automatic reconciliation ({decision.reason}, scope "
             f"{ctx.settings.reconcile_scope}).")
    out = _reconcile(ctx, Scope(ctx.settings.reconcile_scope), Trigger.AUTO)
    interval = auto.INTERVALS[ctx.settings.reconcile_interval]
    arm_wake_timer(ctx, now + interval)
    return out


def arm_wake_timer(ctx: TaskContext, due_at: float) -> None:
    """WAKE-UP TIMER CALL SITE (plexsync/timer/, built concurrently): arm it for `due_at`.
    Until that package lands this only notes the time; nothing else waits on it."""
    if importlib.util.find_spec("plexsync.timer") is None:
        log.debug(f"automatic reconciliation next due at {due_at:.0f} (no wake-up timer)")
        return
    log.debug(f"automatic reconciliation next due at {due_at:.0f}")
