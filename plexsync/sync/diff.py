"""Wanted values vs the Plex item's current values → the parameters of ONE edit PUT. Pure.

`diff(wanted, item, collections_added, lock_images, owned)` returns an `Edit` whose `params` go into
`PUT /library/sections/{sid}/all` (the Plex layer adds `type` and `id`). Invariants:
- Only what differs is sent; `params` is empty when Plex already holds the wanted values and
  locks, and then no request must be sent at all.
- Scalars: `<field>.value` (`''` clears). Tag kinds are mirrored: the full wanted list as
  `<kind>[i].tag.tag` (PMS replaces the kind's list with it) plus `<kind>[].tag.tag-` for every
  current tag not wanted, so the result is exact whichever of the two semantics a server
  applies. Tags compare case-insensitively (PMS tags are shared, case-insensitive entities)
  and order-insensitively.
- Collections are additive: missing wanted ones are added (the full list is sent, as plexapi
  does), and only collections PlexSync added earlier (`collections_added`) and no longer
  wanted are removed. `Edit.collections_added` is the list to store in the new sync record.
- With `wanted.lock`, every field PlexSync manages gets `<field>.locked=1` if not yet locked
  (never `0`: PlexSync does not unlock what a user locked). `lock_images` adds `thumb`/`art`.
- Ownership by value (sync/owned.py, docs/design.md#ownership): `owned` maps each field
  PlexSync owns on this item to the digest of the value it wrote there. A clear (`None`/`()`)
  empties a field only while Plex still holds that value; anything else there is the user's
  and stays. With `wanted.preserve`, a user's value is kept (neither written nor locked);
  PlexSync's own earlier value and Plex's defaults (empty, the scanner's title) are replaced.
  Collections are additive and owned by name (`collections_added`). A field the settings
  no longer manage (`wanted.retired`) loses PlexSync's own value in the same edit.
- `Edit.owned` is the new ownership: every field that now holds PlexSync's non-empty value
  (written now or already equal), with its digest and value; a cleared field, or one left at a
  user's value, is not PlexSync's. Fields `wanted` leaves alone keep their ownership.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import quote

from plexsync.core.vocab import FIELD_WIRE, IMAGE_WIRE, OWNABLE
from plexsync.plex.model import PlexItem
from plexsync.sync import owned as by_value
from plexsync.sync.fields import Wanted

RATING_EPSILON = 0.05


@dataclass(frozen=True, slots=True)
class Edit:
    params: dict[str, str]
    collections_added: tuple[str, ...]
    changed: tuple[str, ...] = ()   # our field names whose value changes (for the log)
    owned: tuple[tuple[str, str, str], ...] = ()   # (field, digest, value text): see `diff`
    kept: tuple[str, ...] = ()      # fields left at a user's value (for the log)

    @property
    def pushed(self) -> tuple[str, ...]:
        """The new `SyncRecord.pushed_fields`."""
        return tuple(name for name, _, _ in self.owned)

    @property
    def field_digests(self) -> tuple[tuple[str, str], ...]:
        return tuple((name, d) for name, d, _ in self.owned)

    @property
    def pushed_values(self) -> tuple[tuple[str, str], ...]:
        return tuple((name, v) for name, _, v in self.owned)

    def __bool__(self) -> bool:
        return bool(self.params)


def diff(wanted: Wanted, item: PlexItem, collections_added: Sequence[str] = (),
         lock_images: Iterable[str] = (), owned: Mapping[str, str] | None = None,
         values: Mapping[str, str] | None = None) -> Edit:
    """The one edit that makes `item` hold `wanted` (see the module docstring).
    `values`: the value texts PlexSync last wrote (kept for fields `wanted` leaves alone)."""
    edit = _EditBuilder(wanted, item, dict(owned or {}), dict(values or {}))
    for name, value in wanted.scalars.items():
        edit.scalar(name, value)
    for kind, names in wanted.tags.items():
        edit.tag_kind(kind, names)
    for name in wanted.retired:
        edit.retire(name)
    added = edit.collections(collections_added)
    for name in lock_images:
        edit.lock(name, IMAGE_WIRE[name])
    return Edit(edit.params, added, tuple(edit.changed),
                tuple((n, edit.digests[n], edit.values.get(n, "")) for n in OWNABLE
                      if n in edit.digests), tuple(edit.kept))


class _EditBuilder:
    """The steps of `diff`: each adds the parameters of one field, notes whether its value
    changes, and updates what PlexSync owns after the edit."""

    def __init__(self, wanted: Wanted, item: PlexItem, digests: dict[str, str],
                 values: dict[str, str]) -> None:
        self.wanted = wanted
        self.item = item
        self.params: dict[str, str] = {}
        self.changed: list[str] = []
        self.kept: list[str] = []
        self.before = by_value.Owned(digests)
        self.digests = digests
        self.values = values

    def lock(self, name: str, wire: str) -> None:
        """Lock a field PlexSync manages, unless it is locked already (never unlocks)."""
        if self.wanted.lock and name not in self.item.locked:
            self.params[f"{wire}.locked"] = "1"
            if name == "date":
                self.params["year.locked"] = "1"

    def own(self, name: str, value: by_value.Value) -> None:
        """After the edit Plex holds `value` in `name` (PlexSync's, unless empty)."""
        if by_value.empty(value):
            self.digests.pop(name, None)
            self.values.pop(name, None)
        else:
            self.digests[name] = by_value.digest(value)
            self.values[name] = by_value.canonical(value)

    def disown(self, name: str) -> None:
        """Plex keeps a value that is not PlexSync's: nothing of it is PlexSync's to clear."""
        self.digests.pop(name, None)
        self.values.pop(name, None)
        self.kept.append(name)

    def keeps(self, name: str, current: by_value.Value, value: by_value.Value) -> bool:
        """Whether Plex's current value stays (the user's; see the module docstring)."""
        return self.before.keeps(self.item, name, current, value, self.wanted.preserve)

    def scalar(self, name: str, value: str | float | None) -> None:
        current = self.item.scalar(name)
        if not _same(name, current, value) and self.keeps(name, current, value):
            self.disown(name)
            return
        if not _same(name, current, value):
            self.params[f"{FIELD_WIRE[name]}.value"] = _text(value)
            self.changed.append(name)
        if name == "date":
            self._year(current, value)
        self.own(name, value)
        self.lock(name, FIELD_WIRE[name])

    def _year(self, current: str | float | None, value: str | float | None) -> None:
        # Plex keeps the year in a field of its own (plexapi editYear): written with the
        # date, and corrected when it disagrees with it (an agent's year, an old sync).
        if not _same("date", current, value) or (value and str(self.item.year) != _text(value)[:4]):
            self.params["year.value"] = _text(value)[:4]
            if "date" not in self.changed:
                self.changed.append("year")

    def retire(self, name: str) -> None:
        """A field the settings no longer manage: PlexSync's own value there is removed (a
        user's stays); either way nothing there is PlexSync's any more. Locks stay."""
        if name not in self.digests:
            return
        if name in FIELD_WIRE:
            current: by_value.Value = self.item.scalar(name)
            if self.before.mine(name, current):
                self.params[f"{FIELD_WIRE[name]}.value"] = ""
                self.changed.append(name)
                if name == "date":
                    self.params["year.value"] = ""
        else:
            self._untag(name, tuple(self.item.tags.get(name, ())))
        self.digests.pop(name, None)
        self.values.pop(name, None)

    def _untag(self, kind: str, current: tuple[str, ...]) -> None:
        """Take PlexSync's own tags out of a kind: all of them while the list is exactly what
        it wrote, else only the names it wrote there (tags someone added stay)."""
        if self.before.mine(kind, current):
            keep: tuple[str, ...] = ()
        else:
            ours = by_value.names(self.values.get(kind, ""))
            keep = tuple(t for t in current if t.casefold() not in ours)
        if len(keep) != len(current):
            _put_tags(self.params, kind, keep, current)
            self.changed.append(kind)

    def tag_kind(self, kind: str, names: tuple[str, ...]) -> None:
        current = tuple(self.item.tags.get(kind, ()))
        if _folded(current) != _folded(names) and self.keeps(kind, current, names):
            if not names:
                self._untag(kind, current)   # a clear: PlexSync's own names still go
            self.disown(kind)
            return
        if _folded(current) != _folded(names):
            _put_tags(self.params, kind, names, current)
            self.changed.append(kind)
        self.own(kind, names)
        self.lock(kind, kind)

    def collections(self, collections_added: Sequence[str]) -> tuple[str, ...]:
        """Collections (additive); returns the new `collections_added`."""
        added = tuple(collections_added)
        if self.wanted.collections is not None:
            added = _collections(self.params, self.changed, self.wanted.collections, self.item,
                                 collections_added)
            if self.wanted.collections or "collection" in self.changed:
                self.lock("collection", "collection")
        # PlexSync owns the collections it added, by name (`collections_added`)
        self.own("collection", added)
        return added


def _collections(params: dict[str, str], changed: list[str], want: Sequence[str],
                 item: PlexItem, previously_added: Sequence[str]) -> tuple[str, ...]:
    current = item.tags.get("collection", ())
    have = _folded(current)
    wanted_f = _folded(want)
    ours = _folded(previously_added)
    to_add = [c for c in want if c.casefold() not in have]
    to_remove = [c for c in current if c.casefold() in ours and c.casefold() not in wanted_f]
    if to_add or to_remove:
        gone = _folded(to_remove)
        keep = [c for c in current if c.casefold() not in gone]
        _put_tags(params, "collection", [*keep, *to_add], current)
        changed.append("collection")
    added_f = _folded(to_add) | ours
    return tuple(c for c in want if c.casefold() in added_f)


def _put_tags(params: dict[str, str], kind: str, names: Sequence[str],
              current: Sequence[str]) -> None:
    for i, name in enumerate(names):
        params[f"{kind}[{i}].tag.tag"] = name
    keep = _folded(names)
    extras = [t for t in current if t.casefold() not in keep]
    if extras:   # plexapi's removal format: each value quote()d, then comma-joined
        params[f"{kind}[].tag.tag-"] = ",".join(quote(t) for t in extras)


def _folded(values: Iterable[str]) -> set[str]:
    return {v.casefold() for v in values}


def _empty(value: str | float | None) -> bool:
    return value is None or value == ""


def _same(name: str, current: str | float | None, value: str | float | None) -> bool:
    if _empty(current) and _empty(value):
        return True
    if name == "rating":
        return (current is not None and value is not None
                and abs(float(current) - float(value)) < RATING_EPSILON)
    return current == value


def _text(value: str | float | None) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.1f}"
    return value
