"""Stash scene → the values Plex should end with (docs/design.md#field-mapping). Pure: no I/O, no
clock.

`wanted(scene, settings, cleared, owned)` reads a scene shaped like `gql.SCENE_FIELDS` and returns a
`Wanted`. Invariants:
- A field is *absent* from `Wanted` when PlexSync must leave Plex's value alone (toggle off, Stash
  empty and not explicitly cleared, title empty). `None` (scalars) or `()` (tag lists) means
  "clear it in Plex", and happens only when the Stash field is named in `cleared` AND PlexSync
  owns the Plex field (`owned`, from the sync record: it pushed a non-empty value there
  before). Stash's edit form names every field in `inputFields` on save, so a clear alone
  must never wipe what a Plex agent or the user wrote.
- Tag lists (actors, genres, labels, directors) are mirrors: Plex must end with exactly them.
  Collections are additive; which ones to remove is decided by `diff` from the sync record.
- Values are sanitised: NFC; control characters removed (newlines and tabs kept in the
  summary, turned into spaces elsewhere); lengths capped (title, studio, tags 255; summary
  10,000); surrounding whitespace trimmed. Typography is otherwise kept as written.
- Quality gate: a scene whose metadata is all empty, with nothing to clear (as above), gets
  `skip_reason` set; the caller must then not touch Plex at all.
- `values_hash` is stable across runs and processes (sorted JSON, sha256) and covers everything
  that decides the Plex write, settings included, but not the screenshot URL (`poster_key`).
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from plexsync.core.settings import Settings
from plexsync.core.vocab import CLEARABLE, OWNABLE
from plexsync.sync.matcher import SceneFile

MAX_SHORT = 255
MAX_SUMMARY = 10_000
HASH_VERSION = "plexsync-values-v1"

__all__ = ["OWNABLE", "Wanted", "clean_date", "clean_line", "clean_summary", "is_empty",
           "scene_files", "wanted"]

_LINE_BREAKS = re.compile(r"\r\n?")
_DATE = re.compile(r"(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?")


@dataclass(frozen=True, slots=True)
class Wanted:
    """What Plex should hold after the sync. Field names are ours, not Plex's wire names.

    scalars: "title" | "summary" | "date" | "studio" → str or None (clear); "rating" → float
      (0..10) or None.
    tags: "actor" | "genre" | "label" | "director" → the full list Plex must end with.
    collections: collections the item must be in (studio name, group names); `None` when
      collections are not managed (toggle off, or nothing wanted and nothing cleared).
    """

    scalars: Mapping[str, str | float | None] = field(default_factory=dict)
    tags: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    collections: tuple[str, ...] | None = None
    poster_url: str = ""          # the screenshot URL when sync_poster or sync_background
    poster: bool = False          # upload it as the poster
    art: bool = False             # upload it as the background art
    lock: bool = True
    preserve: bool = False
    skip_reason: str = ""
    # Plex fields PlexSync does not manage under the current settings (a toggle off, or the
    # kind "Tags as" no longer names): what PlexSync still owns there is removed.
    retired: tuple[str, ...] = ()

    @property
    def values_hash(self) -> str:
        doc = {
            "v": HASH_VERSION,
            "scalars": dict(self.scalars),
            "tags": {k: list(v) for k, v in self.tags.items()},
            "collections": None if self.collections is None else list(self.collections),
            "poster": self.poster, "art": self.art, "lock": self.lock, "preserve": self.preserve,
        }
        blob = json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------- sanitising
def clean_line(value: object, cap: int = MAX_SHORT) -> str:
    """One-line text: NFC, control characters removed (tab/newline → space), trimmed, capped."""
    text = unicodedata.normalize("NFC", str(value or ""))
    out = []
    for ch in text:
        if ch in "\t\n\r\x0b\x0c\x85\u2028\u2029":
            out.append(" ")
        elif unicodedata.category(ch) != "Cc":
            out.append(ch)
    return _cap("".join(out).strip(), cap)


def clean_summary(value: object) -> str:
    """Multi-line text: like `clean_line` but newlines and tabs are kept (CRLF → LF)."""
    text = _LINE_BREAKS.sub("\n", unicodedata.normalize("NFC", str(value or "")))
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) != "Cc")
    return _cap(text.strip(), MAX_SUMMARY)


def _cap(text: str, cap: int) -> str:
    """Cut to `cap` code points without orphaning combining marks, then trim."""
    if len(text) <= cap:
        return text
    cut = text[:cap]
    while cut and unicodedata.combining(text[len(cut)]):
        cut = cut[:-1]           # drop the base whose marks would be cut off
    return cut.rstrip()


def clean_date(value: object) -> str:
    """Stash date (YYYY, YYYY-MM or YYYY-MM-DD) → YYYY-MM-DD; '' when absent or malformed."""
    m = _DATE.fullmatch(str(value or "").strip())
    if not m:
        return ""
    year, month, day = m.group(1), m.group(2) or "01", m.group(3) or "01"
    if not (1 <= int(month) <= 12 and 1 <= int(day) <= 31 and int(year) >= 1800):
        return ""
    return f"{year}-{month}-{day}"


def _names(values: Iterable[str], cap: int | None = None) -> tuple[str, ...]:
    out = [n for n in dict.fromkeys(clean_line(v) for v in values) if n]
    return tuple(out[:cap] if cap else out)


# --------------------------------------------------------------------------- scene reading
def scene_files(scene: Mapping[str, Any]) -> list[SceneFile]:
    """The scene's files, primary first, as the matcher takes them."""
    files = []
    for f in _list(scene.get("files")):
        if not isinstance(f, Mapping):
            continue
        path = str(f.get("path") or "")
        if path:
            files.append(SceneFile(path, _int(f.get("size")), _float(f.get("duration"))))
    return files


def _list(value: object) -> list[Any]:
    """A list field of the scene; anything else (wrong type from a broken answer) is empty."""
    return value if isinstance(value, list) else []


def _int(value: object) -> int:
    try:
        return int(value)  # type: ignore[call-overload,no-any-return]
    except (TypeError, ValueError, OverflowError):
        return 0


def _float(value: object) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return 0.0
    return number if number == number and abs(number) != float("inf") else 0.0


def _related_names(scene: Mapping[str, Any], key: str) -> list[str]:
    return [str(x.get("name") or "") for x in _list(scene.get(key)) if isinstance(x, Mapping)]


def _group_names(scene: Mapping[str, Any]) -> list[str]:
    names = []
    for entry in _list(scene.get("groups")):
        group = entry.get("group") if isinstance(entry, Mapping) else None
        if isinstance(group, Mapping):
            names.append(str(group.get("name") or ""))
    return names


def _studio(scene: Mapping[str, Any]) -> str:
    studio = scene.get("studio")
    return clean_line(studio.get("name")) if isinstance(studio, Mapping) else ""


def is_empty(scene: Mapping[str, Any]) -> bool:
    """The quality gate's test: no metadata at all (files and screenshot do not count)."""
    return not (
        clean_line(scene.get("title")) or clean_summary(scene.get("details"))
        or clean_date(scene.get("date")) or scene.get("rating100") not in (None, "")
        or _studio(scene) or _names(_related_names(scene, "performers"))
        or _names(_related_names(scene, "tags")) or _names(_group_names(scene))
        or clean_line(scene.get("director"))
    )


# --------------------------------------------------------------------------- the mapping
def wanted(scene: Mapping[str, Any], settings: Settings, cleared: Iterable[str] = (),
           owned: Iterable[str] = ()) -> Wanted:
    """Apply docs/design.md#field-mapping (see the module docstring for the invariants).

    `cleared`: the Stash inputs the user explicitly emptied (`Job.cleared_fields`); `owned`: the
    Plex fields PlexSync pushed a value to before (`SyncRecord.pushed_fields`, empty for a scene
    never synced). A cleared field is cleared in Plex only when PlexSync owns it there.
    """
    clears = _Clears(frozenset(CLEARABLE[c] for c in cleared if c in CLEARABLE),
                     frozenset(owned))
    studio = _studio(scene)
    scalars = _scalars(scene, settings, clears, studio)
    tags = _tags(scene, settings, clears)
    collections = _collections(scene, settings, clears, studio)
    empties = (any(v is None for v in scalars.values()) or any(not v for v in tags.values())
               or collections == ())
    if is_empty(scene) and not empties:
        return Wanted(skip_reason="the scene's metadata is empty in Stash (quality gate); "
                                  "Plex was left as it is")
    paths = scene.get("paths")
    url = str((paths if isinstance(paths, Mapping) else {}).get("screenshot") or "")
    poster, art = bool(url) and settings.sync_poster, bool(url) and settings.sync_background
    return Wanted(
        scalars=scalars, tags=tags, collections=collections,
        poster_url=url if (poster or art) else "", poster=poster, art=art,
        lock=settings.lock_fields, preserve=settings.preserve_plex_edits,
        retired=retired(settings),
    )


def retired(settings: Settings) -> tuple[str, ...]:
    """The Plex fields the settings leave unmanaged (see `Wanted.retired`)."""
    off = [name for name in ("title", "summary", "date", "studio", "rating")
           if not settings.syncs(name)]
    if not settings.sync_performers:
        off.append("actor")
    if not settings.sync_tags or settings.tags_as == "labels":
        off.append("genre")
    if not settings.sync_tags or settings.tags_as == "genres":
        off.append("label")
    return tuple(off)


@dataclass(frozen=True, slots=True)
class _Clears:
    """Which of our fields the user cleared (`gone`) and which Plex fields PlexSync owns."""

    gone: frozenset[str]
    mine: frozenset[str]

    def empties(self, field_name: str, plex_field: str) -> bool:
        """Whether an empty Stash value of `field_name` must empty `plex_field` in Plex."""
        return field_name in self.gone and plex_field in self.mine


def _scalars(scene: Mapping[str, Any], settings: Settings, clears: _Clears,
             studio: str) -> dict[str, str | float | None]:
    """Title, summary, date, studio and rating: a value, None (clear it) or absent."""
    scalars: dict[str, str | float | None] = {}
    title = clean_line(scene.get("title"))
    if settings.sync_title and title:          # an empty title leaves Plex's title
        scalars["title"] = title
    for name, value in (("summary", clean_summary(scene.get("details"))),
                        ("date", clean_date(scene.get("date"))),
                        ("studio", studio),
                        ("rating", _rating(scene.get("rating100")))):
        if not settings.syncs(name):
            continue
        if value not in ("", None):
            scalars[name] = value
        elif clears.empties(name, name):
            scalars[name] = None
    return scalars


def _tags(scene: Mapping[str, Any], settings: Settings,
          clears: _Clears) -> dict[str, tuple[str, ...]]:
    """The mirrored tag kinds: actor, genre and/or label (per `tags_as`), director."""
    tags: dict[str, tuple[str, ...]] = {}

    def mirror(kind: str, values: tuple[str, ...], toggle: bool, key: str) -> None:
        if toggle and (values or clears.empties(key, kind)):
            tags[kind] = values

    mirror("actor", _names(_related_names(scene, "performers")), settings.sync_performers,
           "performers")
    cap = settings.max_tags or None                 # 0 = no cap
    scene_tags = _names(_related_names(scene, "tags"), cap)
    if settings.tags_as in ("genres", "both"):
        mirror("genre", scene_tags, settings.sync_tags, "tags")
    if settings.tags_as in ("labels", "both"):
        mirror("label", scene_tags, settings.sync_tags, "tags")
    director = clean_line(scene.get("director"))
    mirror("director", (director,) if director else (), True, "director")
    return tags


def _collections(scene: Mapping[str, Any], settings: Settings, clears: _Clears,
                 studio: str) -> tuple[str, ...] | None:
    """The studio and group names as collections; None when collections are not managed."""
    if not settings.sync_collections:
        return None
    names = _names([studio, *_group_names(scene)])
    if names or clears.empties("studio", "collection") or clears.empties("collections",
                                                                         "collection"):
        return names
    return None


def _rating(value: object) -> float | None:
    """rating100 (0..100) → Plex userRating (0..10), one decimal; None when unset."""
    if value in (None, ""):
        return None
    number = _float(value)
    return round(min(100.0, max(0.0, number)) / 10.0, 1)
