"""Plex XML answers → the plain values of `plex.model` (pure: no I/O, no plexapi).

Only this module and `plex.client` read Plex's XML; no Plex camelCase name leaves them.
Numbers Plex omits or garbles read as 0, never as an error: a listing is never one item's
failure.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from plexsync.core.vocab import LOCK_NAMES, TAG_ELEMENTS, TAG_KINDS
from plexsync.plex.model import (
    IndexRow,
    ItemPlayState,
    ListedItem,
    ListingPage,
    Page,
    Play,
    PlayPage,
    PlayStatePage,
    PlexItem,
    Section,
)


def as_int(value: str | None) -> int:
    try:
        return int(float(value)) if value else 0
    except ValueError:
        return 0


def _total(root: ET.Element) -> int:
    return as_int(root.get("totalSize")) or as_int(root.get("size"))


def _videos(root: ET.Element) -> list[ET.Element]:
    # Children by tag, not findall/iterfind: ElementPath cost ~5 ms per 1,000-item page, more
    # than the parsing (benchmarks/index_build.py, docs/performance.md).
    return [child for child in root if child.tag == "Video"]


def sections(root: ET.Element) -> list[Section]:
    """`GET /library/sections` → every library section with its folders."""
    found = []
    for d in root.findall("Directory"):
        locations = tuple(loc.get("path", "") for loc in d.iter("Location") if loc.get("path"))
        found.append(Section(int(d.get("key", "0")), d.get("title", ""), d.get("type", ""),
                             locations))
    return found


def _index_rows(video: ET.Element, rows: list[IndexRow]) -> None:
    rk = as_int(video.get("ratingKey"))
    item_ms = as_int(video.get("duration"))
    for media in video:
        if media.tag != "Media":
            continue
        media_ms = as_int(media.get("duration")) or item_ms
        for part in media:
            if part.tag != "Part":
                continue
            path = part.get("file")
            if path and rk:
                rows.append((path, rk, as_int(part.get("size")),
                             as_int(part.get("duration")) or media_ms))


def index_page(root: ET.Element) -> Page:
    """A section listing page → its index rows (file, ratingKey, size, duration)."""
    videos = _videos(root)
    rows: list[IndexRow] = []
    for video in videos:
        _index_rows(video, rows)
    return Page(_total(root), len(videos), rows)


def listing_page(root: ET.Element, section_id: int) -> ListingPage:
    """A section listing page → its index rows plus each item as the list view shows it."""
    videos = _videos(root)
    items = [ListedItem(video(v, section_id, 0), as_int(v.get("updatedAt"))) for v in videos]
    rows: list[IndexRow] = []
    for v in videos:
        _index_rows(v, rows)
    return ListingPage(Page(_total(root), len(videos), rows), items)


def video(element: ET.Element, section_id: int, rating_key: int) -> PlexItem:
    """A `<Video>` (detail or list view) as a PlexItem; `section_id` when the element has none."""
    tags: dict[str, list[str]] = {k: [] for k in TAG_KINDS}
    locked: set[str] = set()
    files: list[str] = []
    for child in element:
        kind = TAG_ELEMENTS.get(child.tag)
        if kind and child.get("tag"):
            tags[kind].append(child.get("tag", ""))
        elif child.tag == "Field" and child.get("locked") == "1":
            name = LOCK_NAMES.get(child.get("name", ""))
            if name:
                locked.add(name)
        elif child.tag == "Media":
            files.extend(p.get("file", "") for p in child.iterfind("Part") if p.get("file"))
    rating = element.get("userRating")
    return PlexItem(
        rating_key=as_int(element.get("ratingKey")) or rating_key,
        section_id=as_int(element.get("librarySectionID")) or section_id,
        title=element.get("title", ""), summary=element.get("summary", ""),
        studio=element.get("studio", ""), date=(element.get("originallyAvailableAt") or "")[:10],
        year=as_int(element.get("year")),
        rating=float(rating) if rating not in (None, "") else None,
        tags={k: tuple(v) for k, v in tags.items()}, locked=frozenset(locked),
        files=tuple(files), has_poster=bool(element.get("thumb")),
        has_art=bool(element.get("art")),
    )


def play_page(root: ET.Element) -> PlayPage:
    """A playback-history page → its plays (items without a ratingKey or time are dropped)."""
    rows = _videos(root)
    plays = [Play(as_int(v.get("ratingKey")), as_int(v.get("viewedAt")),
                  as_int(v.get("accountID"))) for v in rows]
    return PlayPage(_total(root), len(rows), [p for p in plays if p.rating_key and p.viewed_at])


def play_state_page(root: ET.Element) -> PlayStatePage:
    """A filtered section listing → each item's resume point, rating and when it was rated."""
    rows = _videos(root)
    items = []
    for v in rows:
        rating = v.get("userRating")
        items.append(ItemPlayState(as_int(v.get("ratingKey")), as_int(v.get("viewOffset")),
                                   float(rating) if rating not in (None, "") else None,
                                   as_int(v.get("lastRatedAt"))))
    return PlayStatePage(_total(root), len(rows), [i for i in items if i.rating_key])


def selected_poster(root: ET.Element) -> str:
    """`GET …/posters` → the selected poster's ratingKey, or '' (Plex's generated thumbnail)."""
    for photo in root:
        if photo.get("selected") in ("1", "true"):
            return photo.get("ratingKey", "")
    return ""
