"""The Plex section listing of one reconciliation, spooled to disk (docs/design.md).

`Listing` pages through every configured section ONCE (`PlexClient.listing_page`, the listing
with values, `DEFAULT_PAGE_SIZE` items per GET) and serves two consumers from the same pages:
- the library index, which it rebuilds (`LibraryIndex.rebuild` with this object as its page
  source), so the matcher and the drain after the run see exactly what was listed;
- `listed(rating_key)`: the item as the list view showed it, for the gap judgement.

Memory stays flat as libraries grow: items go to a temporary SQLite file in the data directory
(one row per item, JSON), never into a Python dict. The file is removed by `close()`; one left
behind by a killed run is replaced by the next run (its name is fixed).
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Sequence
from typing import Any

from plexsync.plex.client import PlexClient
from plexsync.plex.index import DEFAULT_PAGE_SIZE, LibraryIndex
from plexsync.plex.model import ListedItem, Page, PlexItem, Section

SPOOL_NAME = "reconcile-listing.sqlite"


class Listing:
    def __init__(self, data_dir: str, plex: PlexClient) -> None:
        self._plex = plex
        self.path = os.path.join(data_dir, SPOOL_NAME)
        for suffix in ("", "-journal", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.remove(self.path + suffix)
        self._db = sqlite3.connect(self.path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=OFF")
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.execute("CREATE TABLE items (rating_key INTEGER PRIMARY KEY, doc TEXT NOT NULL)")
        self.pages = 0
        self.items = 0

    # ------------------------------------------------------------------ filling
    def section_page(self, section_id: int, start: int, size: int) -> Page:
        """The index's page source: one listing GET, spooled on the way through."""
        listing = self._plex.listing_page(section_id, start, size)
        self.pages += 1
        rows = [(li.item.rating_key, _encode(li)) for li in listing.items if li.item.rating_key]
        self._db.execute("BEGIN")
        self._db.executemany("INSERT OR REPLACE INTO items VALUES (?, ?)", rows)
        self._db.execute("COMMIT")
        self.items += len(rows)
        return listing.page

    def fill(self, index: LibraryIndex, sections: Sequence[Section]) -> None:
        """Rebuild the index from this listing; list alone what another process is indexing."""
        built = set(index.rebuild())
        for section in sections:
            if section.id not in built:
                start = 0
                while True:
                    page = self.section_page(section.id, start, DEFAULT_PAGE_SIZE)
                    start += page.videos
                    if not page.videos or start >= page.total:
                        break

    # ------------------------------------------------------------------ reading
    def listed(self, rating_key: int) -> ListedItem | None:
        row = self._db.execute("SELECT doc FROM items WHERE rating_key = ?",
                               (rating_key,)).fetchone()
        return _decode(row[0]) if row is not None else None

    def close(self) -> None:
        self._db.close()
        with contextlib.suppress(FileNotFoundError):
            os.remove(self.path)


def _encode(li: ListedItem) -> str:
    i = li.item
    return json.dumps([i.rating_key, i.section_id, i.title, i.summary, i.studio, i.date, i.year,
                       i.rating, {k: list(v) for k, v in i.tags.items()}, list(i.files),
                       i.has_poster, i.has_art, li.updated_at], ensure_ascii=False)


def _decode(doc: str) -> ListedItem:
    v: list[Any] = json.loads(doc)
    item = PlexItem(rating_key=v[0], section_id=v[1], title=v[2], summary=v[3], studio=v[4],
                    date=v[5], year=v[6], rating=v[7],
                    tags={k: tuple(t) for k, t in v[8].items()}, files=tuple(v[9]),
                    has_poster=v[10], has_art=v[11])
    return ListedItem(item, v[12])
