"""One Plex item belongs to one scene: the 40-scene world of the defect, end to end.

plexsync.py runs as a subprocess against the fakes, exactly as Stash runs it. Expectations come
from the generated world (which file is whose), never from PlexSync's own matching.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from plexsync.queue.schema import MIGRATIONS
from testkit.fake_plex import FakePlex
from testkit.fake_stash import FakeStash
from testkit.plex_client import connect
from testkit.world import (
    ISSUE_MISSING,
    World,
    issue_world,
    ownership_violations,
    populate,
)
from tests.e2e.conftest import run_plugin
from tests.e2e.test_sync_world import assert_item_mirrors_scene, drain_scheduled


def sync_all(stash: FakeStash, data_dir: Path) -> None:
    done = len(stash.task_runs)
    assert run_plugin(stash.task_input({"mode": "sync_all"}), data_dir).returncode == 0
    drain_scheduled(stash, data_dir, done)


def configure(stash: FakeStash, plex: FakePlex, path_map: str) -> None:
    stash.plugin_config["PlexSync"] = {"plex_url": plex.url, "plex_token": plex.token,
                                       "path_map": path_map, "queue_timeout": 20,
                                       "wake_timer": False}


def status(stash: FakeStash, data_dir: Path) -> dict[str, object]:
    answer = run_plugin(stash.task_input({"mode": "queue_status"}), data_dir).answer
    out: dict[str, object] = answer["output"]
    return out


def assert_in_plex_scenes_are_right(world: World, ids: dict[int, int], stash: FakeStash,
                                    plex: FakePlex) -> None:
    for scene in world.scenes:
        plex_path = scene.files[0].plex_path
        if plex_path is None:
            continue
        item = plex.find_by_file(plex_path)
        assert item is not None
        assert_item_mirrors_scene(item, scene, stash.screenshot_bytes(ids[scene.key]))


def test_the_forty_scene_world_writes_every_scene_to_its_own_item_only(
    fakes: tuple[FakeStash, FakePlex], tmp_path: Path
) -> None:
    stash, plex = fakes
    data_dir = tmp_path / "data"
    world = issue_world()
    ids = populate(world, stash, plex, stage_absent=False)   # Plex skips those files
    configure(stash, plex, world.path_map)

    sync_all(stash, data_dir)
    sync_all(stash, data_dir)            # a second Sync All changes nothing and harms nothing

    assert ownership_violations(world, plex) == []
    assert_in_plex_scenes_are_right(world, ids, stash, plex)
    out = status(stash, data_dir)
    assert out["retrying"] == len(ISSUE_MISSING)      # PlexNotFound, then the DLQ
    assert out["dlq_by_error"] == {}
    db = sqlite3.connect(data_dir / "plexsync.db")
    rows = dict(db.execute("SELECT scene_id, last_error_class FROM jobs"))
    assert rows == {ids[k]: "PlexNotFound" for k in ISSUE_MISSING}


def test_without_path_map_a_unique_basename_with_the_same_size_still_rescues(
    fakes: tuple[FakeStash, FakePlex], tmp_path: Path
) -> None:
    stash, plex = fakes
    data_dir = tmp_path / "data"
    world = issue_world()
    kept = [s for s in world.scenes if s.kind == "plain"
            and sum(x.files[0].stash_path.rsplit("/", 1)[1] == s.files[0].stash_path.rsplit(
                "/", 1)[1] for x in world.scenes) == 1]
    world = World(scenes=kept, stash_root=world.stash_root, plex_root=world.plex_root)
    ids = populate(world, stash, plex)
    configure(stash, plex, "")                        # Stash /data/videos, Plex /media/videos

    sync_all(stash, data_dir)

    assert_in_plex_scenes_are_right(world, ids, stash, plex)
    out = status(stash, data_dir)
    stats = out["stats"]
    assert isinstance(stats, dict)
    assert stats["by_confidence"] == {"HIGH": len(kept)}
    assert ownership_violations(world, plex) == []


def test_two_scenes_recorded_on_one_item_are_matched_again_and_the_item_repaired(
    fakes: tuple[FakeStash, FakePlex], tmp_path: Path
) -> None:
    stash, plex = fakes
    data_dir = tmp_path / "data"
    world = issue_world()
    ids = populate(world, stash, plex, stage_absent=False)
    configure(stash, plex, world.path_map)
    owner, intruder = world.scenes[1], world.scenes[8]      # scene 9 is scene 2's namesake
    plex_path = owner.files[0].plex_path
    assert plex_path is not None and intruder.files[0].plex_path is None
    item = plex.find_by_file(plex_path)
    assert item is not None
    # What an earlier version left: the intruder's values on the item, two records on it.
    video = connect(plex.url, plex.token).fetchItem(item.rating_key)
    video.editTitle(intruder.title)
    video.editSummary(intruder.details)
    video.addGenre(list(intruder.tags))
    video.addCollection(["Intruder's collection"])
    v2_database_sharing_an_item(data_dir, item.rating_key, ids[owner.key], ids[intruder.key],
                                pushed='["title", "summary", "genre"]')

    sync_all(stash, data_dir)     # Sync All alone would call both "unchanged" before the fix

    after = plex.item(item.rating_key)
    assert after.title == owner.title
    assert_in_plex_scenes_are_right(World([owner], world.stash_root, world.plex_root), ids,
                                    stash, plex)
    db = sqlite3.connect(data_dir / "plexsync.db")
    records = dict(db.execute("SELECT scene_id, rating_key FROM sync_records"))
    assert records.get(ids[owner.key]) == item.rating_key
    assert ids[intruder.key] not in records
    assert dict(db.execute("SELECT scene_id, last_error_class FROM jobs"))[
        ids[intruder.key]] == "PlexNotFound"


def test_a_displaced_scene_that_finds_its_own_item_first_still_has_its_values_undone(
    fakes: tuple[FakeStash, FakePlex], tmp_path: Path
) -> None:
    """The intruder of an upgraded database is matched again BEFORE the item's own scene (its
    job comes first) and lands on its own, newly scanned item: what it pushed to the other
    scene's item must still be undone when that scene is written."""
    stash, plex = fakes
    data_dir = tmp_path / "data"
    world = issue_world()
    ids = populate(world, stash, plex, stage_absent=False)
    configure(stash, plex, world.path_map)
    in_plex = [s for s in world.scenes if s.files[0].plex_path is not None]
    intruder, owner = sorted(in_plex[:2], key=lambda s: ids[s.key])   # intruder's job first
    plex_path = owner.files[0].plex_path
    assert plex_path is not None
    item = plex.find_by_file(plex_path)
    assert item is not None
    video = connect(plex.url, plex.token).fetchItem(item.rating_key)
    video.editTitle(intruder.title)
    video.addCollection(["Intruder's collection"])
    v2_database_sharing_an_item(data_dir, item.rating_key, ids[owner.key], ids[intruder.key],
                                pushed='["title", "collection"]')

    sync_all(stash, data_dir)

    after = plex.item(item.rating_key)
    assert "Intruder's collection" not in after.tags["collection"]
    assert_in_plex_scenes_are_right(World([owner, intruder], world.stash_root,
                                          world.plex_root), ids, stash, plex)


def v2_database_sharing_an_item(data_dir: Path, rating_key: int, owner_id: int, intruder_id: int,
                                pushed: str) -> None:
    """What an earlier version (schema v2) could leave: the owner's and an intruder's sync
    records on one item, the intruder having pushed `pushed` and a collection there."""
    data_dir.mkdir(parents=True)
    db = sqlite3.connect(data_dir / "plexsync.db")
    for version, step in enumerate(MIGRATIONS[:2]):
        for statement in step:
            db.execute(statement)
        db.execute(f"PRAGMA user_version = {version + 1}")
    for scene_id, collections, fields in ((owner_id, "[]", "[]"),
                                          (intruder_id, '["Intruder\'s collection"]', pushed)):
        db.execute(
            "INSERT INTO sync_records (scene_id, rating_key, section_id, stash_updated_at, "
            "fetched_at, values_hash, synced_at, collections_added, pushed_fields) "
            "VALUES (?, ?, 1, '2999-01-01T00:00:00Z', 0, 'same', 0, ?, ?)",
            (scene_id, rating_key, collections, fields))
    db.commit()
    db.close()
