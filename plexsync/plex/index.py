"""Per-section Plex library index: file path → (ratingKey, size, duration), in diskcache (§6).

Layout in `<data_dir>/index/` (a diskcache, eviction off):
- `meta` per section: generation id, shard count, built_at, item count, Location paths, title,
  and `scan_at` (last folder scan PlexSync asked for in that section).
- per generation, `shards` path shards {path: packed (ratingKey, size, duration_ms)} and as many
  basename shards {casefolded basename: path | (path, ...)}, sharded by crc32 so a lookup
  unpickles about 256 entries, not the whole section. Plain str and 24-byte packed values
  (no objects, not even tuples: 100,000 items build in about 40 MiB of Python memory).

Invariants:
- A build is ONE paginated scan of `/library/sections/{id}/all`: ceil(N / page_size) GETs.
  Its shards and the new meta are written in one transaction (readers see the old or the new
  generation, never a mix); the generation before the previous one is deleted then, so a
  reader that loaded the previous meta a moment ago still finds its shards.
- A section is rebuilt when it has no index or it is older than `max_age`; on a miss (only the
  section the miss concerns, when known) only when its index is older than `miss_interval`,
  or older than `after_scan_interval` when PlexSync asked Plex to scan a folder of it after
  the last build (so a new file is found within a minute or two of its scan). A build lease
  (diskcache `add` with expiry) keeps concurrent processes from building the same section
  twice when an older index exists.
- Storage is `index_store`: the cache is opened under a file lock with a short SQLite timeout;
  any cache error or timeout (locked database, corrupt file) is a miss, never a failure: the
  index then lives in this process's memory for the rest of the run, and a corrupt cache
  folder is moved aside.
"""

from __future__ import annotations

import contextlib
import os
import struct
import time
import uuid
import zlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

from plexsync.core.log import log
from plexsync.core.paths import basename, fold, nfc
from plexsync.plex.index_cache import CacheError, Store, open_store
from plexsync.plex.model import Candidate, Page, Section

DEFAULT_PAGE_SIZE = 1000
MAX_AGE = 6 * 3600.0
MISS_INTERVAL = 300.0
AFTER_SCAN_INTERVAL = 25.0  # a one-folder scan takes Plex seconds; retries come >= 30 s later
SCAN_THROTTLE = 600.0
BUILD_LEASE = 600.0
SHARD_TARGET = 256
_V = "v2"   # v2: paths stored in NFC (v1 caches are simply not read again)
_ENTRY = struct.Struct("<QQQ")   # 57 bytes per entry as bytes, against ~150 as a tuple

PathShard = dict[str, bytes]   # path → _ENTRY-packed (ratingKey, size, duration_ms)
NameShard = dict[str, "str | tuple[str, ...]"]


class PageSource(Protocol):
    def section_page(self, section_id: int, start: int, size: int) -> Page: ...


def _shard_of(text: str, shards: int) -> int:
    return zlib.crc32(text.encode("utf-8", "surrogatepass")) % shards


def shard_count(items: int) -> int:
    n = 1
    while n * SHARD_TARGET < items:
        n *= 2
    return n


def _meta_key(section_id: int) -> tuple[Any, ...]:
    return (_V, "meta", section_id)


def _shard_key(kind: str, section_id: int, gen: str, shard: int) -> tuple[Any, ...]:
    return (_V, kind, section_id, gen, shard)


class LibraryIndex:
    """The index of the configured sections; implements `matcher.Lookup`."""

    def __init__(self, data_dir: str, source: PageSource, sections: Sequence[Section], *,
                 clock: Callable[[], float] = time.time, page_size: int = DEFAULT_PAGE_SIZE,
                 max_age: float = MAX_AGE, miss_interval: float = MISS_INTERVAL,
                 after_scan_interval: float = AFTER_SCAN_INTERVAL,
                 store: Store | None = None) -> None:
        self._source = source
        self.sections = list(sections)
        self._clock = clock
        self.page_size = page_size
        self.max_age = max_age
        self.miss_interval = miss_interval
        self.after_scan_interval = after_scan_interval
        self._store = store or open_store(data_dir)
        self._meta: dict[int, dict[str, Any] | None] = {}
        self._shards: dict[tuple[Any, ...], dict[str, Any]] = {}
        self.builds = 0
        self.listed: set[int] = set()   # sections this object built: as fresh as the listing

    @property
    def locations(self) -> dict[int, tuple[str, ...]]:
        return {s.id: s.locations for s in self.sections}

    # ------------------------------------------------------------------ cache access
    def _get(self, key: tuple[Any, ...]) -> Any:
        try:
            return self._store.get(key)
        except CacheError as exc:
            log.debug(f"library index read missed ({exc})")
            return None

    def meta(self, section_id: int, *, reload: bool = False) -> dict[str, Any] | None:
        if reload or section_id not in self._meta:
            value = self._get(_meta_key(section_id))
            self._meta[section_id] = value if isinstance(value, dict) else None
        return self._meta[section_id]

    def _shard(self, kind: str, section_id: int, meta: dict[str, Any], text: str) -> dict[str, Any]:
        key = _shard_key(kind, section_id, meta["gen"], _shard_of(text, meta["shards"]))
        shard = self._shards.get(key)
        if shard is None:
            value = self._get(key)
            shard = value if isinstance(value, dict) else {}
            self._shards[key] = shard
        return shard

    # ------------------------------------------------------------------ lookups
    def by_path(self, plex_path: str) -> Candidate | None:
        plex_path = nfc(plex_path)   # the index holds NFC paths (Plex may report NFD)
        for section in self.sections:
            meta = self.meta(section.id)
            if meta is not None:
                hit = self._shard("p", section.id, meta, plex_path).get(plex_path)
                if hit is not None:
                    return Candidate(section.id, plex_path, *_ENTRY.unpack(hit))
        return None

    def by_basename(self, basename_folded: str) -> list[Candidate]:
        found: list[Candidate] = []
        for section in self.sections:
            meta = self.meta(section.id)
            if meta is None:
                continue
            value = self._shard("b", section.id, meta, basename_folded).get(basename_folded)
            for path in (value,) if isinstance(value, str) else value or ():
                hit = self._shard("p", section.id, meta, path).get(path)
                if hit is not None:
                    found.append(Candidate(section.id, path, *_ENTRY.unpack(hit)))
        return found

    def entries(self, section_id: int) -> Iterator[Candidate]:
        """Every indexed file of a section (reconciliation), one shard in memory at a time."""
        meta = self.meta(section_id)
        if meta is None:
            return
        for shard in range(meta["shards"]):
            value = self._get(_shard_key("p", section_id, meta["gen"], shard))
            for path, packed in (value or {}).items():
                yield Candidate(section_id, path, *_ENTRY.unpack(packed))

    # ------------------------------------------------------------------ freshness
    def ensure_fresh(self) -> None:
        """Build every section that has no index yet or whose index is older than `max_age`."""
        now = self._clock()
        for section in self.sections:
            meta = self.meta(section.id)
            if meta is None or now - meta["built_at"] >= self.max_age:
                self._build(section, meta)

    def ensure_listed(self) -> set[int]:
        """Read the listing of every section not yet listed through this object (one pass,
        ceil(items / page_size) GETs each): the check that a recorded item still exists and
        still holds its file (docs/design.md#ownership). Returns the sections now listed (a
        section another process is building, under its lease, is not)."""
        for section in self.sections:
            if section.id not in self.listed:
                self._build(section, self.meta(section.id, reload=True))
        return self.listed

    def rebuild(self) -> list[int]:
        """Build every section now, whatever its age (reconciliation's one listing pass);
        returns the ids of the sections this call built (a section another process is
        building, under its lease, is left to it)."""
        return [s.id for s in self.sections if self._build(s, self.meta(s.id, reload=True))]

    def refresh_on_miss(self, section_id: int | None = None) -> bool:
        """After a lookup missed: rebuild the sections allowed to be rebuilt now; True if any.

        `section_id`: the configured section the miss concerns, when known (the one whose
        folder holds the missing file); only that one is then rebuilt, not every section."""
        now = self._clock()
        rebuilt = False
        for section in self.sections:
            if section_id is not None and section.id != section_id:
                continue
            meta = self.meta(section.id, reload=True)
            if meta is not None:
                age = now - meta["built_at"]
                scanned_since = meta.get("scan_at", 0.0) >= meta["built_at"]
                if age < self.miss_interval and not (
                        scanned_since and age >= self.after_scan_interval):
                    continue
            rebuilt = self._build(section, meta) or rebuilt
        return rebuilt

    def claim_scan(self, folder: str) -> bool:
        """True when no scan of `folder` was asked for in the last 10 minutes (any process)."""
        key = (_V, "scan", folder)
        now = self._clock()
        try:
            with self._store.transaction() as store:
                last = store.get(key)
                if isinstance(last, float | int) and 0 <= now - last < SCAN_THROTTLE:
                    return False
                store.set(key, now, expire=SCAN_THROTTLE)
        except CacheError:
            return True
        return True

    def note_scan(self, section_id: int) -> None:
        """Remember that PlexSync asked Plex to scan a folder of this section just now."""
        meta = self.meta(section_id, reload=True)
        if meta is None:
            return
        meta = {**meta, "scan_at": self._clock()}
        self._meta[section_id] = meta
        with contextlib.suppress(CacheError):
            self._store.set(_meta_key(section_id), meta)

    # ------------------------------------------------------------------ building
    def _build(self, section: Section, meta: dict[str, Any] | None) -> bool:
        lease = (_V, "lease", section.id)
        try:
            leased = self._store.add(lease, os.getpid(), BUILD_LEASE)
        except CacheError:
            leased = True
        if not leased and meta is not None:
            log.debug(f"library index of '{section.title}' is being rebuilt by another process")
            return False
        started = time.monotonic()
        try:
            paths, names, count = self._scan(section.id)
            new_meta = {
                "gen": uuid.uuid4().hex[:12], "shards": len(paths), "built_at": self._clock(),
                "count": count, "locations": list(section.locations), "title": section.title,
                "scan_at": (meta or {}).get("scan_at", 0.0),
            }
            self._persist(section.id, new_meta, paths, names)
        finally:
            with contextlib.suppress(CacheError):
                self._store.delete(lease)
        self._meta[section.id] = new_meta
        self._shards = {k: v for k, v in self._shards.items() if k[2] != section.id}
        self.builds += 1
        self.listed.add(section.id)
        log.debug(f"indexed {count} Plex files of '{section.title}' in "
                  f"{time.monotonic() - started:.1f}s")
        return True

    def _scan(self, section_id: int) -> tuple[list[PathShard], list[NameShard], int]:
        paths: list[PathShard] = []
        names: list[NameShard] = []
        start = count = 0
        while True:
            total, videos, rows = self._source.section_page(section_id, start, self.page_size)
            if not paths:
                n = shard_count(max(total, len(rows)))
                paths, names = [{} for _ in range(n)], [{} for _ in range(n)]
            n = len(paths)
            for raw, rk, size, dur in rows:
                path = nfc(raw)
                shard = paths[_shard_of(path, n)]
                if path not in shard:
                    count += 1
                shard[path] = _ENTRY.pack(rk, max(0, size), max(0, dur))
                name = fold(basename(path))
                bucket = names[_shard_of(name, n)]
                old = bucket.get(name)
                if old is None:
                    bucket[name] = path
                elif isinstance(old, str):
                    bucket[name] = old if old == path else (old, path)
                elif path not in old:
                    bucket[name] = (*old, path)
            start += videos
            if not videos or start >= total:
                return paths, names, count

    def _persist(self, section_id: int, meta: dict[str, Any], paths: list[PathShard],
                 names: list[NameShard]) -> None:
        """Write the shards and flip the meta in one transaction; drop the generation before."""
        gen = meta["gen"]

        def write(store: Store) -> None:
            with store.transaction():
                for i, shard in enumerate(paths):
                    store.set(_shard_key("p", section_id, gen, i), shard)
                for i, bucket in enumerate(names):
                    store.set(_shard_key("b", section_id, gen, i), bucket)
                current = store.get(_meta_key(section_id))
                if isinstance(current, dict):
                    meta["prev"] = [current["gen"], current["shards"]]
                    if current.get("prev"):
                        pgen, pshards = current["prev"]
                        for kind in ("p", "b"):
                            for i in range(pshards):
                                store.delete(_shard_key(kind, section_id, pgen, i))
                store.set(_meta_key(section_id), meta)

        try:
            write(self._store)
        except CacheError as exc:
            log.debug(f"library index not saved ({exc}); keeping it in memory for this run")
            self._store = Store({})
            write(self._store)
