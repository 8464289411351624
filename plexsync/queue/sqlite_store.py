"""The SQLite storage of the job queue (docs/design.md#state-files, docs/design.md#job-lifecycle):
one database file shared by every process.

`SQLiteStore` implements the `storage.Storage` contract (see there for each operation's
semantics) with one short transaction per operation; connection handling, locking, schema
migrations and corruption recovery live in sqlite_db.py (`Database`).

Rows are read by column name (`sqlite3.Row`, set by sqlite_db) and mapped to the model's
records by sqlite_rows.py, which is imported only when rows are read or records written (the
hook does neither). States and sources go into the SQL as parameters (enums.py), never as
literals.

On the hook path: only the standard library's json/os/sqlite3/time (and `enum`) at import time.
"""

from __future__ import annotations

import os

from plexsync.core import fastjson as json

try:  # the C module: the `sqlite3` package adds only datetime adapters PlexSync never
    # uses, and ~4 ms of imports on the hook path (docs/design.md#hook-budget)
    import _sqlite3 as sqlite3
except ImportError:  # pragma: no cover - not CPython
    import sqlite3  # type: ignore[no-redef]

from plexsync.core import datadir
from plexsync.queue.enums import EnqueueStatus, JobSource, JobState, SettleAction
from plexsync.queue.sqlite_db import SCHEMA_VERSION, Database, StoreError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Collection, Iterable, Mapping, Sequence
    from typing import Any

    from plexsync.queue.model import DeadLetter, Job, SyncRecord
    from plexsync.queue.storage import ErrorInfo, MetaFn

__all__ = ["SCHEMA_VERSION", "SQLiteStore", "StoreError"]


class SQLiteStore(Database):
    """`storage.Storage` on one SQLite file (or ":memory:" for a private, volatile store)."""

    @classmethod
    def open(cls, data_dir: str) -> SQLiteStore:
        return cls(os.path.join(data_dir, datadir.DB_NAME))

    # ------------------------------------------------------------------ enqueue

    def enqueue(
        self, scene_id: int, event_at: float, source: JobSource, cleared_fields: Collection[str],
        now: float, *, meta_fn: MetaFn | None = None,
    ) -> tuple[EnqueueStatus, dict[str, str]]:
        def txn(conn: sqlite3.Connection) -> tuple[EnqueueStatus, dict[str, str]]:
            status = _fold(conn, scene_id, event_at, source, cleared_fields, now, source.urgent)
            meta = _apply_meta(conn, meta_fn) if meta_fn is not None else {}
            return status, meta

        return self._write(txn)

    def enqueue_many(
        self, items: Sequence[tuple[int, float]], source: JobSource, now: float
    ) -> int:
        def txn(conn: sqlite3.Connection) -> int:
            conn.executemany(
                "INSERT INTO jobs (scene_id, state, source, event_at, enqueued_at, not_before) "
                "VALUES (:scene_id, :pending, :source, :event_at, :now, :now) "
                "ON CONFLICT(scene_id) DO UPDATE SET "
                "event_at = max(jobs.event_at, excluded.event_at), "
                # JobSource.replaceable: only a hook's job takes the newer source
                "source = CASE WHEN jobs.source = :hook THEN excluded.source "
                "ELSE jobs.source END, "
                "dirty = CASE WHEN jobs.state = :in_progress THEN 1 ELSE jobs.dirty END",
                [{"scene_id": int(sid), "event_at": float(at), "source": source, "now": now,
                  "pending": JobState.PENDING, "in_progress": JobState.IN_PROGRESS,
                  "hook": JobSource.HOOK} for sid, at in items],
            )
            return len(items)

        return self._write(txn) if items else 0

    # ------------------------------------------------------------------ claim / settle

    def claim(self, now: float, limit: int, lease_until: float, owner: str) -> list[Job]:
        from plexsync.queue import sqlite_rows as m

        def txn(conn: sqlite3.Connection) -> list[Job]:
            rows = conn.execute(
                f"SELECT {m.JOB_COLS} FROM jobs WHERE not_before <= :now AND "
                "(state != :in_progress OR lease_until <= :now) ORDER BY not_before, id "
                "LIMIT :limit",
                {"now": now, "limit": limit, "in_progress": JobState.IN_PROGRESS},
            ).fetchall()
            conn.executemany(
                "UPDATE jobs SET state = ?, lease_until = ?, lease_owner = ? WHERE id = ?",
                [(JobState.IN_PROGRESS, lease_until, owner, row["id"]) for row in rows],
            )
            return [m.job(row, leased=(owner, lease_until)) for row in rows]

        return self._write(txn)

    def renew(self, owner: str, lease_until: float) -> int:
        return self._write(lambda conn: conn.execute(
            "UPDATE jobs SET lease_until = ? WHERE state = ? AND lease_owner = ?",
            (lease_until, JobState.IN_PROGRESS, owner),
        ).rowcount)

    def release(self, job_ids: Iterable[int], owner: str, not_before: float | None) -> int:
        ids = list(job_ids)
        return self._write(lambda conn: sum(conn.execute(
            f"{_RELEASE}, not_before = coalesce(:not_before, not_before) "
            "WHERE id = :id AND state = :in_progress AND lease_owner = :owner",
            {**_WAITING, "not_before": not_before, "id": job_id, "owner": owner},
        ).rowcount for job_id in ids))

    def release_orphans(self, owner: str, now: float) -> int:
        return self._write(lambda conn: conn.execute(
            f"{_RELEASE}, not_before = min(not_before, :now) WHERE state = :in_progress "
            "AND (lease_owner IS NULL OR lease_owner != :owner)",
            {**_WAITING, "now": now, "owner": owner},
        ).rowcount)

    def settle(
        self, job_id: int, owner: str, now: float, action: SettleAction, *,
        record: SyncRecord | None = None, retry_at: float | None = None,
        error: ErrorInfo | None = None, stats: Mapping[str, float] | None = None,
    ) -> bool:
        def txn(conn: sqlite3.Connection) -> bool:
            if record is not None:  # the Plex write happened, whatever became of the lease
                from plexsync.queue import sqlite_records

                sqlite_records.upsert(conn, record, now, lambda scene_id: _fold(
                    conn, scene_id, now, JobSource.RECONCILE, (), now, True))
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
                    (JobState.RETRYING, retry_at, error["error_class"], error["message"], now,
                     job_id),
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

        return self._write(txn)

    # ------------------------------------------------------------------ reads

    def records_for(self, scene_ids: Iterable[int]) -> dict[int, SyncRecord]:
        from plexsync.queue import sqlite_records, sqlite_rows

        chunks = sqlite_rows.chunks(scene_ids)
        return self._read(lambda conn: sqlite_records.by_scene(conn, chunks)) if chunks else {}

    def records_on_item(self, rating_key: int) -> list[SyncRecord]:
        from plexsync.queue import sqlite_records

        return self._read(lambda conn: sqlite_records.on_item(conn, int(rating_key)))

    def job(self, scene_id: int) -> Job | None:
        from plexsync.queue import sqlite_rows as m

        def txn(conn: sqlite3.Connection) -> Job | None:
            row = conn.execute(f"SELECT {m.JOB_COLS} FROM jobs WHERE scene_id = ?",
                               (scene_id,)).fetchone()
            return m.job(row) if row is not None else None

        return self._read(txn)

    def counts(self) -> dict[str, Any]:
        def txn(conn: sqlite3.Connection) -> dict[str, Any]:
            states = {row["state"]: row["n"] for row in conn.execute(
                "SELECT state, count(*) AS n FROM jobs GROUP BY state")}
            by_error = {row["error_class"]: row["n"] for row in conn.execute(
                "SELECT error_class, count(*) AS n FROM dead_letters GROUP BY error_class")}
            synced = conn.execute(
                "SELECT count(*) AS n, max(synced_at) AS last FROM sync_records").fetchone()
            return {
                "pending": states.get(JobState.PENDING, 0),
                "in_progress": states.get(JobState.IN_PROGRESS, 0),
                "retrying": states.get(JobState.RETRYING, 0),
                "dlq": sum(by_error.values()),
                "dlq_by_error": by_error,
                "synced": synced["n"],
                "out_of_scope": conn.execute(
                    "SELECT count(*) AS n FROM out_of_scope").fetchone()["n"],
                "last_sync_at": synced["last"],
                "next_due_at": _next_due(conn),
                "stats": {row["key"]: row["value"] for row in conn.execute(
                    "SELECT key, value FROM stats")},
            }

        return self._read(txn)

    def dead_letters(
        self, error_classes: Collection[str] | None = None, since: float | None = None
    ) -> list[DeadLetter]:
        from plexsync.queue import sqlite_rows as m

        where, params = m.dead_filter(error_classes, since)
        return self._read(lambda conn: [m.dead_letter(row) for row in conn.execute(
            f"SELECT {m.DEAD_COLS} FROM dead_letters{where} ORDER BY last_failure_at, scene_id",
            params,
        )])

    def newest_dead_letters(self, limit: int) -> list[DeadLetter]:
        from plexsync.queue import sqlite_rows as m

        return self._read(lambda conn: [m.dead_letter(row) for row in conn.execute(
            f"SELECT {m.DEAD_COLS} {_NEWEST_DEAD}", (limit,))])

    def newest_dead_letter_rows(self, limit: int) -> list[dict[str, Any]]:
        """`newest_dead_letters` as plain dicts of what the PlexSync page shows (scene_id,
        error_class, message, attempts, last_failure_at, candidates as a list), without the
        model's import cost (dataclasses)."""
        return self._read(lambda conn: [
            {**dict(row), "candidates": json.loads(row["candidates"])} for row in conn.execute(
                "SELECT scene_id, error_class, message, attempts, last_failure_at, candidates "
                f"{_NEWEST_DEAD}", (limit,))])

    # ------------------------------------------------------------------ maintenance

    def clear_pending(self) -> int:
        return self._write(lambda conn: conn.execute(
            "DELETE FROM jobs WHERE state != ?", (JobState.IN_PROGRESS,)).rowcount)

    def clear_dlq(self) -> int:
        return self._write(lambda conn: conn.execute("DELETE FROM dead_letters").rowcount)

    def purge_dlq(self, before: float) -> int:
        return self._write(lambda conn: conn.execute(
            "DELETE FROM dead_letters WHERE last_failure_at < ?", (before,)).rowcount)

    def delete_dead(self, scene_ids: Iterable[int]) -> int:
        from plexsync.queue import sqlite_rows as m

        chunks = m.chunks(scene_ids)
        return self._write(lambda conn: sum(conn.execute(
            f"DELETE FROM dead_letters WHERE scene_id IN ({m.marks(len(c))})", c).rowcount
            for c in chunks))

    def requeue_dead(self, scene_ids: Iterable[int], source: JobSource, now: float) -> int:
        ids = sorted({int(i) for i in scene_ids})

        def txn(conn: sqlite3.Connection) -> int:
            moved = 0
            for scene_id in ids:
                row = conn.execute("SELECT cleared_fields FROM dead_letters WHERE scene_id = ?",
                                   (scene_id,)).fetchone()   # (no RETURNING: SQLite < 3.35)
                if row is not None:   # the user's clears come back with the job
                    conn.execute("DELETE FROM dead_letters WHERE scene_id = ?", (scene_id,))
                    _fold(conn, scene_id, now, source, json.loads(row["cleared_fields"]), now,
                          True)
                    moved += 1
            return moved

        return self._write(txn)

    def update_meta(self, fn: MetaFn) -> dict[str, str]:
        return self._write(lambda conn: _apply_meta(conn, fn))

    def read_meta(self) -> dict[str, str]:
        return self._read(_read_meta)

    def next_due(self) -> float | None:
        return self._read(_next_due)

    # ------------------------------------------------------------------ reconciliation
    def queued_or_dead(self, scene_ids: Iterable[int]) -> set[int]:
        """The scenes among `scene_ids` that have a job (any state) or a dead letter: a
        reconciliation leaves those to the queue and to Recover DLQ Jobs."""
        from plexsync.queue import sqlite_rows as m

        chunks = m.chunks(scene_ids)

        def txn(conn: sqlite3.Connection) -> set[int]:
            found: set[int] = set()
            for chunk in chunks:
                marks = m.marks(len(chunk))
                found.update(r["scene_id"] for r in conn.execute(
                    f"SELECT scene_id FROM jobs WHERE scene_id IN ({marks}) UNION "
                    f"SELECT scene_id FROM dead_letters WHERE scene_id IN ({marks})",
                    [*chunk, *chunk]))
            return found

        return self._read(txn) if chunks else set()

    def add_reconcile_run(self, run: Mapping[str, Any]) -> None:
        """Append one finished run (keys: the reconcile_runs columns; `gaps` a dict)."""
        self._write(lambda conn: conn.execute(
            "INSERT INTO reconcile_runs (started_at, finished_at, scope, trigger, scanned, gaps, "
            "enqueued, seconds) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (run["started_at"], run["finished_at"], run["scope"], run["trigger"],
             run["scanned"], json.dumps(run["gaps"], sort_keys=True), run["enqueued"],
             run["seconds"])))

    def reconcile_runs(self, limit: int) -> list[dict[str, Any]]:
        """The newest `limit` runs, newest first."""
        def txn(conn: sqlite3.Connection) -> list[dict[str, Any]]:
            return [{**dict(row), "gaps": json.loads(row["gaps"])}
                    for row in conn.execute(
                        "SELECT started_at, finished_at, scope, trigger, scanned, gaps, "
                        "enqueued, seconds FROM reconcile_runs ORDER BY started_at DESC, id DESC "
                        "LIMIT ?", (limit,))]

        return self._read(txn)


# The newest dead letters first (the PlexSync page's list), at most `?` of them.
_NEWEST_DEAD = "FROM dead_letters ORDER BY last_failure_at DESC, scene_id DESC LIMIT ?"
# Back to waiting (pending, or retrying once failed), lease dropped; callers add not_before.
_RELEASE = (
    "UPDATE jobs SET state = CASE WHEN attempts > 0 THEN :retrying ELSE :pending END, "
    "lease_until = NULL, lease_owner = NULL, dirty = 0"
)
_WAITING = {"retrying": JobState.RETRYING, "pending": JobState.PENDING,
            "in_progress": JobState.IN_PROGRESS}


def _fold(
    conn: sqlite3.Connection, scene_id: int, event_at: float, source: JobSource,
    cleared_fields: Collection[str], now: float, urgent: bool,
) -> EnqueueStatus:
    """Insert the scene's job or fold this event into it (see storage.Storage.enqueue)."""
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
        return EnqueueStatus.NEW
    cleared = json.dumps(sorted(set(json.loads(row["cleared_fields"])) | set(cleared_fields)))
    new_source = source if JobSource.stored(row["source"]).replaceable else row["source"]
    if row["state"] == JobState.IN_PROGRESS:
        conn.execute(
            "UPDATE jobs SET event_at = max(event_at, ?), cleared_fields = ?, source = ?, "
            "dirty = 1 WHERE id = ?", (event_at, cleared, new_source, row["id"]),
        )
        return EnqueueStatus.DIRTY
    not_before = min(row["not_before"], now) if urgent else row["not_before"]
    conn.execute(
        "UPDATE jobs SET event_at = max(event_at, ?), cleared_fields = ?, source = ?, "
        "not_before = ? WHERE id = ?", (event_at, cleared, new_source, not_before, row["id"]),
    )
    return EnqueueStatus.UPDATED


def _finish(
    conn: sqlite3.Connection, job_id: int, row: sqlite3.Row, now: float, action: SettleAction,
    error: ErrorInfo | None,
) -> None:
    """Settle DONE / OUT_OF_SCOPE / DEAD: record the end, then delete the job, or make it
    pending again when an edit arrived while it was processed (dirty)."""
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
    if row["dirty"]:  # an edit arrived while we worked: keep the job for another pass
        conn.execute(
            "UPDATE jobs SET state = ?, attempts = 0, not_before = ?, "
            "last_error_class = NULL, last_error = NULL, first_failure_at = NULL, "
            "lease_until = NULL, lease_owner = NULL, dirty = 0 WHERE id = ?",
            (JobState.PENDING, now, job_id),
        )
    else:
        conn.execute("DELETE FROM jobs WHERE id = ?", (job_id,))


def _next_due(conn: sqlite3.Connection) -> float | None:
    row = conn.execute(
        "SELECT (SELECT min(not_before) FROM jobs WHERE state != :in_progress) AS waiting, "
        "(SELECT min(lease_until) FROM jobs WHERE state = :in_progress) AS leased",
        {"in_progress": JobState.IN_PROGRESS},
    ).fetchone()
    times = [t for t in (row["waiting"], row["leased"]) if t is not None]
    return min(times) if times else None


def _read_meta(conn: sqlite3.Connection) -> dict[str, str]:
    return {row["key"]: row["value"] for row in conn.execute("SELECT key, value FROM meta")}


def _apply_meta(conn: sqlite3.Connection, fn: MetaFn) -> dict[str, str]:
    meta = _read_meta(conn)
    for key, value in fn(dict(meta), lambda: _next_due(conn)).items():
        if value is None:
            conn.execute("DELETE FROM meta WHERE key = ?", (key,))
            meta.pop(key, None)
        else:
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))
            meta[key] = value
    return meta
