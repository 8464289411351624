"""What PlexSync reads of Plex, as plain values: no plexapi types past this layer.

These are the types `sync` works with (`diff` is pure and imports them, never the client).
Field names are ours (core/vocab.py), not Plex's camelCase wire names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import NamedTuple


@dataclass(frozen=True, slots=True)
class Section:
    """One library section: its id, title, type ("movie", "show", ...) and folders."""

    id: int
    title: str
    type: str
    locations: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PlexItem:
    """A Plex item's current values, read from its full metadata (never from a list view)."""

    rating_key: int
    section_id: int
    title: str = ""
    summary: str = ""
    studio: str = ""
    date: str = ""                       # originallyAvailableAt, YYYY-MM-DD
    year: int = 0                        # Plex's own year field (0: none)
    rating: float | None = None          # userRating, 0..10
    tags: Mapping[str, tuple[str, ...]] = field(default_factory=dict)   # TAG_KINDS → names
    locked: frozenset[str] = frozenset()  # our names: title, summary, date, ..., genre, poster
    files: tuple[str, ...] = ()
    has_poster: bool = False
    has_art: bool = False

    def scalar(self, name: str) -> str | float | None:
        """The current value of the scalar field `name` (a `vocab.FIELD_WIRE` key)."""
        value: str | float | None = getattr(self, name)
        return value


IndexRow = tuple[str, int, int, int]   # (file path, ratingKey, size bytes, duration ms)


class Page(NamedTuple):
    """One page of a section listing."""

    total: int            # totalSize of the listing
    videos: int           # items on this page
    rows: list[IndexRow]  # one per file (an item may have several)


class ListedItem(NamedTuple):
    """An item as a section listing shows it: no locks, tag lists possibly truncated."""

    item: PlexItem
    updated_at: int       # Plex's updatedAt (epoch seconds, Plex's clock); 0 when absent


class ListingPage(NamedTuple):
    page: Page
    items: list[ListedItem]


class Candidate(NamedTuple):
    """One file of one Plex item, as the library index holds it."""

    section_id: int
    path: str
    rating_key: int
    size: int           # bytes; 0 when Plex did not say
    duration_ms: int    # 0 when Plex did not say


class Play(NamedTuple):
    """One row of Plex's playback history: a finished play of an item by an account."""

    rating_key: int
    viewed_at: int        # epoch seconds, Plex's clock
    account_id: int


class PlayPage(NamedTuple):
    total: int            # totalSize of the history query
    rows: int             # rows on this page (plays has only the well-formed ones)
    plays: list[Play]


class ItemPlayState(NamedTuple):
    """An item's play state and rating for the token's account, from a filtered listing."""

    rating_key: int
    view_offset_ms: int           # 0: no resume point
    rating: float | None          # userRating 0..10
    rated_at: int                 # lastRatedAt, epoch seconds (0: never rated)


class PlayStatePage(NamedTuple):
    total: int
    rows: int
    items: list[ItemPlayState]
