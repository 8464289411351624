"""One reconciliation run (docs/design.md, "Reconciliation").

`reconcile(ctx, scope, trigger)`:
1. lists every configured Plex section once (`Listing`: the index is rebuilt from the same
   pages, the items spooled to disk);
2. pages through Stash by id (`PER_PAGE` scenes per query, only the fields detection needs),
   limited to the scope: all, or scenes created or updated in the last 24 hours / 7 days;
3. per page: leaves out scenes that already have a job or a dead letter (one query), judges the
   rest (`gaps.assess`), and queues the gaps as RECONCILE jobs in one transaction;
4. appends the run to the history (time, scope, trigger, scanned, gaps by type, enqueued,
   seconds) and logs one summary line.

Never two runs at once: a file lock (`LOCK_NAME`); a second run returns at once, saying so.
Failure behaviour: a Plex or Stash failure stops the run with that error; what was queued stays
queued (each page is one transaction) and no history row is written, so the last recorded run
is the last complete one. A run killed at any instant (SIGKILL) leaves only whole pages of
queued jobs, which the next run leaves to the queue and completes with the rest. Memory stays
flat: one Stash page and one index shard at a time; the listing lives in a temporary file.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from plexsync.core.context import TaskContext
from plexsync.core.log import log
from plexsync.errors import PlexNotFound
from plexsync.plex.client import PlexClient
from plexsync.plex.index import LibraryIndex
from plexsync.plex.model import PlexItem
from plexsync.queue.job_queue import JobQueue
from plexsync.queue.model import JobSource
from plexsync.reconcile.gap_types import GapType
from plexsync.reconcile.gaps import PlexView, Verdict, assess
from plexsync.reconcile.listing import Listing
from plexsync.sync.matcher import Result, SceneFile
from plexsync.sync.ownership import Ownership

PER_PAGE = 250
LOCK_NAME = "reconcile.lock"


class Scope(StrEnum):
    ALL = "all"
    DAY = "24h"
    WEEK = "7days"


class Trigger(StrEnum):
    TASK = "task"
    AUTO = "auto"


WINDOWS: dict[Scope, timedelta] = {Scope.DAY: timedelta(hours=24), Scope.WEEK: timedelta(days=7)}


@dataclass
class RunResult:
    scope: Scope
    trigger: Trigger
    started_at: float
    scanned: int = 0
    gaps: Counter[str] = field(default_factory=Counter)
    enqueued: int = 0
    already_queued: int = 0
    out_of_scope: int = 0
    plex_items_read: int = 0
    listing_pages: int = 0
    stash_queries: int = 0
    seconds: float = 0.0
    skipped: str = ""          # why nothing ran (another run holds the lock)

    def as_output(self) -> dict[str, Any]:
        return {
            "scope": self.scope.value, "trigger": self.trigger.value, "scanned": self.scanned,
            "gaps_by_type": {t.value: self.gaps.get(t.value, 0) for t in GapType},
            "enqueued": self.enqueued, "already_queued": self.already_queued,
            "out_of_scope": self.out_of_scope, "plex_items_read": self.plex_items_read,
            "listing_pages": self.listing_pages, "stash_queries": self.stash_queries,
            "seconds": round(self.seconds, 3), **({"skipped": self.skipped} if self.skipped
                                                  else {}),
        }

    def summary(self) -> str:
        by_type = ", ".join(f"{self.gaps.get(t.value, 0)} {t.value}" for t in GapType)
        return (f"Reconcile ({self.scope.value}, {self.trigger.value}): scanned "
                f"{self.scanned} scene(s); gaps: {by_type}; enqueued {self.enqueued}"
                + (f" ({self.already_queued} already queued)" if self.already_queued else "")
                + f"; {self.seconds:.1f} s.")


def stash_timestamp(moment: datetime) -> str:
    """Go's RFC3339 as Stash stores timestamps (seconds, local offset, "Z" for UTC), so the
    text comparison Stash does in SQL orders correctly (same rule as Sync Recent)."""
    local = moment.astimezone().replace(microsecond=0)
    offset = local.utcoffset() or timedelta(0)
    if not offset:
        return local.strftime("%Y-%m-%dT%H:%M:%SZ")
    return local.isoformat()


def scope_filter(scope: Scope, now: float) -> dict[str, Any] | None:
    """Scenes created or updated inside the scope's window (None: every scene)."""
    window = WINDOWS.get(scope)
    if window is None:
        return None
    since = stash_timestamp(datetime.fromtimestamp(now).astimezone() - window)
    return {"updated_at": {"value": since, "modifier": "GREATER_THAN"},
            "OR": {"created_at": {"value": since, "modifier": "GREATER_THAN"}}}


def reconcile(ctx: TaskContext, scope: Scope, trigger: Trigger,
              plex: PlexClient | None = None) -> RunResult:
    """One run under the reconcile lock (see the module docstring)."""
    import filelock

    result = RunResult(scope, trigger, ctx.clock())
    lock = filelock.FileLock(os.path.join(ctx.data_dir, LOCK_NAME))
    try:
        lock.acquire(timeout=0)
    except filelock.Timeout:
        result.skipped = "another reconciliation is running"
        log.info("Reconcile: another reconciliation is running; leaving it to that one.")
        return result
    try:
        _run(ctx, result, plex or PlexClient(ctx.settings, ctx.data_dir))
    finally:
        lock.release()
    return result


def _run(ctx: TaskContext, result: RunResult, plex: PlexClient) -> None:
    started = time.monotonic()
    settings = ctx.settings
    plex.connect()
    sections = plex.configured_sections()
    listing = Listing(ctx.data_dir, plex)
    queue = JobQueue.open(ctx.data_dir, clock=ctx.clock)
    try:
        index = LibraryIndex(ctx.data_dir, listing, sections, clock=ctx.clock)
        listing.fill(index, sections)
        result.listing_pages = listing.pages
        log.info(f"Reconcile: listed {listing.items} Plex item(s) in {listing.pages} page(s).")

        def fetch(rating_key: int) -> PlexItem:
            result.plex_items_read += 1
            return plex.fetch_item(rating_key)

        owners = Ownership(ctx.stash, settings.path_map)

        def match(scene_id: int, files: Sequence[SceneFile]) -> Result:
            return owners.match(scene_id, files, index, index.locations)[0]

        view = PlexView(match, listing.listed, fetch)
        scene_filter = scope_filter(result.scope, ctx.clock())
        after = 0
        while True:
            remaining, scenes = ctx.stash.reconcile_page(scene_filter, after, PER_PAGE)
            result.stash_queries += 1
            if not scenes:
                break
            ids = [int(s["id"]) for s in scenes]
            after = max(ids)
            busy = queue.queued_or_dead(ids)
            records = queue.records_for(ids)
            gaps: list[int] = []
            for scene, sid in zip(scenes, ids, strict=True):
                result.scanned += 1
                if sid in busy:
                    result.already_queued += 1
                    continue
                try:
                    verdict = assess(scene, records.get(sid), settings, view)
                except PlexNotFound:   # the listed item vanished: a sync would look again
                    result.gaps[GapType.MISSING.value] += 1
                    gaps.append(sid)
                    continue
                if verdict.gap is not None:
                    result.gaps[verdict.gap.value] += 1
                    gaps.append(sid)
                    log.debug(f"scene {sid}: {verdict.gap.value} gap: {verdict.detail}")
                elif verdict.verdict is Verdict.OUT_OF_SCOPE:
                    result.out_of_scope += 1
            if gaps:
                result.enqueued += queue.enqueue_many(gaps, JobSource.RECONCILE)
            ctx.progress(min(1.0, result.scanned / max(1, result.scanned + remaining
                                                      - len(scenes))))
            if len(scenes) < PER_PAGE or remaining <= len(scenes):
                break
        result.seconds = time.monotonic() - started
        queue.add_reconcile_run({
            "started_at": result.started_at, "finished_at": ctx.clock(),
            "scope": result.scope.value, "trigger": result.trigger.value,
            "scanned": result.scanned,
            "gaps": {t.value: result.gaps.get(t.value, 0) for t in GapType},
            "enqueued": result.enqueued, "seconds": round(result.seconds, 3),
        })
        log.info(result.summary())
    finally:
        listing.close()
        queue.close()
