"""Sync records in the queue database (docs/design.md#ownership): reads, and the one write.

A record belongs to one scene and one Plex item (`sync_records`, unique per item). What a
record wrote on an item it has left stays as a `displaced_records` row until that item's next
owner undoes it. Imported by sqlite_store.py only when records are read or written (never on
the hook path). Each function runs inside the caller's transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from plexsync.queue import sqlite_rows as m
from plexsync.queue.model import SyncRecord


def by_scene(conn: sqlite3.Connection, chunks: list[list[int]]) -> dict[int, SyncRecord]:
    """The records of the scenes in `chunks` (see `sqlite_rows.chunks`)."""
    found: dict[int, SyncRecord] = {}
    for chunk in chunks:
        for row in conn.execute(f"SELECT {m.RECORD_COLS} FROM sync_records "
                                f"WHERE scene_id IN ({m.marks(len(chunk))})", chunk):
            found[row["scene_id"]] = m.record(row)
    return found


def on_item(conn: sqlite3.Connection, rating_key: int) -> list[SyncRecord]:
    """The record holding a Plex item, then the displaced rows of scenes that left it."""
    held = [m.record(row) for row in conn.execute(
        f"SELECT {m.RECORD_COLS} FROM sync_records WHERE rating_key = ?", (rating_key,))]
    return held + [m.displaced_record(row) for row in conn.execute(
        f"SELECT {m.DISPLACED_COLS} FROM displaced_records WHERE rating_key = ? "
        "ORDER BY scene_id", (rating_key,))]


def upsert(conn: sqlite3.Connection, record: SyncRecord, now: float,
           requeue: Callable[[int], object]) -> None:
    """Store a scene's new record. Another scene's record on the same item is dropped and that
    scene queued again (`requeue`, to be matched afresh); the scene's own record on another
    item leaves a displaced row there (hand-over); the scene's dead letter and out-of-scope
    mark go."""
    # One item holds one record: a scene that held this item before is matched afresh.
    for row in conn.execute(
        "SELECT scene_id FROM sync_records WHERE rating_key = ? AND scene_id != ?",
        (record.rating_key, record.scene_id),
    ).fetchall():
        conn.execute("DELETE FROM sync_records WHERE scene_id = ?", (row["scene_id"],))
        requeue(row["scene_id"])
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
