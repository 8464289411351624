"""The library index's storage: a diskcache in `<data_dir>/index/` behind a small `Store`.

Invariants:
- Opened safely when many processes start at once: `open_store` opens the cache under a file
  lock, after a probe that fails at once (instead of diskcache's 60 s wait) when another
  process holds the write lock, with a short SQLite timeout (`CACHE_TIMEOUT`).
- A cache timeout or error (locked database, unreadable value) is a miss, never a failure:
  `Store` reads, writes and transactions raise only `CacheError`, which callers treat as a
  miss; when the cache cannot be opened, `open_store` returns a `Store` over this process's
  memory instead (same interface, `persistent` False).
- A corrupt cache folder is moved aside (`datadir.move_aside`) and rebuilt from scratch.
- `clear` (Clear Match Cache) never raises for a busy or broken cache.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import time
from collections.abc import Iterator
from typing import Any

from plexsync.core import datadir
from plexsync.core.log import log

INDEX_DIR = "index"
CACHE_TIMEOUT = 1.0


class CacheError(Exception):
    """Any failure of the persistent cache (diskcache.Timeout, sqlite3, unpickling): a miss."""


class Store:
    """The few diskcache operations the index uses; errors become `CacheError`."""

    def __init__(self, cache: Any) -> None:
        self._cache = cache   # diskcache.Cache, or a dict for the in-memory fallback

    @property
    def persistent(self) -> bool:
        return not isinstance(self._cache, dict)

    def get(self, key: tuple[Any, ...]) -> Any:
        if not self.persistent:
            value, expires = self._cache.get(key, (None, None))
            return None if expires is not None and expires <= time.time() else value
        try:
            return self._cache.get(key)
        except Exception as exc:   # diskcache.Timeout, sqlite3 errors, unpickling errors
            raise CacheError(str(exc)) from None

    def add(self, key: tuple[Any, ...], value: Any, expire: float) -> bool:
        """Set `key` unless it is present; True when this call set it."""
        if not self.persistent:
            if self.get(key) is not None:
                return False
            self._cache[key] = (value, time.time() + expire)
            return True
        try:
            return bool(self._cache.add(key, value, expire=expire))
        except Exception as exc:
            raise CacheError(str(exc)) from None

    def delete(self, key: tuple[Any, ...]) -> None:
        if not self.persistent:
            self._cache.pop(key, None)
            return
        try:
            self._cache.delete(key)
        except Exception as exc:
            raise CacheError(str(exc)) from None

    def set(self, key: tuple[Any, ...], value: Any, expire: float | None = None) -> None:
        """Store `value`; `expire` (seconds, wall clock) lets the cache forget it eventually."""
        if not self.persistent:
            self._cache[key] = (value, None if expire is None else time.time() + expire)
            return
        try:
            self._cache.set(key, value, expire=expire)
        except Exception as exc:
            raise CacheError(str(exc)) from None

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Store]:
        """All reads and writes inside happen atomically (a no-op for the memory fallback)."""
        if not self.persistent:
            yield self
            return
        try:
            with self._cache.transact():
                yield self
        except CacheError:
            raise
        except Exception as exc:
            raise CacheError(str(exc)) from None

    def clear(self) -> None:
        if self.persistent:
            self._cache.clear(retry=True)
        else:
            self._cache.clear()


def open_store(data_dir: str, timeout: float = CACHE_TIMEOUT) -> Store:
    """Open `<data_dir>/index` safely; fall back to process memory when that fails."""
    folder = os.path.join(data_dir, INDEX_DIR)
    for attempt in range(2):
        try:
            import diskcache

            with datadir.locked(folder, timeout=5.0):
                _probe(os.path.join(folder, "cache.db"), timeout)
                cache = diskcache.Cache(folder, timeout=timeout, eviction_policy="none")
            return Store(cache)
        except sqlite3.DatabaseError as exc:
            if "locked" in str(exc) or attempt:
                break
            datadir.move_aside(folder, f"{type(exc).__name__}: {exc}")   # corrupt: start afresh
        except Exception as exc:   # lock timeout, OSError: a miss, not a failure
            log.debug(f"library index cache unavailable ({type(exc).__name__}); using memory")
            break
    return Store({})


def _probe(db: str, timeout: float) -> None:
    """Raise sqlite3.OperationalError at once if a writer holds the cache: diskcache's own
    initialisation would otherwise wait up to 60 s for it."""
    if not os.path.exists(db):
        return
    con = sqlite3.connect(db, timeout=timeout, isolation_level=None)
    try:
        con.execute("BEGIN IMMEDIATE")
        con.execute("ROLLBACK")
    finally:
        con.close()


def clear(data_dir: str) -> None:
    """Drop the whole index (Clear Match Cache). Never raises for a busy or broken cache."""
    folder = os.path.join(data_dir, INDEX_DIR)
    store = open_store(data_dir)
    try:
        store.clear()
    except Exception:
        shutil.rmtree(folder, ignore_errors=True)
