"""Rows of the queue database ↔ the model's records (model.py), by column name; the SQL
text that selects them (column lists, placeholders, the dead-letter filter).

Each table has one record type: `jobs` ↔ `Job`, `sync_records` ↔ `SyncRecord`,
`dead_letters` ↔ `DeadLetter`; lists are JSON text. The queue imports this only when it
reads rows or writes a record: `dataclasses` (model.py) would cost the hook milliseconds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from plexsync.core import fastjson as json
from plexsync.errors import ErrorClass
from plexsync.queue.enums import JobSource, JobState, ObjectAction, ObjectKind
from plexsync.queue.model import DeadLetter, Job, ObjectJob, SyncRecord

if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Collection, Iterable

CHUNK = 500         # ids per IN (...) list, far below SQLite's variable limit


def chunks(ids: Iterable[int]) -> list[list[int]]:
    """The distinct ids, sorted, in lists short enough for one `IN (...)` each."""
    unique = sorted({int(i) for i in ids})
    return [unique[i:i + CHUNK] for i in range(0, len(unique), CHUNK)]


def marks(n: int) -> str:
    """`n` comma-separated placeholders."""
    return ",".join("?" * n)


JOB_COLS = (
    "id, scene_id, state, source, event_at, enqueued_at, not_before, attempts, cleared_fields, "
    "last_error_class, last_error, first_failure_at, lease_until, lease_owner, dirty"
)
RECORD_COLS = (
    "scene_id, rating_key, section_id, stash_updated_at, fetched_at, values_hash, synced_at, "
    "poster_key, poster_hash, art_hash, collections_added, confidence, pushed_fields, "
    "field_digests, pushed_values, stash_files, poster_id"
)
DISPLACED_COLS = (
    "scene_id, rating_key, collections_added, pushed_fields, field_digests, pushed_values"
)
DEAD_COLS = (
    "scene_id, error_class, message, attempts, first_failure_at, last_failure_at, candidates, "
    "source, created_at, cleared_fields"
)


def job(row: sqlite3.Row, leased: tuple[str, float] | None = None) -> Job:
    """The job of a `jobs` row; `leased=(owner, lease_until)`: as just claimed by `owner`."""
    error_class = row["last_error_class"]
    owner, lease_until = leased if leased is not None else (
        row["lease_owner"], row["lease_until"])
    return Job(
        id=row["id"], scene_id=row["scene_id"],
        state=JobState.IN_PROGRESS if leased is not None else JobState(row["state"]),
        source=JobSource.stored(row["source"]), event_at=row["event_at"],
        enqueued_at=row["enqueued_at"], not_before=row["not_before"],
        attempts=row["attempts"], cleared_fields=frozenset(json.loads(row["cleared_fields"])),
        last_error_class=ErrorClass(error_class) if error_class in set(ErrorClass) else None,
        first_failure_at=row["first_failure_at"], lease_until=lease_until,
        last_error=row["last_error"], lease_owner=owner, dirty=bool(row["dirty"]),
    )


def record(row: sqlite3.Row) -> SyncRecord:
    """The sync record of a `sync_records` row."""
    return SyncRecord(
        scene_id=row["scene_id"], rating_key=row["rating_key"], section_id=row["section_id"],
        stash_updated_at=row["stash_updated_at"], fetched_at=row["fetched_at"],
        values_hash=row["values_hash"], synced_at=row["synced_at"],
        poster_key=row["poster_key"], poster_hash=row["poster_hash"], art_hash=row["art_hash"],
        collections_added=tuple(json.loads(row["collections_added"])),
        confidence=row["confidence"], pushed_fields=tuple(json.loads(row["pushed_fields"])),
        field_digests=_pairs(row["field_digests"]), pushed_values=_pairs(row["pushed_values"]),
        stash_files=tuple(json.loads(row["stash_files"])), poster_id=row["poster_id"],
    )


def _pairs(text: str) -> tuple[tuple[str, str], ...]:
    """A JSON object of text values as sorted pairs (anything unreadable: none)."""
    try:
        data = json.loads(text)
    except (TypeError, ValueError):
        return ()
    if not isinstance(data, dict):
        return ()
    return tuple(sorted((str(k), str(v)) for k, v in data.items()))


def dead_letter(row: sqlite3.Row) -> DeadLetter:
    """The dead letter of a `dead_letters` row."""
    return DeadLetter(
        scene_id=row["scene_id"], error_class=row["error_class"], message=row["message"],
        attempts=row["attempts"], first_failure_at=row["first_failure_at"],
        last_failure_at=row["last_failure_at"], candidates=tuple(json.loads(row["candidates"])),
        source=JobSource.stored(row["source"]), created_at=row["created_at"],
        cleared_fields=frozenset(json.loads(row["cleared_fields"])),
    )


def record_values(record: SyncRecord) -> tuple[Any, ...]:
    """A sync record as the values of a `sync_records` row, in `RECORD_COLS` order."""
    return (record.scene_id, record.rating_key, record.section_id, record.stash_updated_at,
            record.fetched_at, record.values_hash, record.synced_at, record.poster_key,
            record.poster_hash, record.art_hash, json.dumps(list(record.collections_added)),
            record.confidence, json.dumps(list(record.pushed_fields)),
            json.dumps(dict(record.field_digests), sort_keys=True),
            json.dumps(dict(record.pushed_values), sort_keys=True),
            json.dumps(list(record.stash_files)), record.poster_id)


def displaced_record(row: sqlite3.Row) -> SyncRecord:
    """A `displaced_records` row (`DISPLACED_COLS`) as a record: only what that scene wrote
    to an item it no longer holds is known (collections, fields, their digests and values)."""
    return SyncRecord(
        scene_id=row["scene_id"], rating_key=row["rating_key"], section_id=0,
        stash_updated_at="", fetched_at=0.0, values_hash="", synced_at=0.0,
        collections_added=tuple(json.loads(row["collections_added"])), confidence="",
        pushed_fields=tuple(json.loads(row["pushed_fields"])), displaced=True,
        field_digests=_pairs(row["field_digests"]), pushed_values=_pairs(row["pushed_values"]),
    )


def dead_filter(
    error_classes: Collection[str] | None, since: float | None
) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if error_classes is not None:
        clauses.append(f"error_class IN ({marks(len(error_classes))})")
        params.extend(error_classes)
    if since is not None:
        clauses.append("last_failure_at >= ?")
        params.append(since)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


def object_job(row: sqlite3.Row) -> ObjectJob:
    """The object job of an `object_jobs` row (an action written by a newer version reads as
    the strongest, a destroy: it finds the most scenes)."""
    action = row["action"]
    return ObjectJob(
        kind=ObjectKind(row["kind"]), object_id=row["object_id"],
        action=ObjectAction(action) if action in set(ObjectAction) else ObjectAction.DESTROY,
        event_at=row["event_at"], enqueued_at=row["enqueued_at"], not_before=row["not_before"],
        merged_ids=tuple(json.loads(row["merged_ids"])), attempts=row["attempts"],
        version=row["version"],
    )
