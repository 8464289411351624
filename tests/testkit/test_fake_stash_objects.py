"""The fake Stash's object edits fire the hooks real Stash fires (testkit/stash_objects.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from testkit.fake_stash import FakeStash


@pytest.fixture
def stash() -> Iterator[FakeStash]:
    with FakeStash() as fake:
        yield fake


def test_a_performer_update_fires_its_hook_with_every_input_field_and_the_sent_ones(
        stash: FakeStash) -> None:
    pid = stash.add_performer("Jane")
    stash.execute("mutation($i: PerformerUpdateInput!) { performerUpdate(input: $i) { id } }",
                  {"i": {"id": str(pid), "name": "Janet"}})
    [hook] = stash.fired_hooks
    assert hook["id"] == pid and hook["type"] == "Performer.Update.Post"
    assert sorted(hook["inputFields"]) == ["id", "name"]
    assert hook["input"]["name"] == "Janet" and hook["input"]["birthdate"] is None
    assert stash.scene_ids() == [] and stash.execute(
        "{ findScenes { count } }")["findScenes"]["count"] == 0


def test_a_tag_rename_omits_unsent_fields_and_a_deletion_carries_no_input_fields(
        stash: FakeStash) -> None:
    tid = stash.add_tag("Outdoor")
    stash.execute("mutation($i: TagUpdateInput!) { tagUpdate(input: $i) { id } }",
                  {"i": {"id": str(tid), "name": "Outside"}})
    stash.execute("mutation($i: TagDestroyInput!) { tagDestroy(input: $i) }",
                  {"i": {"id": str(tid)}})
    rename, destroy = stash.fired_hooks
    assert rename["input"] == {"id": str(tid), "name": "Outside"}
    assert destroy == {"id": tid, "type": "Tag.Destroy.Post", "input": {"id": str(tid)}}


def test_a_tag_merge_relinks_scenes_keeps_updated_at_and_fires_once(stash: FakeStash) -> None:
    keep, merged = stash.add_tag("Blonde"), stash.add_tag("blonde hair")
    sid = stash.add_scene(title="S", tag_ids=[merged])
    before = stash.scene(sid)["updated_at"]
    stash.execute("mutation($i: TagsMergeInput!) { tagsMerge(input: $i) { id } }",
                  {"i": {"source": [str(merged)], "destination": str(keep)}})
    scene = stash.scene(sid)
    assert [t["name"] for t in scene["tags"]] == ["Blonde"] and scene["updated_at"] == before
    assert stash.fired_hooks == [{"id": keep, "type": "Tag.Merge.Post",
                                  "input": {"source": [str(merged)], "destination": str(keep)}}]


def test_a_group_edit_also_fires_the_deprecated_movie_hook(stash: FakeStash) -> None:
    gid = stash.add_group("Series")
    stash.execute("mutation($i: GroupUpdateInput!) { groupUpdate(input: $i) { id } }",
                  {"i": {"id": str(gid), "name": "Series 2"}})
    assert [h["type"] for h in stash.fired_hooks] == ["Group.Update.Post", "Movie.Update.Post"]


def test_a_deleted_studio_leaves_its_scenes_without_one(stash: FakeStash) -> None:
    studio = stash.add_studio("Acme")
    sid = stash.add_scene(title="S", studio_id=studio)
    stash.execute("mutation($i: StudioDestroyInput!) { studioDestroy(input: $i) }",
                  {"i": {"id": str(studio)}})
    assert stash.scene(sid)["studio"] is None


def test_a_duplicate_tag_name_is_refused(stash: FakeStash) -> None:
    stash.add_tag("A")
    other = stash.add_tag("B")
    with pytest.raises(RuntimeError, match="already exists"):
        stash.execute("mutation($i: TagUpdateInput!) { tagUpdate(input: $i) { id } }",
                      {"i": {"id": str(other), "name": "a"}})


def test_scenes_are_found_by_performer_tag_studio_and_group(stash: FakeStash) -> None:
    p, t, s, g = (stash.add_performer("P"), stash.add_tag("T"), stash.add_studio("S"),
                  stash.add_group("G"))
    hit = stash.add_scene(title="hit", performer_ids=[p], tag_ids=[t], studio_id=s,
                          group_ids=[g])
    stash.add_scene(title="miss")
    query = "query($f: SceneFilterType) { findScenes(scene_filter: $f) { scenes { id } } }"
    for key, value, extra in (("performers", p, {}), ("tags", t, {"depth": 0}),
                              ("studios", s, {"depth": 0}), ("groups", g, {})):
        found = stash.execute(query, {"f": {key: {"value": [str(value)],
                                                  "modifier": "INCLUDES", **extra}}})
        assert [int(x["id"]) for x in found["findScenes"]["scenes"]] == [hit], key


def test_a_scene_deletion_fires_its_hook_with_stash_s_plugin_input(stash: FakeStash) -> None:
    sid = stash.add_scene(title="S", files=[{"path": "/data/a.mp4"}])
    stash.execute("mutation($i: SceneDestroyInput!) { sceneDestroy(input: $i) }",
                  {"i": {"id": str(sid)}})
    [hook] = stash.fired_hooks
    assert hook["type"] == "Scene.Destroy.Post" and hook["id"] == sid
    assert hook["input"]["path"] == "/data/a.mp4" and hook["input"]["delete_file"] is None
    assert sid not in stash.scene_ids()
