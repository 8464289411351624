"""The SQL of object jobs and scene objects (docs/design.md#object-jobs); `SQLiteStore` runs each
function inside one of its transactions.

- `fold`: the hook's one write. At most one row per (kind, object id): a new event bumps
  `version`, keeps the strongest action (destroy > merge > update), unions merged tag ids, takes
  the newest `event_at` and makes the job due now. Fifty edits are one job, also while a drain
  expands it (the bumped version makes the drain keep the row and expand it once more).
- `due` / `done` / `retry`: the drain's side. `done` deletes the row only at the version it
  expanded.
- `scenes_of` / `replace_for_scene` / `name_known`: which scenes PlexSync last wrote with an
  object, and under which name.

On the hook path (object hooks only, imported lazily): standard library only.
"""

from __future__ import annotations

from plexsync.core import fastjson as json
from plexsync.queue.enums import ObjectAction

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Collection, Iterable

    try:
        import _sqlite3 as sqlite3
    except ImportError:  # pragma: no cover
        import sqlite3  # type: ignore[no-redef]

COLS = "kind, object_id, action, merged_ids, event_at, enqueued_at, not_before, attempts, version"
CHUNK = 500


def fold(conn: sqlite3.Connection, kind: str, object_id: int, action: ObjectAction,
         merged_ids: Collection[int], event_at: float, now: float) -> bool:
    """Insert the object's job or fold this event into it; True when a job already existed."""
    row = conn.execute("SELECT action, merged_ids FROM object_jobs WHERE kind = ? AND "
                       "object_id = ?", (kind, object_id)).fetchone()
    if row is None:
        conn.execute(
            f"INSERT INTO object_jobs ({COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, 0, 1)",
            (kind, object_id, action, json.dumps(sorted(set(merged_ids))), event_at, now, now))
        return False
    old = ObjectAction(row["action"]) if row["action"] in set(ObjectAction) \
        else ObjectAction.DESTROY
    strongest = action if action.rank > old.rank else old
    merged = sorted(set(json.loads(row["merged_ids"])) | set(merged_ids))
    conn.execute(
        "UPDATE object_jobs SET action = ?, merged_ids = ?, event_at = max(event_at, ?), "
        "not_before = min(not_before, ?), version = version + 1 WHERE kind = ? AND object_id = ?",
        (strongest, json.dumps(merged), event_at, now, kind, object_id))
    return True


def due(conn: sqlite3.Connection, now: float) -> sqlite3.Row | None:
    """The object job due first, or None."""
    row: sqlite3.Row | None = conn.execute(
        f"SELECT {COLS} FROM object_jobs WHERE not_before <= ? ORDER BY not_before, kind, "
        "object_id LIMIT 1", (now,)).fetchone()
    return row


def done(conn: sqlite3.Connection, kind: str, object_id: int, version: int) -> bool:
    """Delete the job if no event arrived since `version` was read; False: it stays, due."""
    return conn.execute("DELETE FROM object_jobs WHERE kind = ? AND object_id = ? AND "
                        "version = ?", (kind, object_id, version)).rowcount > 0


def retry(conn: sqlite3.Connection, kind: str, object_id: int, version: int,
          not_before: float) -> None:
    """Try the expansion again at `not_before` (unless a newer event made it due now)."""
    conn.execute("UPDATE object_jobs SET attempts = attempts + 1, not_before = ? WHERE "
                 "kind = ? AND object_id = ? AND version = ?",
                 (not_before, kind, object_id, version))


def scenes_of(conn: sqlite3.Connection, kind: str, object_ids: Iterable[int]) -> list[int]:
    """The scenes PlexSync last wrote with one of these objects, in id order."""
    ids = sorted({int(i) for i in object_ids})
    found: set[int] = set()
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        found.update(r["scene_id"] for r in conn.execute(
            "SELECT scene_id FROM scene_objects WHERE kind = ? AND object_id IN "
            f"({','.join('?' * len(chunk))})", (kind, *chunk)))
    return sorted(found)


def replace_for_scene(conn: sqlite3.Connection, scene_id: int,
                      objects: Iterable[tuple[str, int, str]]) -> None:
    """The scene's objects (kind, id, name) are now exactly `objects`."""
    conn.execute("DELETE FROM scene_objects WHERE scene_id = ?", (scene_id,))
    conn.executemany("INSERT OR IGNORE INTO scene_objects (kind, object_id, scene_id, name) "
                     "VALUES (?, ?, ?, ?)", [(k, int(i), scene_id, n) for k, i, n in objects])


def name_known(conn: sqlite3.Connection, kind: str, object_id: int, name: str) -> bool:
    """Whether every scene PlexSync wrote with this object (at least one) got exactly `name`:
    then a save that sends this name changes nothing in Plex."""
    row = conn.execute(
        "SELECT count(*) AS n, sum(CASE WHEN name IS ? THEN 1 ELSE 0 END) AS same "
        "FROM scene_objects WHERE kind = ? AND object_id = ?", (name, kind, object_id)).fetchone()
    return bool(row["n"]) and row["n"] == row["same"]


def next_due(conn: sqlite3.Connection) -> float | None:
    value = conn.execute("SELECT min(not_before) FROM object_jobs").fetchone()[0]
    return float(value) if value is not None else None


def count(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT count(*) FROM object_jobs").fetchone()[0])
