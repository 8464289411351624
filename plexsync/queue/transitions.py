"""The SQL of one job's state changes, shared by several `JobQueue` methods: folding an event
into a job, settling a claimed job, storing a sync record, and the meta table. Each function
runs inside the caller's transaction (`conn`) and never commits.

On the hook path (via job_queue.py): the standard library only at import time.
"""

from __future__ import annotations

from plexsync.core import fastjson as json
from plexsync.queue.enums import JobSource, JobState, SettleAction

TYPE_CHECKING = False
if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Collection, Mapping

    from plexsync.queue.markers import MetaFn
    from plexsync.queue.model import ErrorInfo, SyncRecord


def fold(
    conn: sqlite3.Connection, scene_id: int, event_at: float, source: JobSource,
    cleared_fields: Collection[str], now: float, urgent: bool,
) -> None:
    """Insert the scene's job or fold this event into it: event_at = max, cleared_fields =
    union, source = the new one only when the job's own is `replaceable`, not_before pulled
    to now when `urgent`. An in_progress job is only marked dirty (its lease untouched), so
    settling it keeps it pending for another pass instead of deleting it."""
    row = conn.execute(
        "SELECT id, state, source, not_before, cleared_fields FROM jobs WHERE scene_id = ?",
        (scene_id,),
    ).fetchone()
    if row is None:
        conn.execute(
            "INSERT INTO jobs (scene_id, state, source, event_at, enqueued_at, not_before, "
            "cleared_fields) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (scene_id, JobState.PENDING, source, event_at, now, now,
             json.dumps(sorted(cleared_fields))),
        )
        return
    cleared = json.dumps(sorted(set(json.loads(row["cleared_fields"])) | set(cleared_fields)))
    new_source = source if JobSource.stored(row["source"]).replaceable else row["source"]
    if row["state"] == JobState.IN_PROGRESS:
        conn.execute(
            "UPDATE jobs SET event_at = max(event_at, ?), cleared_fields = ?, source = ?, "
            "dirty = 1 WHERE id = ?", (event_at, cleared, new_source, row["id"]),
        )
        return
    not_before = min(row["not_before"], now) if urgent else row["not_before"]
    conn.execute(
        "UPDATE jobs SET event_at = max(event_at, ?), cleared_fields = ?, source = ?, "
        "not_before = ? WHERE id = ?", (event_at, cleared, new_source, not_before, row["id"]),
    )


def settle_job(
    conn: sqlite3.Connection, job_id: int, owner: str, now: float, action: SettleAction, *,
    record: SyncRecord | None, retry_at: float | None, error: ErrorInfo | None,
    stats: Mapping[str, float] | None,
) -> bool:
    """End one claimed job; False (a stale ack) when it is not in_progress under `owner`.

    `record` is stored first and unconditionally: the Plex write it describes did happen.
    DONE deletes the job; OUT_OF_SCOPE also marks the scene; RETRY (needs `retry_at` and
    `error`) makes it retrying, attempts + 1, first_failure_at set once; DEAD (needs `error`)
    moves it to the dead letters with its cleared fields. A dirty job (an event arrived while
    it was processed) becomes pending again instead of being deleted. `stats` counters are
    added only when the job was settled."""
    if record is not None:
        upsert_record(conn, record, now)
    row = conn.execute(
        "SELECT scene_id, attempts, first_failure_at, source, dirty, cleared_fields "
        "FROM jobs WHERE id = ? AND state = ? AND lease_owner = ?",
        (job_id, JobState.IN_PROGRESS, owner),
    ).fetchone()
    if row is None:
        return False
    if action is SettleAction.RETRY:
        assert error is not None and retry_at is not None
        conn.execute(
            "UPDATE jobs SET state = ?, attempts = attempts + 1, "
            "not_before = ?, last_error_class = ?, last_error = ?, "
            "first_failure_at = coalesce(first_failure_at, ?), lease_until = NULL, "
            "lease_owner = NULL, dirty = 0 WHERE id = ?",
            (JobState.RETRYING, retry_at, error["error_class"], error["message"], now, job_id),
        )
    else:
        _finish(conn, job_id, row, now, action, error)
    if stats:
        conn.executemany(
            "INSERT INTO stats (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = value + excluded.value",
            list(stats.items()),
        )
    return True


def _finish(
    conn: sqlite3.Connection, job_id: int, row: sqlite3.Row, now: float, action: SettleAction,
    error: ErrorInfo | None,
) -> None:
    from plexsync.queue import sqlite_rows as m

    if action is SettleAction.DEAD:
        assert error is not None
        first = row["first_failure_at"]
        conn.execute(
            f"INSERT OR REPLACE INTO dead_letters ({m.DEAD_COLS}) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (row["scene_id"], error["error_class"], error["message"], row["attempts"] + 1,
             first if first is not None else now, now, json.dumps(error["candidates"]),
             row["source"], now, row["cleared_fields"]),
        )
    elif action is SettleAction.OUT_OF_SCOPE:
        conn.execute("INSERT OR REPLACE INTO out_of_scope (scene_id, seen_at) VALUES (?, ?)",
                     (row["scene_id"], now))
    if row["dirty"]:
        conn.execute(
            "UPDATE jobs SET state = ?, attempts = 0, not_before = ?, "
            "last_error_class = NULL, last_error = NULL, first_failure_at = NULL, "
            "lease_until = NULL, lease_owner = NULL, dirty = 0 WHERE id = ?",
            (JobState.PENDING, now, job_id),
        )
    else:
        conn.execute("DELETE FROM jobs WHERE id = ?", (job_id,))


def upsert_record(conn: sqlite3.Connection, record: SyncRecord, now: float) -> None:
    """Store `record`; it also drops the scene's dead letter and out-of-scope mark. The
    scene's own record on another item leaves a displaced row there (hand-over,
    docs/design.md#hand-over)."""
    from plexsync.queue import sqlite_rows as m

    # One item holds one record: a scene that held this item before is matched afresh.
    for row in conn.execute(
        "SELECT scene_id FROM sync_records WHERE rating_key = ? AND scene_id != ?",
        (record.rating_key, record.scene_id),
    ).fetchall():
        conn.execute("DELETE FROM sync_records WHERE scene_id = ?", (row["scene_id"],))
        fold(conn, row["scene_id"], now, JobSource.RECONCILE, (), now, True)
    # Hand-over: the scene's record leaves another item; what it wrote there stays displaced
    # until that item's next owner undoes it (by value) in its own edit.
    left = conn.execute(f"SELECT {m.DISPLACED_COLS} FROM sync_records WHERE scene_id = ?",
                        (record.scene_id,)).fetchone()
    if left is not None and left["rating_key"] != record.rating_key and (
            left["pushed_fields"] != "[]" or left["collections_added"] != "[]"):
        conn.execute(f"INSERT OR REPLACE INTO displaced_records ({m.DISPLACED_COLS}) "
                     "VALUES (?, ?, ?, ?, ?, ?)", tuple(left))
    # Only this item's: a displaced scene synced to its own item elsewhere still owes the
    # undo of what it pushed here, which the item's own scene does when it is written.
    conn.execute("DELETE FROM displaced_records WHERE rating_key = ?", (record.rating_key,))
    conn.execute(f"INSERT OR REPLACE INTO sync_records ({m.RECORD_COLS}) VALUES "
                 f"({m.marks(m.RECORD_COLS.count(',') + 1)})", m.record_values(record))
    conn.execute("DELETE FROM dead_letters WHERE scene_id = ?", (record.scene_id,))
    conn.execute("DELETE FROM out_of_scope WHERE scene_id = ?", (record.scene_id,))
    if record.objects is not None:   # the objects the scene had when this record was written
        conn.execute("DELETE FROM scene_objects WHERE scene_id = ?", (record.scene_id,))
        conn.executemany(
            "INSERT OR IGNORE INTO scene_objects (kind, object_id, scene_id, name) "
            "VALUES (?, ?, ?, ?)", [(k, int(i), record.scene_id, n) for k, i, n in record.objects])


def next_due(conn: sqlite3.Connection) -> float | None:
    """Scene jobs and object jobs alike: a drain finishes only when neither is due."""
    row = conn.execute(
        "SELECT (SELECT min(not_before) FROM jobs WHERE state != :in_progress) AS waiting, "
        "(SELECT min(lease_until) FROM jobs WHERE state = :in_progress) AS leased, "
        "(SELECT min(not_before) FROM object_jobs) AS objects",
        {"in_progress": JobState.IN_PROGRESS},
    ).fetchone()
    times = [t for t in (row["waiting"], row["leased"], row["objects"]) if t is not None]
    return min(times) if times else None


def read_meta(conn: sqlite3.Connection) -> dict[str, str]:
    return {row["key"]: row["value"] for row in conn.execute("SELECT key, value FROM meta")}


def update_meta(conn: sqlite3.Connection, fn: MetaFn) -> dict[str, str]:
    meta = read_meta(conn)
    for key, value in fn(dict(meta), lambda: next_due(conn)).items():
        if value is None:
            conn.execute("DELETE FROM meta WHERE key = ?", (key,))
            meta.pop(key, None)
        else:
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))
            meta[key] = value
    return meta
