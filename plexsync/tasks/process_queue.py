"""The Process Queue task: the drain engine (queue/drain.py) over the sync processor."""

from __future__ import annotations

import os
from typing import Any

from plexsync.core.context import TaskContext
from plexsync.errors import Internal
from plexsync.queue.backoff import Backoff
from plexsync.queue.drain import LOCK_NAME, Drain
from plexsync.queue.job_queue import JobQueue
from plexsync.queue.model import Processor


def run_process_queue(ctx: TaskContext) -> dict[str, Any]:
    """The Process Queue task: builds the Plex processor lazily (only if a job is claimed)."""
    settings = ctx.settings
    queue = JobQueue.open(ctx.data_dir, clock=ctx.clock,
                          backoff=Backoff(max_retries=settings.max_retries))

    def build() -> Processor:
        try:
            from plexsync.sync.processor import build_processor
        except ModuleNotFoundError as exc:
            if exc.name != "plexsync.sync.processor":
                raise
            raise Internal("this PlexSync installation has no sync engine (plexsync/sync.py "
                           "is missing); reinstall the plugin.") from None
        return build_processor(ctx)

    try:
        return Drain(
            queue, build, lock_path=os.path.join(ctx.data_dir, LOCK_NAME),
            enabled=settings.enabled, queue_timeout=settings.queue_timeout,
            clock=ctx.clock, sleep=ctx.sleep, progress=ctx.progress,
        ).run()
    finally:
        queue.close()
