"""What the fake Plex Media Server holds: its sections and movie items (see ``testkit.fake_plex``).

``ItemState`` and ``SectionState`` are plain dataclasses: ``testkit.plex_xml`` renders them and
``testkit.plex_edit`` changes them. ``PlexLibrary`` keeps them behind one lock with the tests'
setup API (``add_section``, ``add_item``, ``stage_item``, ...) and hands out deep copies;
``FakePlex`` builds on it and serves it over HTTP. Nothing here does HTTP. Only movie sections
hold items; other section types are listed but stay empty.
"""

from __future__ import annotations

import copy
import hashlib
import posixpath
import threading
import time
import uuid
from dataclasses import dataclass, field
from dataclasses import fields as dataclass_fields
from typing import Any

#: Tag kinds an item carries, by their edit-key name (``genre[0].tag.tag``).
TAG_KINDS: tuple[str, ...] = (
    "genre", "label", "actor", "collection", "director", "writer", "producer", "country",
)
#: Section type → the ``type=`` number PMS uses for its items.
SECTION_TYPES: dict[str, int] = {"movie": 1, "show": 2, "artist": 8, "photo": 13}
#: Section type → (agent, scanner) a new section reports.
AGENTS: dict[str, tuple[str, str]] = {
    "movie": ("tv.plex.agents.none", "Plex Video Files Scanner"),
    "show": ("tv.plex.agents.none", "Plex Series Scanner"),
    "artist": ("tv.plex.agents.none", "Plex Music"),
    "photo": ("com.plexapp.agents.none", "Plex Photo Scanner"),
}
#: Editable field (wire name) → (ItemState attribute, value kind).
FIELDS: dict[str, tuple[str, str]] = {
    "title": ("title", "title"),
    "titleSort": ("title_sort", "text"),
    "summary": ("summary", "text"),
    "studio": ("studio", "text"),
    "tagline": ("tagline", "text"),
    "contentRating": ("content_rating", "text"),
    "originalTitle": ("original_title", "text"),
    "originallyAvailableAt": ("originally_available_at", "date"),
    "year": ("year", "year"),
    "userRating": ("user_rating", "rating"),
    "rating": ("critic_rating", "rating"),
    "audienceRating": ("audience_rating", "rating"),
    "addedAt": ("added_at", "timestamp"),
}
#: What ``f.locked=`` may name (and ``add_item(locked=...)`` may hold).
LOCKABLE: frozenset[str] = frozenset(FIELDS) | frozenset(TAG_KINDS) | {"thumb", "art"}


@dataclass
class ItemState:
    """One movie as the fake holds it (``FakePlex.item`` returns a deep copy)."""

    rating_key: int
    section_id: int
    title: str
    title_sort: str | None = None
    summary: str | None = None
    studio: str | None = None
    tagline: str | None = None
    content_rating: str | None = None
    original_title: str | None = None
    originally_available_at: str | None = None  # "YYYY-MM-DD"
    year: int | None = None
    user_rating: float | None = None
    critic_rating: float | None = None  # wire field "rating"
    audience_rating: float | None = None
    files: list[tuple[str, int, int]] = field(default_factory=list)  # (path, size, duration_ms)
    tags: dict[str, list[str]] = field(default_factory=lambda: {k: [] for k in TAG_KINDS})
    roles: dict[str, str] = field(default_factory=dict)  # actor name → character name
    locked: set[str] = field(default_factory=set)  # wire field names: "title", "genre", "thumb"
    # The selected poster (bytes, or the URL it was uploaded from); None: none selected, and
    # Plex shows the thumbnail it generated from the video (``generated_thumb``). A test that
    # sets ``poster`` directly stands for an agent's poster (listed as ``metadata://``).
    poster: bytes | None = None
    poster_url: str | None = None
    poster_id: str = ""         # the selected poster's ratingKey in the posters listing
    posters: dict[str, tuple[bytes | None, str | None]] = field(default_factory=dict)
    generated_thumb: bool = True   # Plex extracts a thumbnail from the video file
    art: bytes | None = None
    art_url: str | None = None
    added_at: int = 0
    updated_at: int = 0
    # The token's own account's play state (PMS answers every item with the requesting
    # account's values; the fake's token is the owner, account 1). Epoch seconds; ms offset.
    view_count: int = 0
    view_offset: int = 0          # partly watched: where playback stopped (0: none)
    last_viewed_at: int | None = None
    last_rated_at: int | None = None


@dataclass
class HistoryEntry:
    """One row of PMS's playback history (``/status/sessions/history/all``): one finished
    play of one item by one account on one device."""

    history_key: int
    rating_key: int
    section_id: int
    title: str
    account_id: int
    device_id: int
    viewed_at: int


#: The server owner's account id on the server itself (PMS numbers the owner 1).
OWNER_ACCOUNT = 1


@dataclass
class SectionState:
    section_id: int
    title: str
    type: str
    locations: list[str]
    agent: str
    scanner: str
    uuid: str
    created_at: int
    updated_at: int


def upload_poster(item: ItemState, data: bytes | None, url: str | None) -> str:
    """``POST .../posters``: the upload joins the item's posters and is selected. PMS names an
    upload ``upload://posters/<sha1>``; the same bytes uploaded again are the same poster."""
    ident = url or f"upload://posters/{hashlib.sha1(data or b'').hexdigest()}"
    item.posters[ident] = (data, url)
    select_poster(item, ident)
    return ident


def select_poster(item: ItemState, ident: str) -> bool:
    """``PUT .../poster?url=<ratingKey>``: select one of the item's posters (False: unknown)."""
    if ident not in item.posters:
        return False
    item.poster, item.poster_url = item.posters[ident]
    item.poster_id = ident
    touch(item)
    return True


def selected_poster(item: ItemState) -> str:
    """The ratingKey of the selected poster ('' none: the generated thumbnail shows)."""
    if item.poster is None and not item.poster_url:
        return ""
    return item.poster_id or f"metadata://posters/agent-{item.rating_key}"


def shows_poster(item: ItemState) -> bool:
    """Whether the item has a ``thumb``: a selected poster, or Plex's generated thumbnail."""
    return bool(selected_poster(item)) or (item.generated_thumb and bool(item.files))


def touch(item: ItemState) -> None:
    """Bump updatedAt: now, but always later than before (edits come faster than 1/s)."""
    item.updated_at = max(int(time.time()), item.updated_at + 1)


class PlexLibrary:
    """The sections and items, with the tests' setup API; every method is thread-safe.
    ``FakePlex`` serves this library over HTTP."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._sections: dict[int, SectionState] = {}
        self._items: dict[int, ItemState] = {}
        self._staged: list[tuple[int, str, dict[str, Any]]] = []  # (section, file, add_item kw)
        self._tag_ids: dict[tuple[str, str], int] = {}
        self._next_rk = 1
        self._history: list[HistoryEntry] = []

    def add_section(self, section_id: int, title: str, locations: list[str],
                    type: str = "movie") -> None:
        if type not in SECTION_TYPES:
            raise ValueError(f"section type must be one of {sorted(SECTION_TYPES)}")
        with self._lock:
            if section_id in self._sections:
                raise ValueError(f"section {section_id} exists")
            agent, scanner = AGENTS[type]
            now = int(time.time())
            self._sections[section_id] = SectionState(
                section_id, title, type, list(locations), agent, scanner,
                str(uuid.uuid5(uuid.NAMESPACE_URL, f"fakeplex/{section_id}")), now, now)

    def add_item(self, section_id: int, file: str, *, size: int = 0, duration_ms: int = 0,
                 title: str | None = None, rating_key: int | None = None,
                 files: list[tuple[str, int, int]] | None = None, **fields: Any) -> int:
        """Add a scanned movie; returns its ratingKey. ``fields`` are ItemState attributes."""
        with self._lock:
            paths = {file} | {f[0] for f in files or []}
            if any(path in paths for _, path, _ in self._staged):
                raise ValueError(f"{sorted(paths)} overlaps a staged file")
            item = self._build_item(section_id, file, size=size, duration_ms=duration_ms,
                                    title=title, rating_key=rating_key, files=files, **fields)
            self._items[item.rating_key] = item
            self._next_rk = max(self._next_rk, item.rating_key + 1)
            return item.rating_key

    def stage_item(self, section_id: int, file: str, **kwargs: Any) -> None:
        """A file on disk Plex has not scanned: it becomes an item when its section (or a folder
        holding it) is refreshed. Takes the same arguments as ``add_item``."""
        with self._lock:
            self._build_item(section_id, file, **kwargs)  # validate now, fail early
            if any(path == file for _, path, _ in self._staged):
                raise ValueError(f"{file} is already staged")
            self._staged.append((section_id, file, dict(kwargs)))

    @property
    def staged(self) -> list[str]:
        with self._lock:
            return [path for _, path, _ in self._staged]

    def remove_item(self, rating_key: int) -> None:
        """Drop an item (as if its file vanished and Plex emptied the trash)."""
        with self._lock:
            del self._items[rating_key]

    def readd_item(self, rating_key: int) -> int:
        """Plex adds the item's files again as a new item (the trash was emptied while their
        drive was offline, or the library was re-created): a new ratingKey, the scanner's
        defaults only (title from the file name, no metadata, no poster). Returns the new key."""
        with self._lock:
            old = self._items.pop(rating_key)
            item = self._build_item(old.section_id, old.files[0][0], files=list(old.files))
            self._items[item.rating_key] = item
            self._next_rk = max(self._next_rk, item.rating_key + 1)
            return item.rating_key

    def split_apart(self, rating_key: int, path: str) -> int:
        """Plex's Split Apart: the file ``path`` leaves the item and becomes an item of its
        own (a new ratingKey, the scanner's defaults); the item keeps its other files and its
        metadata. Returns the new item's ratingKey."""
        with self._lock:
            item = self._items[rating_key]
            part = next(f for f in item.files if f[0] == path)
            if len(item.files) < 2:
                raise ValueError("Split Apart needs an item of two or more files")
            item.files = [f for f in item.files if f[0] != path]
            touch(item)
            new = self._build_item(item.section_id, path, files=[part])
            self._items[new.rating_key] = new
            self._next_rk = max(self._next_rk, new.rating_key + 1)
            return new.rating_key

    def item(self, rating_key: int) -> ItemState:
        with self._lock:
            return copy.deepcopy(self._items[rating_key])

    def items(self, section_id: int | None = None) -> list[ItemState]:
        with self._lock:
            return [copy.deepcopy(i) for i in self._items.values()
                    if section_id is None or i.section_id == section_id]

    # ------------------------------------------------------------------ play state
    def play(self, rating_key: int, *, at: int | None = None, account_id: int = OWNER_ACCOUNT,
             device_id: int = 1) -> None:
        """Someone watched the item to the end (PMS scrobbles at ~90%): one history row for
        that account; for the owner also viewCount+1, lastViewedAt, and no resume point."""
        with self._lock:
            item = self._items[rating_key]
            when = int(time.time()) if at is None else int(at)
            self._history.append(HistoryEntry(len(self._history) + 1, rating_key,
                                              item.section_id, item.title, account_id,
                                              device_id, when))
            if account_id == OWNER_ACCOUNT:
                item.view_count += 1
                item.view_offset = 0
                item.last_viewed_at = max(item.last_viewed_at or 0, when)

    def watch_partly(self, rating_key: int, offset_ms: int, *, at: int | None = None) -> None:
        """The owner stopped playback at ``offset_ms``: a resume point, no history row."""
        with self._lock:
            item = self._items[rating_key]
            item.view_offset = int(offset_ms)
            item.last_viewed_at = int(time.time()) if at is None else int(at)

    def rate_as_user(self, rating_key: int, rating: float | None, *,
                     at: int | None = None) -> None:
        """The owner rated the item in a Plex app (``PUT /:/rate``): userRating, lastRatedAt."""
        with self._lock:
            item = self._items[rating_key]
            item.user_rating = rating
            item.last_rated_at = int(time.time()) if at is None else int(at)

    def history(self) -> list[HistoryEntry]:
        with self._lock:
            return copy.deepcopy(self._history)

    def add_many(self, section_id: int, files: list[str]) -> None:
        """Bulk setup for benchmarks: plain items, no overlap checks (the caller's paths are
        unique). O(n), where ``add_item`` is O(n) per item."""
        with self._lock:
            now = int(time.time())
            for path in files:
                rk = self._next_rk
                self._next_rk += 1
                self._items[rk] = ItemState(
                    rating_key=rk, section_id=section_id,
                    title=posixpath.splitext(posixpath.basename(path))[0],
                    files=[(path, 0, 0)], added_at=now, updated_at=now)

    def find_by_file(self, path: str) -> ItemState | None:
        with self._lock:
            item = self._owner_of(path)
            return copy.deepcopy(item) if item is not None else None

    def _build_item(self, section_id: int, file: str, *, size: int = 0, duration_ms: int = 0,
                    title: str | None = None, rating_key: int | None = None,
                    files: list[tuple[str, int, int]] | None = None, **extra: Any) -> ItemState:
        section = self._sections.get(section_id)
        if section is None:
            raise ValueError(f"no section {section_id}")
        if section.type != "movie":
            raise ValueError("the fake holds items in movie sections only")
        parts = [(file, size, duration_ms)] if files is None else [
            (str(p), int(s), int(d)) for p, s, d in files]
        if file not in [p[0] for p in parts]:
            raise ValueError("file must be one of files")
        for path, _, _ in parts:
            if self._owner_of(path) is not None:
                raise ValueError(f"{path} already belongs to an item")
        if rating_key is not None and rating_key in self._items:
            raise ValueError(f"ratingKey {rating_key} exists")
        rk = rating_key if rating_key is not None else self._next_rk
        now = int(time.time())
        item = ItemState(rating_key=rk, section_id=section_id,
                         title=title or posixpath.splitext(posixpath.basename(file))[0],
                         files=parts,
                         added_at=now, updated_at=now)
        fixed = {"rating_key", "section_id", "title", "files"}
        allowed = {f.name for f in dataclass_fields(ItemState)} - fixed
        for name, value in extra.items():
            if name not in allowed:
                raise TypeError(f"unknown ItemState field {name!r}")
            if name == "tags":
                unknown = set(value) - set(TAG_KINDS)
                if unknown:
                    raise ValueError(f"unknown tag kinds {sorted(unknown)}")
                item.tags.update({k: list(v) for k, v in value.items()})
            elif name == "locked":
                if set(value) - LOCKABLE:
                    raise ValueError(f"not lockable: {sorted(set(value) - LOCKABLE)}")
                item.locked = set(value)
            else:
                setattr(item, name, copy.deepcopy(value))
        if item.originally_available_at and "year" not in extra:
            item.year = int(item.originally_available_at[:4])
        return item

    def _scan(self, section_id: int, path: str | None) -> None:
        """A refresh of the section (or of the folder or file ``path``): staged files in it
        become items. Call with the lock held."""
        folder = path.rstrip("/") + "/" if path else None
        for staged in list(self._staged):
            staged_section, file, kwargs = staged
            if staged_section == section_id and (
                    folder is None or file == path or file.startswith(folder)):
                item = self._build_item(staged_section, file, **kwargs)
                self._items[item.rating_key] = item
                self._next_rk = max(self._next_rk, item.rating_key + 1)
                self._staged.remove(staged)

    def _owner_of(self, path: str) -> ItemState | None:
        return next((i for i in self._items.values() if any(f[0] == path for f in i.files)), None)

    def _tag_id(self, kind: str, name: str) -> int:
        return self._tag_ids.setdefault((kind, name), len(self._tag_ids) + 1)
