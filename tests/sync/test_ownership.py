"""The owner guard (sync/ownership.py): the last word before any write to a Plex item."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from plexsync.core.paths import PathMap
from plexsync.errors import Conflict
from plexsync.plex.client import PlexItem
from plexsync.queue.model import SyncRecord
from plexsync.sync import matcher
from plexsync.sync.ownership import Ownership


class NoOwners:
    """Stash knows no scene by the item's file (Plex's path, no path_map to map it back)."""

    def scenes_by_path(self, paths: Sequence[str], *,
                       modifier: str = "EQUALS") -> dict[int, list[tuple[str, int]]]:
        return {}


ITEM = PlexItem(rating_key=1017, section_id=1, files=("/media/videos/A/Summer.mp4",))
BY_BASENAME = matcher.Match(1017, 1, matcher.Confidence.HIGH, "/media/videos/A/Summer.mp4",
                            reason="unique basename, same size (10 bytes)")


def _record(scene_id: int, *, displaced: bool) -> SyncRecord:
    return SyncRecord(scene_id=scene_id, rating_key=1017, section_id=0 if displaced else 1,
                      stash_updated_at="", fetched_at=0.0, values_hash="", synced_at=0.0,
                      collections_added=("Theirs",), confidence="" if displaced else "HIGH",
                      displaced=displaced)


def test_a_basename_pick_held_by_another_scenes_record_is_a_conflict() -> None:
    with pytest.raises(Conflict):
        Ownership(NoOwners(), PathMap()).guard(
            59, BY_BASENAME, ITEM, lambda _rk: [_record(84, displaced=False)])


def test_a_row_an_upgrade_displaced_claims_nothing_and_is_returned_to_be_undone() -> None:
    displaced = _record(84, displaced=True)
    superseded = Ownership(NoOwners(), PathMap()).guard(
        59, BY_BASENAME, ITEM, lambda _rk: [displaced])
    assert superseded == (displaced,)
