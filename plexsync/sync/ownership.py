"""One Plex item belongs to one scene (docs/design.md, matching): who owns an item, and the guard.

The matcher (pure) decides from the index; this module adds what needs Stash or the queue:
- `Ownership.match`: the matcher with the basename candidates another scene owns left out. A
  candidate is another scene's when its file, mapped back through `path_map` (longest
  Plex-side prefix), is a file of another Stash scene (asked of Stash by path, batched per
  scene, cached for the drain: a processor lives for one drain). A candidate is contested
  (never HIGH, so LowConfidence under strict matching) when another Stash scene has a file of
  the same name and size: without a full `path_map` nothing tells whose copy Plex holds.
- `Ownership.guard`: after the item is read, the last word before any write. The item is
  refused (`Conflict`, dead-lettered at once, naming both scenes and the item) when
  - a basename pick holds a file of another Stash scene (a part the candidate list did not
    show), or another scene's sync record holds it (both scenes resolve to it);
  - an exact pick is held by another scene's record while that scene also owns one of the
    item's files (Plex merged both scenes' files into one item).
  An exact pick held by another scene's record whose files are not in the item is the scene's
  own: the other record was a wrong guess. This sync undoes what it pushed (its collections,
  the fields it filled that this scene leaves empty); the queue drops that record and
  matches its scene again when this scene's record is stored.
- `trusted`: the unchanged shortcut's check, from an index listed in this drain (no item
  request): the recorded item is still the one the scene's files resolve to.

Failure behaviour: a Stash failure while asking by path raises `StashError` (retried like
any Stash trouble): an owner check that could not be made never lets a write through.
"""

from __future__ import annotations

import dataclasses
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from plexsync.core.log import quote_path
from plexsync.core.paths import FsPath, PathMap, basename, fold
from plexsync.errors import Conflict
from plexsync.plex.model import PlexItem
from plexsync.queue.model import SyncRecord
from plexsync.sync import matcher

RecordsOnItem = Callable[[int], list[SyncRecord]]
# How long a deleted scene's record (a tombstone) still holds its item for the scene that
# comes back for its file, against other scenes' basename rescues.
TOMBSTONE_S = 30 * 86400.0


class StashPaths(Protocol):
    def scenes_by_path(self, paths: Sequence[str], *,
                       modifier: str = "EQUALS") -> dict[int, list[tuple[str, int]]]: ...

    def scenes_by_id(self, scene_ids: Sequence[int]) -> Mapping[int, object]: ...


@dataclass(frozen=True, slots=True)
class Claims:
    """Other scenes' records on the item the guard let through (docs/design.md#ownership).

    `inherit`: records of scenes deleted in Stash whose file this scene now has (Clean + Scan
    re-created it): the record follows the file, and its ownership passes to this scene.
    `undo`: wrong guesses, rows an upgrade displaced, and records whose scene now has other
    files (a file moved between scenes): what they wrote is undone in this scene's edit."""

    undo: tuple[SyncRecord, ...] = ()
    inherit: SyncRecord | None = None


@dataclass(frozen=True, slots=True)
class Located:
    """The matcher's pick and what the owner checks found on the way (for the log)."""

    match: matcher.Match
    excluded: Mapping[int, int]      # ratingKey → the scene owning it, left out of the search
    contested: frozenset[int] = frozenset()   # another Stash scene has a file of that name

    def why(self) -> str:
        """Why a basename match was accepted: its size/duration rule and the owner checks."""
        parts = [self.match.reason, "its file is no other Stash scene's",
                 "no other scene's sync record holds it"]
        if self.match.rating_key in self.contested:
            parts[1] = "another Stash scene has a file of that name and size (so at best LOW)"
        if self.excluded:
            owned = ", ".join(f"ratingKey {rk} (scene {sid})"
                              for rk, sid in sorted(self.excluded.items()))
            parts.append(f"left out as other scenes' items: {owned}")
        return "; ".join(parts)


class Ownership:
    """Owner checks for one drain; Stash answers are cached by Stash path."""

    def __init__(self, stash: StashPaths, path_map: PathMap) -> None:
        self._stash = stash
        self._path_map = path_map
        self._owners: dict[str, frozenset[int]] = {}   # NFC Stash path → owning scene ids
        # folded basename → (scene id, size) of every Stash file of that name
        self._namesakes: dict[str, list[tuple[int, int]]] = {}

    # ------------------------------------------------------------------ Stash by path
    def owners(self, plex_paths: Iterable[str]) -> dict[str, frozenset[int]]:
        """Plex path → the Stash scenes owning the file it maps back to."""
        stash_of = {p: self._path_map.to_stash(p) for p in plex_paths}
        missing = [s for s in dict.fromkeys(stash_of.values()) if s not in self._owners]
        if missing:
            # Stash stores the path as the file system gave it: ask for both forms.
            forms = list(dict.fromkeys(
                f for s in missing for f in (s, unicodedata.normalize("NFD", s))))
            found = self._stash.scenes_by_path(forms)
            owners: dict[str, set[int]] = {s: set() for s in missing}
            # The same file only (Stash's EQUALS is a LIKE), compared as paths are: after NFC,
            # and case-insensitively on Windows, where path_map may spell it in another case.
            wanted = {_identity(s): s for s in missing}
            for scene_id, paths in found.items():
                for path, _ in paths:
                    key = wanted.get(_identity(path))
                    if key is not None:
                        owners[key].add(scene_id)
            self._owners.update({k: frozenset(v) for k, v in owners.items()})
        return {p: self._owners[s] for p, s in stash_of.items()}

    def namesakes(self, names: Iterable[str]) -> dict[str, list[tuple[int, int]]]:
        """Folded basename → (scene id, size) of every Stash file of that name."""
        wanted = list(dict.fromkeys(names))
        missing = [n for n in wanted if n not in self._namesakes]
        if missing:
            forms = list(dict.fromkeys(
                f for n in missing for f in (n, unicodedata.normalize("NFD", n))))
            found = self._stash.scenes_by_path(forms, modifier="INCLUDES")
            fresh: dict[str, list[tuple[int, int]]] = {n: [] for n in missing}
            for scene_id, files in found.items():
                for path, size in files:
                    name = fold(basename(path))
                    if name in fresh:
                        fresh[name].append((scene_id, size))
            self._namesakes.update(fresh)
        return {n: self._namesakes[n] for n in wanted}

    # ------------------------------------------------------------------ matching
    def match(self, scene_id: int, files: Sequence[matcher.SceneFile], lookup: matcher.Lookup,
              locations: Mapping[int, Sequence[str]]) -> tuple[matcher.Result, Located | None]:
        """The matcher, with basename candidates owned by another Stash scene left out."""
        if matcher.exact(files, self._path_map, lookup) is None:
            rescue = matcher.rescue_candidates(files, self._path_map, lookup, locations)
        else:
            rescue = []
        excluded: dict[int, int] = {}
        contested: set[int] = set()
        if rescue:
            owners = self.owners(c.path for c in rescue)
            namesakes = self.namesakes(fold(basename(c.path)) for c in rescue)
            for cand in rescue:
                others = owners[cand.path] - {scene_id}
                if others:
                    excluded[cand.rating_key] = min(others)
                elif any(sid != scene_id and (size == cand.size or 0 in (size, cand.size))
                         for sid, size in namesakes[fold(basename(cand.path))]):
                    contested.add(cand.rating_key)   # could as well be that scene's file
        result = matcher.match(files, self._path_map, lookup, locations, excluded, contested)
        located = (Located(result, excluded, frozenset(contested))
                   if isinstance(result, matcher.Match) else None)
        return result, located

    def guard(self, scene_id: int, match: matcher.Match, item: PlexItem,
              records_on_item: RecordsOnItem, files: Sequence[str] = (),
              now: float = 0.0) -> Claims:
        """Raise `Conflict` unless `item` may receive this scene's metadata (module doc).

        Returns the other scenes' records on the item that this write supersedes (`Claims`)."""
        others = tuple(r for r in records_on_item(item.rating_key) if r.scene_id != scene_id)
        if match.exact and not others:
            return Claims()
        owned = self.owners(item.files) if item.files else {}
        stash_others = sorted({sid for ids in owned.values() for sid in ids} - {scene_id})
        if match.exact:
            both = [r.scene_id for r in others if r.scene_id in stash_others]
            if both:
                raise _conflict(scene_id, both[0], item, "both scenes' files are parts of it")
            return self._claims(others, files, now, exact=True)   # the file is this scene's
        if stash_others:
            raise _conflict(scene_id, stash_others[0], item,
                            "one of its files is the other scene's")
        claims = self._claims(others, files, now, exact=False)
        holders = [r for r in claims.undo if not r.displaced]   # a displaced row claims nothing
        if holders:
            raise _conflict(scene_id, holders[0].scene_id, item,
                            "both resolve to it; the other scene's sync record holds it")
        return claims

    def _claims(self, others: Sequence[SyncRecord], files: Sequence[str], now: float, *,
                exact: bool) -> Claims:
        """Split other scenes' records on the item: the newest of a scene deleted in Stash
        whose file this scene has (recorded `stash_files`; a record from before they were
        kept, on an exact match only) is inherited, the rest undone; a deleted scene's record
        not synced for `TOMBSTONE_S` claims the item no more (like a displaced row). One
        Stash query, only when a live record of another scene is there."""
        live = [r for r in others if not r.displaced]
        if not live:
            return Claims(undo=tuple(others))
        present = self._stash.scenes_by_id([r.scene_id for r in live])
        mine = {_identity(f) for f in files}
        gone = sorted((r for r in live if r.scene_id not in present and (
            any(_identity(f) in mine for f in r.stash_files)
            or (exact and not r.stash_files))), key=lambda r: r.synced_at)
        heir = gone[-1] if gone else None
        undo = tuple(dataclasses.replace(r, displaced=True)
                     if r.scene_id not in present and now - r.synced_at > TOMBSTONE_S else r
                     for r in others if r is not heir)
        return Claims(undo=undo, inherit=heir)


def _identity(path: str) -> tuple[bool, str, tuple[str, ...]]:
    """What two spellings of one file share (`core.paths.FsPath.key`'s comparison)."""
    parsed = FsPath.parse(path)
    return parsed.windows, parsed.lead, parsed.key()


def _conflict(scene_id: int, other: int, item: PlexItem, why: str) -> Conflict:
    files = ", ".join(quote_path(f) for f in item.files[:2]) or "no file"
    return Conflict(
        f"scenes {scene_id} and {other} both resolve to Plex item ratingKey {item.rating_key} "
        f"({files}): {why}. Nothing was written; make each scene's file its own (path_map, "
        "or let Plex scan the missing file), then Recover DLQ Jobs with error_types Conflict.",
        scene_id=scene_id, other_scene_id=other, rating_key=item.rating_key)


def trusted(record: SyncRecord, files: Sequence[matcher.SceneFile], path_map: PathMap,
            lookup: matcher.Lookup, locations: Mapping[int, Sequence[str]]) -> bool:
    """Whether the index (no request) still resolves the scene's files to the recorded item.

    An exact path of the scene on another item (Plex scanned the scene's own file since a
    basename rescue) or no resolution at all means the record must be looked at again."""
    result = matcher.match(files, path_map, lookup, locations)
    return (isinstance(result, matcher.Match) and result.confidence is matcher.Confidence.HIGH
            and result.rating_key == record.rating_key)
