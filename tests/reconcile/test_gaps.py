"""Gap judgement of one scene, with an in-memory Plex view (no servers)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from plexsync.core.settings import Settings
from plexsync.plex.client import ListedItem, PlexItem
from plexsync.plex.model import Candidate
from plexsync.queue.model import SyncRecord
from plexsync.reconcile.gap_types import GapType
from plexsync.reconcile.gaps import PlexView, Verdict, assess
from plexsync.sync import fields, matcher

SETTINGS = Settings.from_mapping({"plex_url": "http://plex:32400", "plex_token": "t",
                                  "path_map": "/data=/media", "sync_poster": False,
                                  "sync_collections": False})
RK = 7
PATH = "/media/a/scene.mp4"
TAGS = ("Drama", "Comedy", "Night", "Travel", "Music")


def scene(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "1", "title": "A title", "details": "A summary", "date": "2020-02-03",
        "rating100": None, "director": "", "updated_at": "2024-01-02T00:00:00Z",
        "studio": {"name": "Northlight"}, "performers": [],
        "tags": [{"name": t} for t in TAGS], "groups": [],
        "files": [{"path": "/data/a/scene.mp4", "size": 10, "duration": 1.0}],
        "paths": {"screenshot": ""},
    }
    base.update(changes)
    return base


def plex_item(**changes: Any) -> PlexItem:
    base = PlexItem(rating_key=RK, section_id=1, title="A title", summary="A summary",
                    studio="Northlight", date="2020-02-03", year=2020,
                    tags={"genre": TAGS}, files=(PATH,), has_poster=True)
    return replace(base, **changes)


class View:
    """A Plex whose list view cuts tag lists to 3, like real PMS list views."""

    def __init__(self, item: PlexItem | None, updated_at: int = 100) -> None:
        self.item = item
        self.updated_at = updated_at
        self.fetches = 0

    def by_path(self, plex_path: str) -> Candidate | None:
        if self.item is not None and plex_path in self.item.files:
            return Candidate(1, plex_path, self.item.rating_key, 10, 1000)
        return None

    def by_basename(self, basename_folded: str) -> Sequence[Candidate]:
        return []

    def listed(self, rating_key: int) -> ListedItem | None:
        if self.item is None or rating_key != self.item.rating_key:
            return None
        cut = {k: v[:3] for k, v in self.item.tags.items()}
        return ListedItem(replace(self.item, tags=cut), self.updated_at)

    def fetch(self, rating_key: int) -> PlexItem:
        self.fetches += 1
        assert self.item is not None
        return self.item

    def match(self, scene_id: int, files: Sequence[matcher.SceneFile]) -> matcher.Result:
        return matcher.match(files, SETTINGS.path_map, self, {1: ("/media",)})

    def view(self) -> PlexView:
        return PlexView(self.match, self.listed, self.fetch)


def record(**changes: Any) -> SyncRecord:
    want = fields.wanted(scene(), SETTINGS)
    base = SyncRecord(scene_id=1, rating_key=RK, section_id=1,
                      stash_updated_at="2024-01-02T00:00:00Z", fetched_at=50.0,
                      values_hash=want.values_hash, synced_at=200.0)
    return replace(base, **changes)


def test_a_scene_edited_in_stash_after_its_sync_is_stale() -> None:
    edited = scene(updated_at="2024-05-01T00:00:00Z")
    got = assess(edited, record(), SETTINGS, View(plex_item()).view())
    assert got.gap is GapType.STALE


def test_a_wiped_summary_seen_in_the_listing_is_an_empty_gap_without_reading_the_item() -> None:
    plex = View(plex_item(summary=""))
    got = assess(scene(), record(), SETTINGS, plex.view())
    assert got.gap is GapType.EMPTY and "summary" in got.detail and plex.fetches == 0


def test_an_item_in_step_is_no_gap_and_a_vouching_record_spares_the_item_read() -> None:
    plex = View(plex_item())
    assert assess(scene(), record(), SETTINGS, plex.view()).verdict is Verdict.IN_STEP
    assert plex.fetches == 0


def test_a_tag_list_the_listing_may_have_cut_is_confirmed_on_the_full_item() -> None:
    # never synced: no record vouches, the listing shows 3 of 5 genres → read the item
    plex = View(plex_item())
    assert assess(scene(), None, SETTINGS, plex.view()).verdict is Verdict.IN_STEP
    assert plex.fetches == 1


def test_a_genre_added_by_hand_beyond_the_list_views_cut_is_found_on_the_full_item() -> None:
    plex = View(plex_item(tags={"genre": (*TAGS, "Added by hand")}), updated_at=10_000)
    got = assess(scene(), record(), SETTINGS, plex.view())
    assert got.gap is GapType.EMPTY and "genre" in got.detail and plex.fetches == 1


def test_a_file_plex_lacks_inside_a_library_is_missing_and_outside_is_out_of_scope() -> None:
    assert assess(scene(), None, SETTINGS, View(None).view()).gap is GapType.MISSING
    outside = scene(files=[{"path": "/elsewhere/x.mp4", "size": 1, "duration": 1.0}])
    assert assess(outside, None, SETTINGS, View(None).view()).verdict is Verdict.OUT_OF_SCOPE
    off = replace(SETTINGS, reconcile_missing=False)
    assert assess(scene(), None, off, View(None).view()).verdict is Verdict.NOT_IN_PLEX


def test_the_quality_gate_and_a_scene_without_files_are_not_gaps() -> None:
    empty = scene(title="", details="", date=None, studio=None, tags=[])
    assert assess(empty, None, SETTINGS, View(plex_item(summary="")).view()).verdict \
        is Verdict.GATED
    assert assess(scene(files=[]), None, SETTINGS, View(None).view()).verdict is Verdict.NO_FILES
