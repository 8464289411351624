"""Maintenance tasks (docs/tasks.md): clear the pending queue; clear the match cache.

The dead-letter queue's tasks are in dlq.py, task argument parsing in args.py.
"""

from __future__ import annotations

from typing import Any

from plexsync.core.context import TaskContext
from plexsync.core.log import log
from plexsync.queue.job_queue import JobQueue


def run_clear_queue(ctx: TaskContext) -> dict[str, Any]:
    queue = JobQueue.open(ctx.data_dir, clock=ctx.clock)
    try:
        cleared = queue.clear_pending()
        in_flight = queue.counts()["in_progress"]
    finally:
        queue.close()
    log.info(f"Cleared {cleared} pending job(s)"
             + (f"; {in_flight} being processed right now were kept." if in_flight else "."))
    return {"cleared": cleared, "kept_in_progress": in_flight}


def run_clear_match_cache(ctx: TaskContext) -> dict[str, Any]:
    from plexsync.plex import index_cache

    index_cache.clear(ctx.data_dir)
    log.info("Cleared the Plex match cache; the next sync rebuilds it.")
    return {"cleared": True}
