"""The SQLite connection under the queue (job_queue.py): WAL, locking, migrations, corruption.

Invariants and failure behaviour:
- WAL journal, `synchronous=NORMAL`: readers never block the writer; a commit survives the
  process being killed (Stash kills tasks outright). An OS crash may lose the last commits but
  never corrupts the file.
- Every write is one short `BEGIN IMMEDIATE` transaction (the write lock is taken up front, so
  no transaction fails half-way on a lock upgrade), under a busy timeout, retried a bounded
  number of times with jittered exponential sleeps when SQLite still reports "database is
  locked". Hundreds of hook processes starting at once queue up behind the lock; none fails.
- The schema is versioned with `PRAGMA user_version`; `MIGRATIONS[n]` (schema.py) takes
  version n to n+1 and runs in the same transaction as the version bump. A database from a
  newer PlexSync is refused with a clear error rather than altered.
- Rows come back as `sqlite3.Row`, read by column name.
- A file that SQLite cannot read ("file is not a database", "malformed") is moved aside with
  `datadir.move_aside` (one warning) and rebuilt empty. The move happens under a file lock and
  only after re-checking, so two processes never both rebuild (or move a fresh database).

On the hook path: only the standard library's os/sqlite3/time at import time.
"""

from __future__ import annotations

import os

try:  # the C module: the `sqlite3` package adds only datetime adapters PlexSync never
    # uses, and ~4 ms of imports on the hook path (docs/design.md#hook-budget)
    import _sqlite3 as sqlite3
except ImportError:  # pragma: no cover - not CPython
    import sqlite3  # type: ignore[no-redef]
import time

from plexsync.core import datadir
from plexsync.errors import PlexSyncError
from plexsync.queue.schema import MIGRATIONS

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import TypeVar

    T = TypeVar("T")

SCHEMA_VERSION = len(MIGRATIONS)
BUSY_TIMEOUT = 10.0  # seconds SQLite itself waits for the lock
RETRIES = 6          # further attempts after a "locked" error, with 20 ms · 2^n jittered sleeps


class StoreError(PlexSyncError):
    """The queue database could not be used (locked for too long, unwritable, too new)."""


def _is_busy(exc: sqlite3.Error) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def _is_corrupt(exc: sqlite3.Error) -> bool:
    text = str(exc).lower()
    return any(s in text for s in ("not a database", "malformed", "corrupt", "encrypted"))


def _jitter() -> float:
    """A uniform number in [0.5, 1.5) without importing `random` (hook path)."""
    return 0.5 + int.from_bytes(os.urandom(2), "big") / 65536


class Database:
    """One lazily (re)opened connection with the transaction and recovery rules above."""

    def __init__(
        self,
        path: str,
        *,
        busy_timeout: float = BUSY_TIMEOUT,
        retries: int = RETRIES,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.path = path
        self._busy_timeout = busy_timeout
        self._retries = retries
        self._sleep = sleep
        self._conn: sqlite3.Connection | None = None
        self._retrying(self._open)

    def _open(self) -> None:
        conn = sqlite3.connect(self.path, timeout=self._busy_timeout, isolation_level=None)
        conn.row_factory = sqlite3.Row  # rows are read by column name (sqlite_rows.py)
        try:
            conn.execute("PRAGMA synchronous=NORMAL")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version != SCHEMA_VERSION:
                self._migrate(conn, version)
        except BaseException:
            conn.close()
            raise
        self._conn = conn

    def _migrate(self, conn: sqlite3.Connection, version: int) -> None:
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"the queue database {self.path} was written by a newer PlexSync (schema "
                f"{version}, this one knows {SCHEMA_VERSION}); update the plugin."
            )
        # WAL is a property of the file; switching needs a moment alone, so a busy error here is
        # retried by the caller like any other lock contention.
        mode = str(conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]).lower()
        if mode != "wal" and self.path != ":memory:":
            raise sqlite3.OperationalError("database is locked (switching to WAL)")
        conn.execute("BEGIN IMMEDIATE")
        try:
            current = conn.execute("PRAGMA user_version").fetchone()[0]
            for step in range(current, SCHEMA_VERSION):  # another process may have done it
                for statement in MIGRATIONS[step]:
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {step + 1}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            self._open()
        assert self._conn is not None
        return self._conn

    def _recover(self, reason: str) -> None:
        """Move an unreadable database aside (once, across processes) and start afresh."""
        self.close()
        if self.path == ":memory:":
            return
        with datadir.locked(self.path):
            if os.path.isdir(self.path) or _still_corrupt(self.path):
                target = f"{self.path}.corrupt-{int(time.time())}"
                for suffix in ("-wal", "-shm"):  # a stale WAL must never meet the new file
                    if os.path.exists(self.path + suffix):
                        os.replace(self.path + suffix, target + suffix)
                datadir.move_aside(self.path, reason)

    def _retrying(self, fn: Callable[[], T]) -> T:
        """Run `fn`, retrying on lock contention (bounded) and once after a corruption rebuild."""
        recovered = False
        attempt = 0
        while True:
            try:
                return fn()
            except sqlite3.DatabaseError as exc:
                # a folder where the file belongs is as unusable as a corrupt file
                if (_is_corrupt(exc) or os.path.isdir(self.path)) and not recovered:
                    recovered = True
                    self._recover(str(exc))
                    continue
                if not _is_busy(exc) or attempt >= self._retries:
                    raise self._failure(exc) from None
                self._sleep(0.02 * 2**attempt * _jitter())
                attempt += 1

    def _failure(self, exc: sqlite3.Error) -> StoreError:
        if _is_busy(exc):
            return StoreError(
                f"the queue database {self.path} stayed locked for too long ({exc}); another "
                "PlexSync process is holding it. The next run will retry."
            )
        return StoreError(f"the queue database {self.path} could not be used: {exc}.")

    def _write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        return self._retrying(lambda: self._transaction("BEGIN IMMEDIATE", fn))

    def _read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        return self._retrying(lambda: self._transaction("BEGIN", fn))

    def _transaction(self, begin: str, fn: Callable[[sqlite3.Connection], T]) -> T:
        conn = self._db()
        conn.execute(begin)
        try:
            result = fn(conn)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                try:
                    conn.execute("ROLLBACK")
                except sqlite3.Error:
                    self.close()  # a broken connection is reopened by the next call
            raise
        return result


def _still_corrupt(path: str) -> bool:
    """Re-check under the lock: another process may have rebuilt the file meanwhile."""
    try:
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT)
    except sqlite3.Error:
        return False
    try:
        conn.execute("PRAGMA user_version").fetchone()
        return str(conn.execute("PRAGMA quick_check(1)").fetchone()[0]).lower() != "ok"
    except sqlite3.DatabaseError as exc:
        return _is_corrupt(exc)
    finally:
        conn.close()
