"""Issue 4 acceptance: a 50-scene world synced end to end via hooks + Process Queue.

Expectations are derived from the generated world and docs/design.md#field-mapping directly, not
from PlexSync's own
field mapping, so a mapping bug cannot make this test agree with itself.
"""

from __future__ import annotations

from pathlib import Path

from testkit.fake_plex import FakePlex, ItemState
from testkit.fake_stash import FakeStash
from testkit.plex_client import connect
from testkit.world import World, WorldScene, generate, populate
from tests.e2e.conftest import run_plugin

N = 50


def drain_scheduled(stash: FakeStash, data_dir: Path, done: int = 0) -> int:
    """Play Stash's job queue: run every task the hooks scheduled so far."""
    runs = stash.task_runs
    for run in runs[done:]:
        result = run_plugin(stash.task_input(dict(run["args_map"])), data_dir)
        assert result.returncode == 0, result.answer
    return len(runs)


def assert_item_mirrors_scene(item: ItemState, scene: WorldScene, cover: bytes) -> None:
    assert item.title == scene.title
    assert item.summary == scene.details
    assert item.originally_available_at == scene.date
    if scene.date:
        assert item.year == int(scene.date[:4])
    assert item.studio == scene.studio
    assert sorted(item.tags["actor"]) == sorted(scene.performers)
    assert sorted(item.tags["genre"]) == sorted(scene.tags)
    expected_collections = {*scene.groups, *([scene.studio] if scene.studio else [])}
    assert set(item.tags["collection"]) == expected_collections
    if scene.rating100 is None:
        assert item.user_rating is None
    else:
        assert item.user_rating == scene.rating100 / 10
    assert item.tags["director"] == ([scene.director] if scene.director else [])
    assert item.poster == cover
    # lock_fields locks what PlexSync writes; an empty Stash field writes (and locks) nothing.
    written = {"title", "summary", "genre", "thumb"}
    optional = {"originallyAvailableAt": scene.date, "studio": scene.studio,
                "actor": scene.performers, "collection": scene.studio or scene.groups,
                "director": scene.director, "userRating": scene.rating100}
    written |= {name for name, value in optional.items() if value}
    assert written <= item.locked, f"missing locks: {written - item.locked}"


def setup_world(
    stash: FakeStash, plex: FakePlex, **settings: object
) -> tuple[World, dict[int, int]]:
    world = generate(N)
    ids = populate(world, stash, plex)
    stash.plugin_config["PlexSync"] = {"plex_url": plex.url, "plex_token": plex.token,
                                       "path_map": world.path_map, "queue_timeout": 20,
                                       **settings}
    return world, ids


def hook_all(stash: FakeStash, ids: dict[int, int], data_dir: Path) -> None:
    for sid in ids.values():
        result = run_plugin(stash.hook_input(sid, input={"id": str(sid), "title": "x"},
                                             input_fields=["id", "title"]), data_dir)
        assert result.returncode == 0 and result.answer["error"] is None, result.answer


def test_fifty_scene_world_lands_in_plex_field_by_field(
    fakes: tuple[FakeStash, FakePlex], tmp_path: Path
) -> None:
    stash, plex = fakes
    data_dir = tmp_path / "data"
    world, ids = setup_world(stash, plex)

    hook_all(stash, ids, data_dir)
    assert len(stash.task_runs) == 1, "a burst of hooks schedules one drain, not one per hook"
    drain_scheduled(stash, data_dir)

    for scene in world.scenes:
        if scene.kind in ("absent", "outside", "ambiguous"):
            continue
        plex_path = scene.files[0].plex_path
        assert plex_path is not None
        item = plex.find_by_file(plex_path)
        assert item is not None
        assert_item_mirrors_scene(item, scene, stash.screenshot_bytes(ids[scene.key]))

    status = run_plugin(stash.task_input({"mode": "queue_status"}), data_dir).answer["output"]
    assert status["out_of_scope"] == 1                      # the file outside every section
    assert status["dlq_by_error"].get("LowConfidence") == 1  # the ambiguous basename
    absent = world.of_kind("absent")[0]
    folder = absent.files[0].stash_path.rsplit("/", 1)[0].replace("/data/videos", "/media/videos")
    assert any(path == folder for _, path in plex.refreshes), plex.refreshes


def test_removals_in_stash_leave_plex_and_foreign_collections_stay(
    fakes: tuple[FakeStash, FakePlex], tmp_path: Path
) -> None:
    stash, plex = fakes
    data_dir = tmp_path / "data"
    world, ids = setup_world(stash, plex)
    scene = next(s for s in world.scenes if s.kind == "plain" and len(s.tags) >= 2 and s.studio)
    sid = ids[scene.key]
    hook_all(stash, {scene.key: sid}, data_dir)
    drain_scheduled(stash, data_dir)
    plex_path = scene.files[0].plex_path
    assert plex_path is not None
    item = plex.find_by_file(plex_path)
    assert item is not None

    # The user's own Plex collection must survive; PlexSync's studio collection must go.
    server = connect(plex.url, plex.token)
    video = server.fetchItem(item.rating_key)
    video.addCollection("Family Favourites")

    kept_tags = scene.tags[1:]
    scene_now = stash.scene(sid)
    keep_ids = [int(t["id"]) for t in scene_now["tags"] if t["name"] in kept_tags]
    stash.update_scene(sid, tag_ids=keep_ids, studio_id=None)
    done = len(stash.task_runs)
    run_plugin(stash.hook_input(sid, input={"id": str(sid), "tag_ids": [str(i) for i in keep_ids],
                                            "studio_id": None},
                                input_fields=["id", "tag_ids", "studio_id"]), data_dir)
    drain_scheduled(stash, data_dir, done)

    after = plex.item(item.rating_key)
    assert sorted(after.tags["genre"]) == sorted(kept_tags)
    assert scene.tags[0] not in after.tags["genre"]
    assert "Family Favourites" in after.tags["collection"]
    assert scene.studio not in after.tags["collection"]
    assert not after.studio


def test_second_sync_of_unchanged_scenes_sends_no_per_scene_plex_request(
    fakes: tuple[FakeStash, FakePlex], tmp_path: Path
) -> None:
    stash, plex = fakes
    data_dir = tmp_path / "data"
    world, _ = setup_world(stash, plex)
    assert run_plugin(stash.task_input({"mode": "sync_all"}), data_dir).returncode == 0
    drain_scheduled(stash, data_dir)
    synced_keys = set()
    for scene in world.scenes:
        item = plex.find_by_file(scene.files[0].plex_path or "")
        if item is not None and item.title == scene.title:
            synced_keys.add(str(item.rating_key))
    assert len(synced_keys) >= N - 4

    plex.clear_requests()
    done = len(stash.task_runs)
    assert run_plugin(stash.task_input({"mode": "sync_all"}), data_dir).returncode == 0
    drain_scheduled(stash, data_dir, done)
    per_item = [f"{r.method} {r.path}" for r in plex.requests
                if item_key_of(r.path, r.query) in synced_keys]
    assert per_item == []


def item_key_of(path: str, query: dict[str, str]) -> str | None:
    """The ratingKey a Plex request is about: /library/metadata/{rk}/... or an edit's id=."""
    if path.startswith("/library/metadata/"):
        return path.split("/")[3]
    return query.get("id")
