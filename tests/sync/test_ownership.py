"""The owner guard (sync/ownership.py): the last word before any write to a Plex item."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import pytest

from plexsync.core.paths import PathMap
from plexsync.errors import Conflict
from plexsync.plex.model import Candidate, PlexItem
from plexsync.queue.model import SyncRecord
from plexsync.sync import matcher
from plexsync.sync.ownership import TOMBSTONE_S, Claims, Ownership


class NoOwners:
    """Stash knows no scene by the item's file (Plex's path, no path_map to map it back);
    every scene asked for by id still exists unless named in `deleted`."""

    def __init__(self, deleted: Sequence[int] = ()) -> None:
        self.deleted = set(deleted)

    def scenes_by_path(self, paths: Sequence[str], *,
                       modifier: str = "EQUALS") -> dict[int, list[tuple[str, int]]]:
        return {}

    def scenes_by_id(self, scene_ids: Sequence[int]) -> dict[int, object]:
        return {i: {} for i in scene_ids if i not in self.deleted}


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
    claims = Ownership(NoOwners(), PathMap()).guard(
        59, BY_BASENAME, ITEM, lambda _rk: [displaced])
    assert claims == Claims(undo=(displaced,))


def test_the_record_of_a_scene_deleted_in_stash_is_inherited_not_undone() -> None:
    gone, moved = _record(84, displaced=False), _record(85, displaced=False)
    exact = dataclasses.replace(BY_BASENAME, exact=True)
    claims = Ownership(NoOwners(deleted=[84]), PathMap()).guard(
        59, exact, ITEM, lambda _rk: [gone, moved])
    assert claims == Claims(undo=(moved,), inherit=gone)   # (no files recorded: by exact path)


def test_a_basename_pick_inherits_a_deleted_scene_s_record_only_for_the_same_file() -> None:
    same = dataclasses.replace(_record(84, displaced=False), stash_files=("/data/A/Summer.mp4",))
    claims = Ownership(NoOwners(deleted=[84]), PathMap()).guard(
        59, BY_BASENAME, ITEM, lambda _rk: [same], ["/data/A/Summer.mp4"])
    assert claims == Claims(inherit=same)
    namesake = dataclasses.replace(same, stash_files=("/data/B/Summer.mp4",))
    with pytest.raises(Conflict):   # another file's tombstone holds it
        Ownership(NoOwners(deleted=[84]), PathMap()).guard(
            59, BY_BASENAME, ITEM, lambda _rk: [namesake], ["/data/A/Summer.mp4"])


def test_a_tombstone_holds_its_item_for_a_while_then_is_only_undone() -> None:
    namesake = dataclasses.replace(_record(84, displaced=False),
                                   stash_files=("/data/B/Summer.mp4",))
    later = TOMBSTONE_S + 1.0
    claims = Ownership(NoOwners(deleted=[84]), PathMap()).guard(
        59, BY_BASENAME, ITEM, lambda _rk: [namesake], ["/data/A/Summer.mp4"], later)
    assert claims == Claims(undo=(dataclasses.replace(namesake, displaced=True),))
    same = dataclasses.replace(namesake, stash_files=("/data/A/Summer.mp4",))
    claims = Ownership(NoOwners(deleted=[84]), PathMap()).guard(
        59, BY_BASENAME, ITEM, lambda _rk: [same], ["/data/A/Summer.mp4"], later)
    assert claims == Claims(inherit=same)   # the same file's scene inherits it, however late


class LikeStash:
    """Stash's path EQUALS is an SQL LIKE: ASCII case-insensitive. It stores the path as the
    file system gave it (here Windows, `D:\\Videos\\...`)."""

    def __init__(self, files: dict[int, list[tuple[str, int]]]) -> None:
        self.files = files

    def scenes_by_path(self, paths: Sequence[str], *,
                       modifier: str = "EQUALS") -> dict[int, list[tuple[str, int]]]:
        wanted = [p.lower() for p in paths]
        hit = ((lambda path, want: want in path) if modifier == "INCLUDES"
               else (lambda path, want: path == want))
        return {sid: fs for sid, fs in self.files.items()
                if any(hit(path.lower(), w) for path, _ in fs for w in wanted)}

    def scenes_by_id(self, scene_ids: Sequence[int]) -> dict[int, object]:
        return {i: {} for i in scene_ids if i in self.files}


def test_a_windows_stash_file_is_its_scenes_whatever_the_case_path_map_spells_it_in() -> None:
    # Windows paths are case-insensitive: `d:\videos` in path_map names Stash's D:\Videos.
    stash = LikeStash({2: [("D:\\Videos\\A\\Summer.mp4", 10)]})
    owners = Ownership(stash, PathMap.parse("d:\\videos=/media/videos")).owners(
        ["/media/videos/A/Summer.mp4"])
    assert owners == {"/media/videos/A/Summer.mp4": frozenset({2})}


class OneItem:
    """An index holding one item: scene 2's file, as Plex (on Linux) reports it."""

    ITEM = Candidate(1, "/media/videos/A/Summer.mp4", 1017, 10, 0)

    def by_path(self, plex_path: str) -> Candidate | None:
        return self.ITEM if plex_path == self.ITEM.path else None

    def by_basename(self, basename_folded: str) -> Sequence[Candidate]:
        return [self.ITEM] if basename_folded == "summer.mp4" else []


def test_a_namesake_outside_every_library_never_takes_a_windows_scenes_item() -> None:
    stash = LikeStash({2: [("D:\\Videos\\A\\Summer.mp4", 10)],
                       5: [("E:\\Private\\Summer.mp4", 10)]})
    owners = Ownership(stash, PathMap.parse("d:\\videos=/media/videos"))
    result, _ = owners.match(5, [matcher.SceneFile("E:\\Private\\Summer.mp4", 10, 0.0)],
                             OneItem(), {1: ["/media/videos"]})
    assert isinstance(result, matcher.OutOfScope), result
