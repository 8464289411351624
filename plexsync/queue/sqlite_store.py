"""The SQLite storage of the job queue (SPEC §4, §5): one database file shared by every process.

`SQLiteStore` implements the `storage.Storage` contract (see there for each operation's
semantics) with one short transaction per operation; connection handling, locking, schema
migrations and corruption recovery live in store_db.py (`Database`).

On the hook path: only the standard library's json/os/sqlite3/time at import time.
"""

from __future__ import annotations

import os

from plexsync.core import fastjson as json

try:  # the C module: the `sqlite3` package adds only datetime adapters PlexSync never
    import _sqlite3 as sqlite3  # uses, and ~4 ms of imports on the hook path (SPEC §2)
except ImportError:  # pragma: no cover - not CPython
    import sqlite3  # type: ignore[no-redef]

from plexsync.core import datadir
from plexsync.queue.sqlite_db import SCHEMA_VERSION, Database, StoreError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Collection, Iterable, Mapping, Sequence
    from typing import Any

    from plexsync.queue.storage import DeadRow, ErrorInfo, JobRow, MetaFn, RecordRow

__all__ = ["SCHEMA_VERSION", "SQLiteStore", "StoreError"]
_CHUNK = 500         # ids per IN (...) list, far below SQLite's variable limit

_JOB_COLS = (
    "id, scene_id, state, source, event_at, enqueued_at, not_before, attempts, cleared_fields, "
    "last_error_class, last_error, first_failure_at, lease_until, lease_owner, dirty"
)
_RECORD_COLS = (
    "scene_id, rating_key, section_id, stash_updated_at, fetched_at, values_hash, synced_at, "
    "poster_key, poster_hash, art_hash, collections_added, confidence, pushed_fields"
)
_DEAD_COLS = (
    "scene_id, error_class, message, attempts, first_failure_at, last_failure_at, candidates, "
    "source, created_at, cleared_fields"
)


def _job_row(t: Sequence[Any]) -> JobRow:
    return {
        "id": t[0], "scene_id": t[1], "state": t[2], "source": t[3], "event_at": t[4],
        "enqueued_at": t[5], "not_before": t[6], "attempts": t[7],
        "cleared_fields": json.loads(t[8]), "last_error_class": t[9], "last_error": t[10],
        "first_failure_at": t[11], "lease_until": t[12], "lease_owner": t[13], "dirty": t[14],
    }  # fmt: skip


def _record_row(t: Sequence[Any]) -> RecordRow:
    return {
        "scene_id": t[0], "rating_key": t[1], "section_id": t[2], "stash_updated_at": t[3],
        "fetched_at": t[4], "values_hash": t[5], "synced_at": t[6], "poster_key": t[7],
        "poster_hash": t[8], "art_hash": t[9], "collections_added": json.loads(t[10]),
        "confidence": t[11], "pushed_fields": json.loads(t[12]),
    }  # fmt: skip


def _dead_row(t: Sequence[Any]) -> DeadRow:
    return {
        "scene_id": t[0], "error_class": t[1], "message": t[2], "attempts": t[3],
        "first_failure_at": t[4], "last_failure_at": t[5], "candidates": json.loads(t[6]),
        "source": t[7], "created_at": t[8], "cleared_fields": json.loads(t[9]),
    }  # fmt: skip


def _chunks(ids: Iterable[int]) -> list[list[int]]:
    unique = sorted({int(i) for i in ids})
    return [unique[i:i + _CHUNK] for i in range(0, len(unique), _CHUNK)]


def _marks(n: int) -> str:
    return ",".join("?" * n)


class SQLiteStore(Database):
    """`storage.Storage` on one SQLite file (or ":memory:" for a private, volatile store)."""

    @classmethod
    def open(cls, data_dir: str) -> SQLiteStore:
        return cls(os.path.join(data_dir, datadir.DB_NAME))

    # ------------------------------------------------------------------ enqueue

    def enqueue(
        self, scene_id: int, event_at: float, source: str, cleared_fields: Collection[str],
        now: float, *, urgent: bool = True, meta_fn: MetaFn | None = None,
    ) -> tuple[str, dict[str, str]]:
        def txn(conn: sqlite3.Connection) -> tuple[str, dict[str, str]]:
            status = _fold(conn, scene_id, event_at, source, cleared_fields, now, urgent)
            meta = _apply_meta(conn, meta_fn) if meta_fn is not None else {}
            return status, meta

        return self._write(txn)

    def enqueue_many(self, items: Sequence[tuple[int, float]], source: str, now: float) -> int:
        def txn(conn: sqlite3.Connection) -> int:
            conn.executemany(
                "INSERT INTO jobs (scene_id, state, source, event_at, enqueued_at, not_before) "
                "VALUES (?, 'pending', ?, ?, ?, ?) ON CONFLICT(scene_id) DO UPDATE SET "
                "event_at = max(jobs.event_at, excluded.event_at), "
                "source = CASE WHEN jobs.source = 'hook' THEN excluded.source "
                "ELSE jobs.source END, "
                "dirty = CASE WHEN jobs.state = 'in_progress' THEN 1 ELSE jobs.dirty END",
                [(int(sid), source, float(at), now, now) for sid, at in items],
            )
            return len(items)

        return self._write(txn) if items else 0

    # ------------------------------------------------------------------ claim / settle

    def claim(self, now: float, limit: int, lease_until: float, owner: str) -> list[JobRow]:
        def txn(conn: sqlite3.Connection) -> list[JobRow]:
            rows = [_job_row(t) for t in conn.execute(
                f"SELECT {_JOB_COLS} FROM jobs WHERE not_before <= ? AND "
                "(state != 'in_progress' OR lease_until <= ?) ORDER BY not_before, id LIMIT ?",
                (now, now, limit),
            )]
            for row in rows:
                row.update({"state": "in_progress", "lease_until": lease_until,
                            "lease_owner": owner})
            conn.executemany(
                "UPDATE jobs SET state = 'in_progress', lease_until = ?, lease_owner = ? "
                "WHERE id = ?", [(lease_until, owner, row["id"]) for row in rows],
            )
            return rows

        return self._write(txn)

    def renew(self, owner: str, lease_until: float) -> int:
        return self._write(lambda conn: conn.execute(
            "UPDATE jobs SET lease_until = ? WHERE state = 'in_progress' AND lease_owner = ?",
            (lease_until, owner),
        ).rowcount)

    def release(self, job_ids: Iterable[int], owner: str, not_before: float | None) -> int:
        ids = list(job_ids)
        return self._write(lambda conn: sum(conn.execute(
            f"{_RELEASE} WHERE id = ? AND state = 'in_progress' AND lease_owner = ?",
            (not_before, job_id, owner),
        ).rowcount for job_id in ids))

    def release_orphans(self, owner: str, now: float) -> int:
        return self._write(lambda conn: conn.execute(
            "UPDATE jobs SET state = CASE WHEN attempts > 0 THEN 'retrying' ELSE 'pending' END, "
            "not_before = min(not_before, ?), lease_until = NULL, lease_owner = NULL, "
            "dirty = 0 "
            "WHERE state = 'in_progress' AND (lease_owner IS NULL OR lease_owner != ?)",
            (now, owner),
        ).rowcount)

    def settle(
        self, job_id: int, owner: str, now: float, action: str, *,
        record: RecordRow | None = None, retry_at: float | None = None,
        error: ErrorInfo | None = None, stats: Mapping[str, float] | None = None,
    ) -> bool:
        def txn(conn: sqlite3.Connection) -> bool:
            if record is not None:  # the Plex write happened, whatever became of the lease
                _upsert_record(conn, record, now)
            row = conn.execute(
                "SELECT scene_id, attempts, first_failure_at, source, dirty, cleared_fields "
                "FROM jobs WHERE id = ? AND state = 'in_progress' AND lease_owner = ?",
                (job_id, owner),
            ).fetchone()
            if row is None:
                return False
            scene_id, attempts, first_failure, source, dirty, cleared = row
            if action == "retry":
                assert error is not None and retry_at is not None
                conn.execute(
                    "UPDATE jobs SET state = 'retrying', attempts = attempts + 1, "
                    "not_before = ?, last_error_class = ?, last_error = ?, "
                    "first_failure_at = coalesce(first_failure_at, ?), lease_until = NULL, "
                    "lease_owner = NULL, dirty = 0 WHERE id = ?",
                    (retry_at, error["error_class"], error["message"], now, job_id),
                )
            else:
                if action == "dead":
                    assert error is not None
                    conn.execute(
                        f"INSERT OR REPLACE INTO dead_letters ({_DEAD_COLS}) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (scene_id, error["error_class"], error["message"], attempts + 1,
                         first_failure if first_failure is not None else now, now,
                         json.dumps(error["candidates"]), source, now, cleared),
                    )
                elif action == "out_of_scope":
                    conn.execute("INSERT OR REPLACE INTO out_of_scope (scene_id, seen_at) "
                                 "VALUES (?, ?)", (scene_id, now))
                if dirty:  # an edit arrived while we worked: keep the job for another pass
                    conn.execute(
                        "UPDATE jobs SET state = 'pending', attempts = 0, not_before = ?, "
                        "last_error_class = NULL, last_error = NULL, first_failure_at = NULL, "
                        "lease_until = NULL, lease_owner = NULL, dirty = 0 WHERE id = ?",
                        (now, job_id),
                    )
                else:
                    conn.execute("DELETE FROM jobs WHERE id = ?", (job_id,))
            if stats:
                conn.executemany(
                    "INSERT INTO stats (key, value) VALUES (?, ?) "
                    "ON CONFLICT(key) DO UPDATE SET value = value + excluded.value",
                    list(stats.items()),
                )
            return True

        return self._write(txn)

    # ------------------------------------------------------------------ reads

    def records_for(self, scene_ids: Iterable[int]) -> dict[int, RecordRow]:
        chunks = _chunks(scene_ids)

        def txn(conn: sqlite3.Connection) -> dict[int, RecordRow]:
            found: dict[int, RecordRow] = {}
            for chunk in chunks:
                for t in conn.execute(
                    f"SELECT {_RECORD_COLS} FROM sync_records "
                    f"WHERE scene_id IN ({_marks(len(chunk))})", chunk,
                ):
                    found[t[0]] = _record_row(t)
            return found

        return self._read(txn) if chunks else {}

    def records_on_item(self, rating_key: int) -> list[RecordRow]:
        def txn(conn: sqlite3.Connection) -> list[RecordRow]:
            rows = [_record_row(t) for t in conn.execute(
                f"SELECT {_RECORD_COLS} FROM sync_records WHERE rating_key = ?",
                (int(rating_key),))]
            for sid, rk, collections, pushed in conn.execute(
                "SELECT scene_id, rating_key, collections_added, pushed_fields "
                "FROM displaced_records WHERE rating_key = ? ORDER BY scene_id",
                (int(rating_key),),
            ):
                rows.append(_record_row((sid, rk, 0, "", 0.0, "", 0.0, "", "", "", collections,
                                         "", pushed)))
            return rows

        return self._read(txn)

    def job(self, scene_id: int) -> JobRow | None:
        def txn(conn: sqlite3.Connection) -> JobRow | None:
            t = conn.execute(f"SELECT {_JOB_COLS} FROM jobs WHERE scene_id = ?",
                             (scene_id,)).fetchone()
            return _job_row(t) if t is not None else None

        return self._read(txn)

    def counts(self) -> dict[str, Any]:
        def txn(conn: sqlite3.Connection) -> dict[str, Any]:
            states = dict(conn.execute("SELECT state, count(*) FROM jobs GROUP BY state"))
            by_error = dict(conn.execute(
                "SELECT error_class, count(*) FROM dead_letters GROUP BY error_class"))
            synced, last_sync = conn.execute(
                "SELECT count(*), max(synced_at) FROM sync_records").fetchone()
            return {
                "pending": states.get("pending", 0),
                "in_progress": states.get("in_progress", 0),
                "retrying": states.get("retrying", 0),
                "dlq": sum(by_error.values()),
                "dlq_by_error": by_error,
                "synced": synced,
                "out_of_scope": conn.execute("SELECT count(*) FROM out_of_scope").fetchone()[0],
                "last_sync_at": last_sync,
                "next_due_at": _next_due(conn),
                "stats": dict(conn.execute("SELECT key, value FROM stats")),
            }

        return self._read(txn)

    def dead_letters(
        self, error_classes: Collection[str] | None = None, since: float | None = None
    ) -> list[DeadRow]:
        where, params = _dead_filter(error_classes, since)
        return self._read(lambda conn: [_dead_row(t) for t in conn.execute(
            f"SELECT {_DEAD_COLS} FROM dead_letters{where} ORDER BY last_failure_at, scene_id",
            params,
        )])

    # ------------------------------------------------------------------ maintenance

    def clear_pending(self) -> int:
        return self._write(lambda conn: conn.execute(
            "DELETE FROM jobs WHERE state != 'in_progress'").rowcount)

    def clear_dlq(self) -> int:
        return self._write(lambda conn: conn.execute("DELETE FROM dead_letters").rowcount)

    def purge_dlq(self, before: float) -> int:
        return self._write(lambda conn: conn.execute(
            "DELETE FROM dead_letters WHERE last_failure_at < ?", (before,)).rowcount)

    def delete_dead(self, scene_ids: Iterable[int]) -> int:
        chunks = _chunks(scene_ids)
        return self._write(lambda conn: sum(conn.execute(
            f"DELETE FROM dead_letters WHERE scene_id IN ({_marks(len(c))})", c).rowcount
            for c in chunks))

    def requeue_dead(self, scene_ids: Iterable[int], source: str, now: float) -> int:
        ids = sorted({int(i) for i in scene_ids})

        def txn(conn: sqlite3.Connection) -> int:
            moved = 0
            for scene_id in ids:
                row = conn.execute("SELECT cleared_fields FROM dead_letters WHERE scene_id = ?",
                                   (scene_id,)).fetchone()   # (no RETURNING: SQLite < 3.35)
                if row is not None:   # the user's clears come back with the job
                    conn.execute("DELETE FROM dead_letters WHERE scene_id = ?", (scene_id,))
                    _fold(conn, scene_id, now, source, json.loads(row[0]), now, True)
                    moved += 1
            return moved

        return self._write(txn)

    def update_meta(self, fn: MetaFn) -> dict[str, str]:
        return self._write(lambda conn: _apply_meta(conn, fn))

    def read_meta(self) -> dict[str, str]:
        return self._read(lambda conn: dict(conn.execute("SELECT key, value FROM meta")))

    def next_due(self) -> float | None:
        return self._read(_next_due)


_RELEASE = (
    "UPDATE jobs SET state = CASE WHEN attempts > 0 THEN 'retrying' ELSE 'pending' END, "
    "not_before = coalesce(?, not_before), lease_until = NULL, lease_owner = NULL, dirty = 0"
)


def _fold(
    conn: sqlite3.Connection, scene_id: int, event_at: float, source: str,
    cleared_fields: Collection[str], now: float, urgent: bool,
) -> str:
    """Insert the scene's job or fold this event into it (see storage.Storage.enqueue)."""
    row = conn.execute(
        "SELECT id, state, source, not_before, cleared_fields FROM jobs WHERE scene_id = ?",
        (scene_id,),
    ).fetchone()
    if row is None:
        conn.execute(
            "INSERT INTO jobs (scene_id, state, source, event_at, enqueued_at, not_before, "
            "cleared_fields) VALUES (?, 'pending', ?, ?, ?, ?, ?)",
            (scene_id, source, event_at, now, now, json.dumps(sorted(cleared_fields))),
        )
        return "new"
    job_id, state, old_source, not_before, old_cleared = row
    cleared = json.dumps(sorted(set(json.loads(old_cleared)) | set(cleared_fields)))
    new_source = source if old_source == "hook" else old_source
    if state == "in_progress":
        conn.execute(
            "UPDATE jobs SET event_at = max(event_at, ?), cleared_fields = ?, source = ?, "
            "dirty = 1 WHERE id = ?", (event_at, cleared, new_source, job_id),
        )
        return "dirty"
    conn.execute(
        "UPDATE jobs SET event_at = max(event_at, ?), cleared_fields = ?, source = ?, "
        "not_before = ? WHERE id = ?",
        (event_at, cleared, new_source, min(not_before, now) if urgent else not_before, job_id),
    )
    return "updated"


def _next_due(conn: sqlite3.Connection) -> float | None:
    waiting, leased = conn.execute(
        "SELECT (SELECT min(not_before) FROM jobs WHERE state != 'in_progress'), "
        "(SELECT min(lease_until) FROM jobs WHERE state = 'in_progress')"
    ).fetchone()
    times = [t for t in (waiting, leased) if t is not None]
    return min(times) if times else None


def _apply_meta(conn: sqlite3.Connection, fn: MetaFn) -> dict[str, str]:
    meta: dict[str, str] = dict(conn.execute("SELECT key, value FROM meta"))
    for key, value in fn(dict(meta), lambda: _next_due(conn)).items():
        if value is None:
            conn.execute("DELETE FROM meta WHERE key = ?", (key,))
            meta.pop(key, None)
        else:
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))
            meta[key] = value
    return meta


def _upsert_record(conn: sqlite3.Connection, record: RecordRow, now: float) -> None:
    # One item holds one record: a scene that held this item before is matched afresh.
    for (displaced,) in conn.execute(
        "SELECT scene_id FROM sync_records WHERE rating_key = ? AND scene_id != ?",
        (record["rating_key"], record["scene_id"]),
    ).fetchall():
        conn.execute("DELETE FROM sync_records WHERE scene_id = ?", (displaced,))
        _fold(conn, displaced, now, "reconcile", (), now, True)
    conn.execute("DELETE FROM displaced_records WHERE rating_key = ? OR scene_id = ?",
                 (record["rating_key"], record["scene_id"]))
    conn.execute(
        f"INSERT OR REPLACE INTO sync_records ({_RECORD_COLS}) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (record["scene_id"], record["rating_key"], record["section_id"],
         record["stash_updated_at"], record["fetched_at"], record["values_hash"],
         record["synced_at"], record["poster_key"], record["poster_hash"], record["art_hash"],
         json.dumps(record["collections_added"]), record["confidence"],
         json.dumps(record.get("pushed_fields", []))),
    )
    conn.execute("DELETE FROM dead_letters WHERE scene_id = ?", (record["scene_id"],))
    conn.execute("DELETE FROM out_of_scope WHERE scene_id = ?", (record["scene_id"],))


def _dead_filter(
    error_classes: Collection[str] | None, since: float | None
) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if error_classes is not None:
        clauses.append(f"error_class IN ({_marks(len(error_classes))})")
        params.extend(error_classes)
    if since is not None:
        clauses.append("last_failure_at >= ?")
        params.append(since)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


