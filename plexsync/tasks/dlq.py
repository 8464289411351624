"""Dead-letter queue tasks (docs/tasks.md): clear, purge and recover dead-lettered jobs.

Arguments are validated first (args.py), so nothing is changed by a mistyped argument.
Recovery re-queues only while Plex answers its health probe (`PlexClient.identity`, one
`GET /identity`) and only scenes that still exist in Stash (entries of deleted scenes are
removed, and the output says so), then drains in this task, as Sync All does (bulk.py).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from plexsync.core.context import TaskContext
from plexsync.core.log import log
from plexsync.queue.job_queue import JobQueue
from plexsync.tasks.args import DAY, parse_days, parse_error_types, parse_since

_STASH_CHUNK = 100


def _queue(ctx: TaskContext) -> JobQueue:
    return JobQueue.open(ctx.data_dir, clock=ctx.clock)


def run_clear_dlq(ctx: TaskContext) -> dict[str, Any]:
    queue = _queue(ctx)
    try:
        cleared = queue.clear_dlq()
    finally:
        queue.close()
    log.info(f"Deleted {cleared} dead-lettered job(s).")
    return {"cleared": cleared}


def run_purge_dlq(ctx: TaskContext) -> dict[str, Any]:
    days = parse_days(ctx.args.get("days"), ctx.settings.dlq_retention_days)
    queue = _queue(ctx)
    try:
        purged = queue.purge_dlq(days * DAY)
    finally:
        queue.close()
    log.info(f"Purged {purged} dead-lettered job(s) whose last failure is older than "
             f"{days:g} day(s).")
    return {"purged": purged, "days": days}


def _existing_scenes(ctx: TaskContext, scene_ids: Collection[int]) -> set[int]:
    ids = sorted(scene_ids)
    found: set[int] = set()
    for start in range(0, len(ids), _STASH_CHUNK):
        found.update(int(i) for i in ctx.stash.scenes_by_id(ids[start:start + _STASH_CHUNK]))
    return found


def plex_problem(ctx: TaskContext) -> str | None:
    """None when Plex answers its health probe (`GET /identity`); else why recovery waits.

    PlexAuth and ConfigError propagate: the task then fails with their one-line fix.
    """
    from plexsync.errors import PlexServerDown
    from plexsync.plex.client import PlexClient

    try:
        PlexClient(ctx.settings, ctx.data_dir).identity()
    except PlexServerDown as exc:
        return f"Plex is not reachable ({exc})"
    return None


def run_recover_dlq(ctx: TaskContext) -> dict[str, Any]:
    types = parse_error_types(ctx.args.get("error_types"))
    since = parse_since(ctx.args.get("since"), ctx.clock())
    label = ", ".join(t.value for t in types) if types else "all error classes"
    queue = _queue(ctx)
    try:
        entries = queue.dlq_entries(types, since)
        if not entries:
            log.info(f"No dead-lettered jobs match ({label}).")
            return {"requeued": 0, "gone": 0, "matched": 0}
        unhealthy = plex_problem(ctx)
        if unhealthy:
            log.warning(f"Recover DLQ Jobs re-queued nothing: {unhealthy}. Run it again once "
                        "Plex is back.")
            return {"requeued": 0, "gone": 0, "matched": len(entries), "skipped": unhealthy}
        wanted = {e.scene_id for e in entries}
        existing = _existing_scenes(ctx, wanted)
        gone = wanted - existing
        removed = queue.delete_dead(gone) if gone else 0
        requeued = queue.requeue_dlq(types, since, scene_ids=existing)
    finally:
        queue.close()
    log.info(f"Re-queued {requeued} dead-lettered job(s) ({label})"
             + (f"; removed {removed} whose scene no longer exists in Stash" if removed else "")
             + ".")
    result: dict[str, Any] = {"matched": len(entries), "requeued": requeued, "gone": removed}
    if requeued:
        from plexsync.tasks.process_queue import run_process_queue

        result["drain"] = run_process_queue(ctx)
    return result
