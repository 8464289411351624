"""Object jobs and scene objects (docs/design.md#object-jobs): part of `JobQueue`
(job_queue.py), same rules as the rest of it (one transaction per method, on the hook's path
with the standard library only at import time).

- `enqueue_object`: the hook's one write. At most one row per (kind, object id): a new event
  bumps `version`, keeps the strongest action (destroy > merge > update), unions merged tag
  ids, takes the newest `event_at` and makes the job due now. Fifty edits are one job, also
  while a drain expands it (the bumped version makes the drain keep the row and expand it
  once more). A rename to the name every synced scene already has changes nothing.
- `object_job_due` / `object_job_done` / `object_job_retry`: the drain's side.
  `object_job_done` deletes the row only at the version it expanded.
- `scenes_of_objects` / `fold_scene_events`: which scenes PlexSync last wrote with an object
  (`scene_objects`, written with each sync record: transitions.upsert_record), and their
  events.
"""

from __future__ import annotations

from plexsync.core import fastjson as json
from plexsync.queue.enums import JobSource, ObjectAction, ObjectKind
from plexsync.queue.sqlite_db import Database
from plexsync.queue.transitions import fold as fold_scene
from plexsync.queue.transitions import update_meta

TYPE_CHECKING = False
if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Collection, Iterable, Sequence

    from plexsync.queue.markers import MetaFn
    from plexsync.queue.model import ObjectJob

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


def name_known(conn: sqlite3.Connection, kind: str, object_id: int, name: str) -> bool:
    """Whether every scene PlexSync wrote with this object (at least one) got exactly `name`:
    then a save that sends this name changes nothing in Plex."""
    row = conn.execute(
        "SELECT count(*) AS n, sum(CASE WHEN name IS ? THEN 1 ELSE 0 END) AS same "
        "FROM scene_objects WHERE kind = ? AND object_id = ?", (name, kind, object_id)).fetchone()
    return bool(row["n"]) and row["n"] == row["same"]


class ObjectJobs(Database):
    """The object-job methods of `JobQueue` (module docstring)."""

    def enqueue_object(
        self, kind: ObjectKind, object_id: int, action: ObjectAction,
        merged_ids: Collection[int], now: float, *, meta_fn: MetaFn | None = None,
        name: str | None = None,
    ) -> tuple[bool | None, dict[str, str]]:
        """Queue the object's job or fold this event into it, then run `meta_fn` (the hook's
        drain request), atomically. Returns (whether a job existed already, the meta table);
        (None, {}) and no change when `name` is what every scene PlexSync wrote with the
        object already has (`name_known`)."""
        def txn(conn: sqlite3.Connection) -> tuple[bool | None, dict[str, str]]:
            if name is not None and name_known(conn, kind, object_id, name):
                return None, {}
            existed = fold(conn, kind, object_id, action, merged_ids, now, now)
            return existed, update_meta(conn, meta_fn) if meta_fn is not None else {}

        return self._write(txn)

    def object_job_due(self, now: float) -> ObjectJob | None:
        from plexsync.queue import sqlite_rows as m

        def txn(conn: sqlite3.Connection) -> ObjectJob | None:
            row = due(conn, now)
            return m.object_job(row) if row is not None else None

        return self._read(txn)

    def object_job_done(self, job: ObjectJob) -> bool:
        """Delete the expanded job; False when an event folded into it meanwhile (it stays)."""
        return self._write(lambda conn: done(conn, job.kind, job.object_id, job.version))

    def object_job_retry(self, job: ObjectJob, not_before: float) -> None:
        self._write(lambda conn: retry(conn, job.kind, job.object_id, job.version, not_before))

    def scenes_of_objects(self, kind: ObjectKind, object_ids: Iterable[int]) -> list[int]:
        """The scenes PlexSync last wrote with one of these objects (scene_objects)."""
        return self._read(lambda conn: scenes_of(conn, kind, object_ids))

    def fold_scene_events(self, scene_ids: Sequence[int], event_at: float,
                          cleared_fields: Collection[str], now: float) -> int:
        """One hook event for each scene (urgent, with `cleared_fields`), in one step."""
        def txn(conn: sqlite3.Connection) -> int:
            for scene_id in scene_ids:
                fold_scene(conn, int(scene_id), event_at, JobSource.HOOK, cleared_fields, now,
                           True)
            return len(scene_ids)

        return self._write(txn) if scene_ids else 0
