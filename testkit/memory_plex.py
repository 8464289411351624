"""`MemoryPlex`: an in-memory `PlexPort` for unit tests of the sync engine (no HTTP, no threads).

The loopback ``FakePlex`` checks PlexSync's *client* (requests, plexapi, XML); this fake checks
what sits above the client. It holds the same state (``PlexLibrary``: sections, items, staged
files) and applies edits with the same contract (``plex_edit.parse_edit``/``apply_edit``: a key
the real server rejects is rejected here too), and it answers with the plain values
``PlexClient`` returns (``plex.model``). ``tests/integration/test_memory_plex.py`` checks that
both fakes, read through their clients, agree.

Failures are the ones ``PlexClient`` raises: a missing item → ``PlexNotFound``, an edit the
server would answer 400 → ``PlexBadRequest``, and whatever a test queues with ``fail_next``.
Every call is recorded in ``calls`` as ``(method, *arguments)`` so tests can count requests.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping

from plexsync.core.vocab import LOCK_NAMES, TAG_KINDS
from plexsync.errors import ConfigError, PlexBadRequest, PlexNotFound, PlexSyncError
from plexsync.plex.model import IndexRow, Page, PlexItem, Section
from testkit.plex_edit import apply_edit, parse_edit
from testkit.plex_http import HTTPError
from testkit.plex_state import (
    SECTION_TYPES,
    ItemState,
    PlexLibrary,
    selected_poster,
    shows_poster,
    touch,
    upload_poster,
)

Call = tuple[object, ...]


class MemoryPlex(PlexLibrary):
    """A Plex server in memory; the setup API (add_section, add_item, ...) is ``PlexLibrary``'s.

    `library`: the section titles PlexSync is configured for (`plex_library`; empty = every
    movie section), as `PlexClient.configured_sections` resolves them."""

    def __init__(self, library: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.library = library
        self.calls: list[Call] = []
        self.refreshes: list[tuple[int, str | None]] = []
        self._failures: deque[tuple[str, PlexSyncError]] = deque()

    # ------------------------------------------------------------------ test controls
    def fail_next(self, method: str, error: PlexSyncError, n: int = 1) -> None:
        """The next `n` calls of `method` ("fetch_item", "edit", ...) raise `error`."""
        self._failures.extend((method, error) for _ in range(n))

    def count(self, method: str | None = None) -> int:
        return sum(1 for c in self.calls if method is None or c[0] == method)

    def _enter(self, method: str, *args: object) -> None:
        self.calls.append((method, *args))
        if self._failures and self._failures[0][0] == method:
            raise self._failures.popleft()[1]

    # ------------------------------------------------------------------ PlexPort
    def connect(self) -> None:
        self._enter("connect")

    def identity(self, timeout: tuple[float, float] | None = None) -> dict[str, str]:
        self._enter("identity")
        return {"machineIdentifier": "memory-plex", "version": "1.40.0"}

    def configured_sections(self) -> list[Section]:
        self._enter("configured_sections")
        with self._lock:
            sections = [Section(s.section_id, s.title, s.type, tuple(s.locations))
                        for s in self._sections.values()]
        if not self.library:
            movies = [s for s in sections if s.type == "movie"]
            if not movies:
                raise ConfigError("Plex has no movie library for PlexSync to sync into.")
            return movies
        chosen = [s for s in sections if s.title.casefold() in
                  {name.casefold() for name in self.library} and s.type == "movie"]
        if len(chosen) != len(set(self.library)):
            raise ConfigError(f"plex_library names {self.library}, which Plex does not have.")
        return chosen

    def section_page(self, section_id: int, start: int, size: int) -> Page:
        self._enter("section_page", section_id, start, size)
        with self._lock:
            if section_id not in self._sections:
                raise PlexBadRequest(f"Plex answered 404 Not Found for GET "
                                     f"/library/sections/{section_id}/all.")
            items = sorted((i for i in self._items.values() if i.section_id == section_id),
                           key=lambda i: i.rating_key)
            page = items[start:start + size]
            rows: list[IndexRow] = [(path, i.rating_key, fsize, ms)
                                    for i in page for path, fsize, ms in i.files]
            return Page(len(items), len(page), rows)

    def fetch_item(self, rating_key: int) -> PlexItem:
        self._enter("fetch_item", rating_key)
        with self._lock:
            item = self._items.get(rating_key)
            if item is None:
                raise PlexNotFound(f"Plex answered 404 Not Found for GET "
                                   f"/library/metadata/{rating_key}.")
            return _plain(item)

    def edit(self, section_id: int, rating_key: int, params: Mapping[str, str]) -> None:
        self._enter("edit", section_id, rating_key, dict(params))
        pairs = [*params.items(), ("type", "1"), ("id", str(rating_key))]
        with self._lock:
            section = self._sections.get(section_id)
            if section is None:
                raise PlexNotFound(f"Plex answered 404 Not Found for PUT "
                                   f"/library/sections/{section_id}/all.")
            try:
                type_num, _, plan = parse_edit(pairs)
            except HTTPError as exc:
                raise PlexBadRequest(f"Plex rejected PUT /library/sections/{section_id}/all "
                                     f"({exc.status}).") from None
            item = self._items.get(rating_key)
            if item is None or item.section_id != section_id:
                raise PlexNotFound(f"Plex answered 404 Not Found for PUT "
                                   f"/library/sections/{section_id}/all.")
            if type_num != SECTION_TYPES[section.type]:
                raise PlexBadRequest(f"Plex rejected PUT /library/sections/{section_id}/all "
                                     "(400).")
            if not plan.is_empty():
                apply_edit(item, plan)
                touch(item)

    def upload_image(self, rating_key: int, kind: str, data: bytes) -> None:
        self._enter("upload_image", rating_key, kind, len(data))
        with self._lock:
            item = self._items.get(rating_key)
            if item is None:
                raise PlexNotFound(f"Plex answered 404 Not Found for POST "
                                   f"/library/metadata/{rating_key}.")
            if kind == "poster":
                upload_poster(item, data, None)
            else:
                item.art, item.art_url = data, None
                touch(item)

    def selected_poster(self, rating_key: int) -> str:
        self._enter("selected_poster", rating_key)
        with self._lock:
            item = self._items.get(rating_key)
            if item is None:
                raise PlexNotFound(f"Plex answered 404 Not Found for GET "
                                   f"/library/metadata/{rating_key}/posters.")
            return selected_poster(item)

    def scan_folder(self, section_id: int, folder: str) -> None:
        self._enter("scan_folder", section_id, folder)
        with self._lock:
            if section_id not in self._sections:
                raise PlexBadRequest(f"Plex answered 404 Not Found for GET "
                                     f"/library/sections/{section_id}/refresh.")
            self.refreshes.append((section_id, folder))
            self._scan(section_id, folder)


def _plain(item: ItemState) -> PlexItem:
    """An item as `PlexClient.fetch_item` reads it from `/library/metadata/{rk}`."""
    return PlexItem(
        rating_key=item.rating_key, section_id=item.section_id, title=item.title,
        summary=item.summary or "", studio=item.studio or "",
        date=(item.originally_available_at or "")[:10], year=item.year or 0,
        rating=item.user_rating,
        tags={k: tuple(t for t in item.tags.get(k, []) if t) for k in TAG_KINDS},
        locked=frozenset(LOCK_NAMES[w] for w in item.locked if w in LOCK_NAMES),
        files=tuple(path for path, _, _ in item.files),
        has_poster=shows_poster(item),
        has_art=item.art is not None or bool(item.art_url),
    )
