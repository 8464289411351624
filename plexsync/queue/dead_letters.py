"""The dead-letter queue: the jobs that failed for good, kept until recovered or purged.
Part of `JobQueue` (job_queue.py), which adds the live jobs; same rules (one transaction per
method, states as parameters). Standard library only at import time (the hook's path).
"""

from __future__ import annotations

from plexsync.core import fastjson as json
from plexsync.queue.enums import JobSource
from plexsync.queue.sqlite_db import Database
from plexsync.queue.transitions import fold

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Iterable
    from typing import Any

    from plexsync.errors import ErrorClass
    from plexsync.queue.model import DeadLetter


class DeadLetters(Database):
    clock: Callable[[], float]

    def dlq_entries(
        self, error_types: Collection[ErrorClass | str] | None = None, since: float | None = None
    ) -> list[DeadLetter]:
        """Dead letters of those classes (None: all) that last failed at or after `since`,
        oldest last failure first."""
        from plexsync.queue import sqlite_rows as m

        where, params = m.dead_filter(
            None if error_types is None else [str(c) for c in error_types], since)
        return self._read(lambda conn: [m.dead_letter(row) for row in conn.execute(
            f"SELECT {m.DEAD_COLS} FROM dead_letters{where} ORDER BY last_failure_at, scene_id",
            params)])

    def newest_dead_letter_rows(self, limit: int) -> list[dict[str, Any]]:
        """The `limit` newest dead letters as plain dicts of what the PlexSync page shows
        (plain dicts: the page's import budget, tasks/status.py)."""
        return self._read(lambda conn: [
            {**dict(row), "candidates": json.loads(row["candidates"])} for row in conn.execute(
                "SELECT scene_id, error_class, message, attempts, last_failure_at, candidates "
                "FROM dead_letters ORDER BY last_failure_at DESC, scene_id DESC LIMIT ?",
                (limit,))])

    def clear_dlq(self) -> int:
        return self._write(lambda conn: conn.execute("DELETE FROM dead_letters").rowcount)

    def purge_dlq(self, older_than: float) -> int:
        """Delete dead letters whose last failure is more than `older_than` seconds ago."""
        before = self.clock() - older_than
        return self._write(lambda conn: conn.execute(
            "DELETE FROM dead_letters WHERE last_failure_at < ?", (before,)).rowcount)

    def delete_dead(self, scene_ids: Iterable[int]) -> int:
        """Delete those scenes' dead letters; returns how many existed."""
        from plexsync.queue import sqlite_rows as m

        chunks = m.chunks(scene_ids)
        return self._write(lambda conn: sum(conn.execute(
            f"DELETE FROM dead_letters WHERE scene_id IN ({m.marks(len(c))})", c).rowcount
            for c in chunks))

    def requeue_dlq(
        self, error_types: Collection[ErrorClass | str] | None = None,
        since: float | None = None, scene_ids: Collection[int] | None = None,
    ) -> int:
        """Move matching dead letters (optionally only `scene_ids`) back into the queue, due
        now, with their cleared fields, so a clear that failed still clears."""
        ids = sorted({d.scene_id for d in self.dlq_entries(error_types, since)
                      if scene_ids is None or d.scene_id in scene_ids})
        now = self.clock()

        def txn(conn: Any) -> int:
            moved = 0
            for scene_id in ids:
                row = conn.execute("SELECT cleared_fields FROM dead_letters WHERE scene_id = ?",
                                   (scene_id,)).fetchone()   # (no RETURNING: SQLite < 3.35)
                if row is not None:
                    conn.execute("DELETE FROM dead_letters WHERE scene_id = ?", (scene_id,))
                    fold(conn, scene_id, now, JobSource.RECOVER,
                         json.loads(row["cleared_fields"]), now, True)
                    moved += 1
            return moved

        return self._write(txn)
