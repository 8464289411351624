"""Sync All Scenes / Sync Recent Scenes (docs/tasks.md): queue scenes, then drain in this task.

Scenes are paged from Stash (`scene_id_page`, 500 per page, by id so pages stay stable while
scenes change) and queued with `enqueue_many` (one transaction per page) as SYNC_TASK jobs,
which fold into any job already queued for the same scene.

Design choice: the task then drains the queue itself (`drain.run_process_queue`) instead of
asking Stash to schedule Process Queue. It already runs in Stash's job queue, so the user sees
one task with one progress bar doing what its name says; it works the same from the command
line, where there is no Stash job queue; and if another drain is running, this one exits at
once (single-drain lock) and the running drain, which re-checks the queue before it stops,
syncs the new jobs. Unchanged scenes cost no Plex request (values-hash skip in the sync).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from plexsync.core.context import TaskContext
from plexsync.core.log import log
from plexsync.queue.job_queue import JobQueue
from plexsync.queue.model import JobSource
from plexsync.tasks.process_queue import run_process_queue

PER_PAGE = 500
RECENT = timedelta(hours=24)


def stash_timestamp(moment: datetime) -> str:
    """Go's RFC3339 as Stash stores `updated_at` (seconds, local offset, "Z" for UTC), so the
    text comparison Stash does in SQL orders correctly."""
    local = moment.astimezone().replace(microsecond=0)
    offset = local.utcoffset() or timedelta(0)
    if not offset:
        return local.strftime("%Y-%m-%dT%H:%M:%SZ")
    return local.isoformat()


def queue_scenes(ctx: TaskContext, scene_filter: dict[str, Any] | None, label: str) -> int:
    """Page through the matching scenes and queue them all; returns how many were queued."""
    queue = JobQueue.open(ctx.data_dir, clock=ctx.clock)
    queued = 0
    try:
        page = 1
        while True:
            total, scenes = ctx.stash.scene_id_page(scene_filter, page, PER_PAGE)
            queued += queue.enqueue_many((int(s["id"]) for s in scenes), JobSource.SYNC_TASK)
            if total:
                ctx.progress(min(1.0, queued / total))
            if len(scenes) < PER_PAGE or page * PER_PAGE >= total:
                break
            page += 1
    finally:
        queue.close()
    log.info(f"Queued {queued} scene(s) for syncing ({label}).")
    return queued


def _sync(ctx: TaskContext, scene_filter: dict[str, Any] | None, label: str) -> dict[str, Any]:
    queued = queue_scenes(ctx, scene_filter, label)
    return {"queued": queued, "drain": run_process_queue(ctx) if queued else None}


def run_sync_all(ctx: TaskContext) -> dict[str, Any]:
    return _sync(ctx, None, "every scene")


def run_sync_recent(ctx: TaskContext) -> dict[str, Any]:
    since = datetime.fromtimestamp(ctx.clock()).astimezone() - RECENT
    scene_filter = {"updated_at": {"value": stash_timestamp(since), "modifier": "GREATER_THAN"}}
    return _sync(ctx, scene_filter, "scenes updated in the last 24 hours")
