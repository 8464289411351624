"""Ownership by value (docs/design.md#ownership): whose is the value a Plex field holds. Pure.

PlexSync owns a Plex field only while Plex still holds exactly the value PlexSync last wrote
there: the sync record keeps a digest of each written value (`SyncRecord.field_digests`).
Invariants:
- A field holding anything else (typed in Plex, an agent's) is the user's: a Stash clear never
  empties it, and a new Stash value replaces it only when "Preserve Plex edits" is off.
- Plex's own defaults are nobody's: an empty field, and the scanner's title (the file name
  without its extension, as Plex derives it). They are replaced even under "Preserve".
- A field PlexSync owns by name only (a record from before digests were kept, migration V5)
  counts as owned whatever Plex holds, the rule of that version, until the next write records
  its digest.
- Digests compare values as Plex compares them: tags case- and order-insensitively, ratings to
  one decimal, text exactly.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
from collections.abc import Iterable, Mapping

from plexsync.core.vocab import TAG_KINDS
from plexsync.plex.model import PlexItem

LEGACY = ""   # a field owned by name only (no digest recorded yet)

Value = str | float | tuple[str, ...] | None

_SEPARATORS = re.compile(r"[._]+")


def canonical(value: Value) -> str:
    """A stable text of a value, as stored in `SyncRecord.pushed_values`."""
    if value is None or value == "" or value == ():
        return ""
    if isinstance(value, tuple):
        return json.dumps(sorted({v.casefold() for v in value}), ensure_ascii=False)
    if isinstance(value, float):
        return f"{value:.1f}"
    return value


def digest(value: Value) -> str:
    """The digest of a value (empty values have none: nobody owns an empty field)."""
    text = canonical(value)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16] if text else ""


def names(text: str) -> frozenset[str]:
    """The folded tag names of a stored list value (`canonical` of a tuple); none if not one."""
    try:
        data = json.loads(text) if text.startswith("[") else []
    except ValueError:
        return frozenset()
    return frozenset(str(n).casefold() for n in data) if isinstance(data, list) else frozenset()


def empty(value: Value) -> bool:
    return value is None or value == "" or value == ()


def current(item: PlexItem, name: str) -> Value:
    """What the item holds now in the field `name` (a scalar or a tag kind)."""
    if name in TAG_KINDS:
        return tuple(item.tags.get(name, ()))
    return item.scalar(name)


def scanner_default(item: PlexItem, name: str, value: Value) -> bool:
    """Whether `value` is what Plex puts in the field by itself: the scanner's title is the
    file name without its extension (dots and underscores may read as spaces)."""
    if name != "title" or not isinstance(value, str):
        return False
    got = value.casefold().strip()
    for path in item.files:
        stem = posixpath.splitext(path.replace("\\", "/").rsplit("/", 1)[-1])[0].casefold()
        if got in (stem, _SEPARATORS.sub(" ", stem).strip()):
            return True
    return False


class Owned:
    """What PlexSync owns on one item: field → digest of the value it wrote (LEGACY: by name)."""

    def __init__(self, digests: Mapping[str, str]) -> None:
        self.digests = dict(digests)

    def mine(self, name: str, value: Value, *, by_name: bool = True) -> bool:
        """Whether Plex's `value` in `name` is PlexSync's own last write. `by_name`: whether a
        field owned by name only counts (it does for a clear, the rule it was written under;
        under "Preserve" it does not, as that rule kept every non-empty value)."""
        if empty(value) or name not in self.digests:
            return False
        recorded = self.digests[name]
        return (by_name and recorded == LEGACY) or recorded == digest(value)

    def keeps(self, item: PlexItem, name: str, value: Value, wanted: Value,
              preserve: bool) -> bool:
        """Whether Plex's `value` stays instead of the `wanted` one: it is the user's (not
        PlexSync's, not a Plex default) and Stash clears the field, or "Preserve" is on."""
        if empty(value) or scanner_default(item, name, value):
            return False
        if empty(wanted):
            return not self.mine(name, value)
        return preserve and not self.mine(name, value, by_name=False)


def merged(*maps: Mapping[str, str]) -> dict[str, str]:
    """Several scenes' ownership on one item (undoing another scene's writes): a field is owned
    when any of them owns it; a by-name (LEGACY) claim wins over a digest."""
    out: dict[str, str] = {}
    for m in maps:
        for name, d in m.items():
            out[name] = LEGACY if LEGACY in (d, out.get(name)) else out.get(name, d)
    return out


def by_name(names: Iterable[str], digests: Mapping[str, str]) -> dict[str, str]:
    """A record's ownership: its digests, and LEGACY for fields recorded by name only."""
    return {n: digests.get(n, LEGACY) for n in names}
