"""Queue maintenance tasks (SPEC §8): clear, purge and recover; clear the match cache.

Every task validates its arguments first and raises `InputError` naming the argument and the
accepted values, so nothing is changed by a mistyped argument. Recovery re-queues only while
Plex answers its health probe (`PlexClient.identity`, one `GET /identity`) and only scenes that
still exist in Stash (entries of deleted scenes are removed, and the output says so), then
drains in this task, as Sync All does (bulk.py).
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

from plexsync.core.context import TaskContext
from plexsync.core.log import log
from plexsync.errors import ErrorClass, InputError
from plexsync.queue.job_queue import JobQueue

DAY = 86400.0
_STASH_CHUNK = 100


def _queue(ctx: TaskContext) -> JobQueue:
    return JobQueue.open(ctx.data_dir, clock=ctx.clock)


def run_clear_queue(ctx: TaskContext) -> dict[str, Any]:
    queue = _queue(ctx)
    try:
        cleared = queue.clear_pending()
        in_flight = queue.counts()["in_progress"]
    finally:
        queue.close()
    log.info(f"Cleared {cleared} pending job(s)"
             + (f"; {in_flight} being processed right now were kept." if in_flight else "."))
    return {"cleared": cleared, "kept_in_progress": in_flight}


def run_clear_dlq(ctx: TaskContext) -> dict[str, Any]:
    queue = _queue(ctx)
    try:
        cleared = queue.clear_dlq()
    finally:
        queue.close()
    log.info(f"Deleted {cleared} dead-lettered job(s).")
    return {"cleared": cleared}


def parse_days(value: Any, default: float, name: str = "days") -> float:
    """A non-negative number of days from a task argument (string or number)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return float(default)
    try:
        days = float(str(value).strip())
    except ValueError:
        raise InputError(f"the {name} argument must be a number of days (e.g. 30), "
                         f"not {value!r}.") from None
    if days < 0 or days != days:  # negative or NaN
        raise InputError(f"the {name} argument must be zero or more days, not {value!r}.")
    return days


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


def parse_error_types(value: Any) -> list[ErrorClass] | None:
    """Comma-separated ErrorClass names (any case); "all" or "*" means every class (None)."""
    text = str(value if value is not None else ErrorClass.PLEX_SERVER_DOWN.value).strip()
    if text.lower() in ("all", "*"):
        return None
    by_name = {c.value.lower(): c for c in ErrorClass}
    chosen: list[ErrorClass] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        if part.lower() not in by_name:
            raise InputError(f"the error_types argument names an unknown error class {part!r}; "
                             f"use a comma-separated list of "
                             f"{', '.join(c.value for c in ErrorClass)} (or all).")
        chosen.append(by_name[part.lower()])
    if not chosen:
        raise InputError("the error_types argument is empty; name at least one error class "
                         f"({', '.join(c.value for c in ErrorClass)}) or all.")
    return chosen


def parse_since(value: Any, now: float) -> float | None:
    """`since`: an ISO date/time (UTC when no offset) or a number of days back; None = all."""
    if value is None or not str(value).strip():
        return None
    text = str(value).strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return now - float(text) * DAY
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"the since argument must be an ISO date like 2024-05-01 (or a date "
                         f"and time), or a number of days back; not {text!r}.") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


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


def run_clear_match_cache(ctx: TaskContext) -> dict[str, Any]:
    try:
        index_store = importlib.import_module("plexsync.plex.index_cache")
    except ModuleNotFoundError as exc:
        if exc.name != "plexsync.plex.index_cache":
            raise
        log.info("There is no match cache in this installation; nothing to clear.")
        return {"cleared": False}
    index_store.clear(ctx.data_dir)
    log.info("Cleared the Plex match cache; the next sync rebuilds it.")
    return {"cleared": True}
