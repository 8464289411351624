"""One scene's gap, judged without I/O of its own (docs/design.md, "Reconciliation").

`assess(scene, record, settings, plex)` → `Assessment`. Gap types, at most one per scene
(a scene is queued once, so the first that applies names it):
- STALE: Stash's `updated_at` is newer than the sync record's;
- MISSING: the scene has files inside a configured library but no Plex item holds them (a
  sync would ask Plex to scan the folder and retry), or only LOW-confidence candidates while
  `strict_matching` is on (a sync would dead-letter it with the candidates for the user);
- EMPTY: the matched Plex item does not hold what a sync would write. Decided with the sync
  engine's own `fields.wanted` and `diff.diff`, locks left out (a list view carries none), so a
  scene is EMPTY exactly when a sync would change a value: after the drain a second pass
  finds nothing, by construction.
Not gaps: no files, the quality gate (all-empty metadata), files outside every configured
library (OUT_OF_SCOPE), a scene whose files Plex lacks when `reconcile_missing` is off, a
missing poster when the scene's cover key answered no image at its last sync (Stash's
placeholder, an HTML page: `images.NOT_AN_IMAGE`, remembered until the key changes).

The Plex item is judged from the section listing (`PlexView.listed`). List views send only the
first few tags of each kind, so a tag list as long as `LIST_TAG_FLOOR` may be cut short: then
the full item is read (`PlexView.fetch`, one GET), unless the sync record vouches for it (the
same item, the same values hash, and Plex has not changed the item since PlexSync synced it).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from plexsync.core.paths import FsPath
from plexsync.core.settings import Settings
from plexsync.plex.model import ListedItem, PlexItem
from plexsync.queue.model import SyncRecord
from plexsync.reconcile.gap_types import GapType
from plexsync.sync import fields, images, matcher
from plexsync.sync.diff import diff
from plexsync.sync.fields import Wanted

# A list view may cut a tag list this long or longer (real PMS and the fake send 3 or more).
LIST_TAG_FLOOR = 3
# Plex stamps updatedAt in whole seconds and keeps it increasing, so one sync's writes (the
# edit PUT, a poster, an art upload, right after the item appeared) can leave it a few seconds
# past PlexSync's own clock reading: within this slack the item counts as unchanged. (The
# cost of a wrong guess either way is one item read, or a hand edit made within these seconds
# that only added tags the list view hides.)
UPDATED_SLACK = 5.0


class Verdict(StrEnum):
    GAP = "gap"
    IN_STEP = "in_step"
    NO_FILES = "no_files"
    GATED = "gated"                  # the quality gate: nothing to push
    OUT_OF_SCOPE = "out_of_scope"
    NOT_IN_PLEX = "not_in_plex"      # missing, but reconcile_missing is off


@dataclass(frozen=True, slots=True)
class Assessment:
    verdict: Verdict
    gap: GapType | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class PlexView:
    """What `assess` may know of Plex: matching (the sync's own: the matcher over the index,
    with other scenes' items left out, `sync.ownership`), the listing, the full item."""

    match: Callable[[int, Sequence[matcher.SceneFile]], matcher.Result]
    listed: Callable[[int], ListedItem | None]
    fetch: Callable[[int], PlexItem]


def _gap(kind: GapType, detail: str) -> Assessment:
    return Assessment(Verdict.GAP, kind, detail)


def assess(scene: Mapping[str, Any], record: SyncRecord | None, settings: Settings,
           plex: PlexView) -> Assessment:
    files = fields.scene_files(scene)
    if not files:
        return Assessment(Verdict.NO_FILES)
    want = fields.wanted(scene, settings)
    if want.skip_reason:
        return Assessment(Verdict.GATED, detail=want.skip_reason)
    updated_at = str(scene.get("updated_at") or "")
    found = _locate(int(scene.get("id") or 0), files, record, settings, plex)
    if isinstance(found, matcher.OutOfScope):
        # before STALE: a sync leaves an out-of-scope scene's record as it is, so an edit
        # after its last sync would be "stale" on every run, however often it is synced
        return Assessment(Verdict.OUT_OF_SCOPE)
    if record is not None and record.behind(updated_at):
        return _gap(GapType.STALE, f"edited in Stash at {updated_at}, after its last sync")
    if isinstance(found, matcher.NotInPlex | matcher.Match):
        if not settings.reconcile_missing:
            return Assessment(Verdict.NOT_IN_PLEX)
        what = ("only LOW-confidence candidates in Plex" if isinstance(found, matcher.Match)
                else "Plex has no item for its file")
        return _gap(GapType.MISSING, what)
    listed = found
    same = record is not None and record.rating_key == listed.item.rating_key
    added = record.collections_added if record is not None and same else ()
    trusted = (record is not None and same and record.values_hash == want.values_hash
               and 0 < listed.updated_at <= record.synced_at + UPDATED_SLACK)
    # a cover whose answer was no image (Stash's placeholder) is remembered by its key
    no_cover = (record is not None and same and record.poster_key == want.poster_url
                and record.poster_hash == images.NOT_AN_IMAGE)
    lacking = _lacking(dataclasses.replace(want, poster=want.poster and not no_cover),
                       listed.item, added, trusted, plex.fetch)
    if lacking:
        return _gap(GapType.EMPTY, f"Plex item {listed.item.rating_key} lacks "
                                   + ", ".join(lacking))
    return Assessment(Verdict.IN_STEP)


def _locate(scene_id: int, files: list[matcher.SceneFile], record: SyncRecord | None,
            settings: Settings, plex: PlexView) -> ListedItem | matcher.Result:
    """The scene's Plex item as the sync would pick it: the record's item while it still
    holds one of the scene's files at its mapped path, else the matcher's HIGH match (or
    LOW when `strict_matching` is off). A `Match` returned is a LOW one under strict."""
    if record is not None:
        listed = plex.listed(record.rating_key)
        if listed is not None:
            mapped = {FsPath.parse(settings.path_map.to_plex(f.path)).key() for f in files}
            if any(FsPath.parse(p).key() in mapped for p in listed.item.files):
                return listed
    result = plex.match(scene_id, files)
    if not isinstance(result, matcher.Match):
        return result
    if result.confidence is matcher.Confidence.LOW and settings.strict_matching:
        return result
    listed = plex.listed(result.rating_key)
    if listed is None:   # indexed but not listed: Plex changed under the run; read it
        item = plex.fetch(result.rating_key)
        listed = ListedItem(item, 0)
    return listed


def _lacking(want: Wanted, item: PlexItem, added: Sequence[str], trusted: bool,
             fetch: Callable[[int], PlexItem]) -> list[str]:
    """What a sync would change on `item` (wire names), [] when nothing. Tag kinds the list
    view may have cut are confirmed on the full item unless `trusted`."""
    values_only = dataclasses.replace(want, lock=False)
    edit = diff(values_only, item, added)
    touched = _touched(edit.params)
    managed = {*want.tags, *(["collection"] if want.collections is not None else [])}
    cut = {k for k in managed if len(item.tags.get(k, ())) >= LIST_TAG_FLOOR}
    certain = sorted(t for t in touched if t not in cut)
    if want.poster and not item.has_poster:
        certain.append("poster")
    if certain:
        return certain
    if not cut or trusted:
        return []
    full = fetch(item.rating_key)
    return sorted(_touched(diff(values_only, full, added).params))


def _touched(params: Mapping[str, str]) -> set[str]:
    """Edit parameter keys → the field or tag kind each belongs to."""
    return {key.split(".", 1)[0].split("[", 1)[0] for key in params}
