"""The queue's part of the status JSON (View Queue Status, docs/design.md): counts → JSON.

Pure formatting of one `Storage.counts()` read: ISO 8601 UTC times, integer counters, the
confidence breakdown and the average seconds per job (None before any job was processed).

The PlexSync page's status operation (plexsync/tasks/page.py) imports this: standard library
only at import time, and no queue policy (`JobQueue` and the model cost it ~40 ms of imports).
"""

from __future__ import annotations

from datetime import UTC, datetime

TYPE_CHECKING = False  # `typing` costs milliseconds of imports; mypy takes any such name as true
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from plexsync.queue.job_queue import JobQueue

COUNTERS = ("succeeded", "synced", "unchanged", "skipped", "out_of_scope", "failed", "retried",
            "dead_lettered")


def iso(epoch: float | None) -> str | None:
    """Epoch seconds as ISO 8601 UTC (what status output shows), None stays None."""
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")


def queue_status(queue: JobQueue) -> dict[str, Any]:
    """The queue part of the status JSON, from one consistent read of the counts."""
    return queue_json(queue.counts())


def queue_json(counts: Mapping[str, Any]) -> dict[str, Any]:
    """The queue part of the status JSON from one `Storage.counts()` answer."""
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
        "objects_pending": counts.get("objects_pending", 0),
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
