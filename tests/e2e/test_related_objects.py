"""Issue 24: a performer, tag, studio or group renamed, merged or deleted in Stash reaches every
Plex item it is on, after one Process Queue (docs/design.md#object-jobs).

Edits go through the fake Stash's GraphQL mutations, which fire the hooks real Stash fires;
`PluginHooks` runs `plexsync.py` for each as Stash does (synchronously, before the mutation
answers). Plex writes are counted from the fake Plex's request log: every request that is not
a GET, with the item it wrote to.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from testkit.fake_plex import FakePlex
from testkit.fake_stash import FakeStash
from testkit.plex_client import connect
from testkit.stash_hooks import PluginHooks
from testkit.stash_jobs import PluginJobs
from tests.e2e.conftest import run_plugin

PERFORMER_UPDATE = """mutation($input: PerformerUpdateInput!) {
  performerUpdate(input: $input) { id name } }"""
TAG_UPDATE = "mutation($input: TagUpdateInput!) { tagUpdate(input: $input) { id name } }"
TAG_DESTROY = "mutation($input: TagDestroyInput!) { tagDestroy(input: $input) }"
TAGS_MERGE = "mutation($input: TagsMergeInput!) { tagsMerge(input: $input) { id name } }"
STUDIO_UPDATE = "mutation($input: StudioUpdateInput!) { studioUpdate(input: $input) { id } }"
GROUP_UPDATE = "mutation($input: GroupUpdateInput!) { groupUpdate(input: $input) { id } }"
SCENE_DESTROY = "mutation($input: SceneDestroyInput!) { sceneDestroy(input: $input) }"


class World:
    """Stash and Plex with `n` scenes on `n` items, PlexSync set up, the hooks live."""

    def __init__(self, stash: FakeStash, plex: FakePlex, data_dir: Path,
                 hooks: PluginHooks) -> None:
        self.stash, self.plex, self.data_dir, self.hooks = stash, plex, data_dir, hooks
        self.items: dict[int, int] = {}   # scene id → ratingKey

    def add_scene(self, i: int, **fields: Any) -> int:
        rating_key = self.plex.add_item(1, f"/media/s{i}.mp4", size=100 + i)
        scene_id = self.stash.add_scene(title=f"Scene {i}", files=[
            {"path": f"/data/s{i}.mp4", "size": 100 + i}], **fields)
        self.items[scene_id] = rating_key
        return scene_id

    def task(self, mode: str) -> dict[str, Any]:
        result = run_plugin(self.stash.task_input({"mode": mode}), self.data_dir)
        assert result.returncode == 0, (result.answer, result.stderr)
        output: dict[str, Any] = result.answer["output"]
        return output

    def sync_everything(self) -> None:
        self.task("sync_all")
        self.task("process_queue")
        assert self.task("queue_status")["pending"] == 0

    def edit(self, document: str, **values: Any) -> None:
        runs = len(self.hooks.runs)
        self.stash.execute(document, {"input": values})
        for run in self.hooks.runs[runs:]:
            assert run.returncode == 0 and run.answer["error"] is None, (run.answer, run.stderr)

    def item(self, scene_id: int) -> Any:
        return self.plex.item(self.items[scene_id])

    def writes(self) -> list[int]:
        """The ratingKey of every Plex write (any request but a GET) since the last clear."""
        keys = []
        for request in self.plex.requests:
            if request.method == "GET":
                continue
            key = request.query.get("id") or request.path.split("/")[3]
            keys.append(int(key))
        return keys

    def object_jobs(self) -> int:
        with sqlite3.connect(self.data_dir / "plexsync.db") as db:
            return int(db.execute("SELECT count(*) FROM object_jobs").fetchone()[0])


@pytest.fixture
def world(fakes: tuple[FakeStash, FakePlex], tmp_path: Path) -> Iterator[World]:
    stash, plex = fakes
    plex.add_section(1, "Movies", ["/media"])
    stash.plugin_config["PlexSync"] = {
        "plex_url": plex.url, "plex_token": plex.token, "path_map": "/data=/media",
        "wake_timer": False, "tags_as": "both"}
    data_dir = tmp_path / "data"
    with PluginHooks(stash, data_dir) as hooks:
        yield World(stash, plex, data_dir, hooks)


def test_a_performer_renamed_on_40_scenes_reaches_those_40_items_in_40_writes(
        world: World) -> None:
    renamed = world.stash.add_performer("Jane Doe")
    other = world.stash.add_performer("John Roe")
    hers = [world.add_scene(i, performer_ids=[renamed, other] if i % 2 else [renamed])
            for i in range(40)]
    others = [world.add_scene(i, performer_ids=[other]) for i in range(40, 50)]
    world.sync_everything()
    assert world.item(hers[0]).tags["actor"] == ["Jane Doe"]
    world.plex.clear_requests()
    world.stash.task_runs.clear()

    world.edit(PERFORMER_UPDATE, id=str(renamed), name="Jane Smith")

    assert [r.type for r in world.hooks.runs] == ["Performer.Update.Post"]
    assert len(world.stash.task_runs) == 1, "the hook asks Stash for one Process Queue"
    assert world.plex.requests == [], "the hook never talks to Plex"
    world.task("process_queue")
    for scene_id in hers:
        actors = world.item(scene_id).tags["actor"]
        assert "Jane Smith" in actors and "Jane Doe" not in actors, (scene_id, actors)
    for scene_id in others:
        assert world.item(scene_id).tags["actor"] == ["John Roe"]
    writes = world.writes()
    assert sorted(writes) == sorted(world.items[s] for s in hers), "one write per item, no other"
    assert world.object_jobs() == 0


def test_an_edit_that_changes_no_name_queues_nothing(world: World) -> None:
    performer = world.stash.add_performer("Jane Doe")
    tag = world.stash.add_tag("Outdoor")
    world.add_scene(0, performer_ids=[performer], tag_ids=[tag])
    world.sync_everything()
    world.stash.task_runs.clear()

    world.edit(PERFORMER_UPDATE, id=str(performer), birthdate="1990-01-01")
    world.edit(TAG_UPDATE, id=str(tag), description="Shot outside")
    # Stash's edit form sends every field, the unchanged name included.
    world.edit(PERFORMER_UPDATE, id=str(performer), name="Jane Doe", birthdate="1990-01-02",
               disambiguation="", alias_list=[], favorite=True)

    assert [r.answer["output"]["skipped"] for r in world.hooks.runs] == [
        "no field PlexSync syncs was changed (only the name reaches Plex)"] * 2 + [
        "the name did not change"]
    assert world.stash.task_runs == [] and world.object_jobs() == 0


def test_a_tag_merged_into_another_reaches_every_item_of_both(world: World) -> None:
    keep = world.stash.add_tag("Blonde")
    merged = world.stash.add_tag("blonde hair")
    unrelated = world.stash.add_tag("Outdoor")
    only_merged = world.add_scene(0, tag_ids=[merged])
    both = world.add_scene(1, tag_ids=[keep, merged, unrelated])
    only_kept = world.add_scene(2, tag_ids=[keep])
    neither = world.add_scene(3, tag_ids=[unrelated])
    world.sync_everything()
    world.plex.clear_requests()

    world.edit(TAGS_MERGE, source=[str(merged)], destination=str(keep))
    world.task("process_queue")

    assert [r.type for r in world.hooks.runs] == ["Tag.Merge.Post"]
    for kind in ("genre", "label"):
        assert world.item(only_merged).tags[kind] == ["Blonde"]
        assert sorted(world.item(both).tags[kind]) == ["Blonde", "Outdoor"]
        assert world.item(only_kept).tags[kind] == ["Blonde"]
        assert world.item(neither).tags[kind] == ["Outdoor"]
    assert sorted(world.writes()) == sorted([world.items[only_merged], world.items[both]])


def test_a_deleted_tag_leaves_only_the_items_where_plexsync_wrote_it(world: World) -> None:
    keep = world.stash.add_tag("Keep")
    gone = world.stash.add_tag("Gone")
    two_tags = world.add_scene(0, tag_ids=[keep, gone])
    only_gone = world.add_scene(1, tag_ids=[gone])
    users_own = world.add_scene(2, tag_ids=[keep])
    untagged = world.add_scene(3)
    world.sync_everything()
    # The user labels two items "Gone" in Plex by hand: PlexSync never wrote those.
    server = connect(world.plex.url, world.plex.token)
    for scene_id in (users_own, untagged):
        server.fetchItem(world.items[scene_id]).addLabel("Gone")
    world.plex.clear_requests()

    world.edit(TAG_DESTROY, id=str(gone))
    world.task("process_queue")

    assert [r.type for r in world.hooks.runs] == ["Tag.Destroy.Post"]
    assert world.item(two_tags).tags["label"] == ["Keep"]
    assert world.item(two_tags).tags["genre"] == ["Keep"]
    assert world.item(only_gone).tags["label"] == []
    assert world.item(only_gone).tags["genre"] == []
    assert sorted(world.item(users_own).tags["label"]) == ["Gone", "Keep"]
    assert world.item(untagged).tags["label"] == ["Gone"]
    assert sorted(world.writes()) == sorted([world.items[two_tags], world.items[only_gone]])


def test_a_renamed_studio_renames_the_studio_and_its_collection(world: World) -> None:
    studio = world.stash.add_studio("Acme")
    other = world.stash.add_studio("Globex")
    theirs = [world.add_scene(i, studio_id=studio) for i in range(3)]
    elsewhere = world.add_scene(3, studio_id=other)
    world.sync_everything()
    server = connect(world.plex.url, world.plex.token)
    server.fetchItem(world.items[theirs[0]]).addCollection("Family Favourites")
    world.plex.clear_requests()

    world.edit(STUDIO_UPDATE, id=str(studio), name="Acme Pictures")
    world.task("process_queue")

    for scene_id in theirs:
        item = world.item(scene_id)
        assert item.studio == "Acme Pictures"
        assert "Acme Pictures" in item.tags["collection"]
        assert "Acme" not in item.tags["collection"]
    assert "Family Favourites" in world.item(theirs[0]).tags["collection"]
    assert world.item(elsewhere).studio == "Globex"
    assert sorted(world.writes()) == sorted(world.items[s] for s in theirs)


def test_a_renamed_group_renames_its_collection(world: World) -> None:
    group = world.stash.add_group("Summer Series")
    studio = world.stash.add_studio("Acme")
    theirs = [world.add_scene(i, group_ids=[group], studio_id=studio) for i in range(3)]
    world.add_scene(3, studio_id=studio)
    world.sync_everything()
    world.plex.clear_requests()

    world.edit(GROUP_UPDATE, id=str(group), name="Summer Series (2024)")
    world.task("process_queue")

    assert [r.type for r in world.hooks.runs] == ["Group.Update.Post"]
    for scene_id in theirs:
        assert sorted(world.item(scene_id).tags["collection"]) == ["Acme",
                                                                   "Summer Series (2024)"]
    assert sorted(world.writes()) == sorted(world.items[s] for s in theirs)


def test_a_deleted_scene_is_queued_and_nothing_is_written_to_plex(world: World) -> None:
    scene_id = world.add_scene(0, details="About it")
    world.sync_everything()
    world.plex.clear_requests()

    world.edit(SCENE_DESTROY, id=str(scene_id), delete_file=False)

    assert [r.answer["output"]["queued"] for r in world.hooks.runs] == [scene_id]
    world.task("process_queue")
    assert world.writes() == []
    assert world.item(scene_id).summary == "About it"
    assert world.task("queue_status")["pending"] == 0


def test_500_edits_of_one_performer_during_a_running_drain_leave_one_job_and_every_item_right(
        world: World) -> None:
    performer = world.stash.add_performer("Name 0")
    scenes = [world.add_scene(i, performer_ids=[performer]) for i in range(40)]
    world.sync_everything()
    world.plex.clear_requests()
    world.plex.set_delay(0.02)   # each Plex request takes a moment: the drain runs a while
    most = 0
    with PluginJobs(world.stash, world.data_dir) as jobs:
        world.edit(PERFORMER_UPDATE, id=str(performer), name="Name 1")
        deadline = time.monotonic() + 120
        while not any(r.method == "PUT" for r in world.plex.requests):
            assert time.monotonic() < deadline, "no drain started"
            time.sleep(0.05)
        during = threading.Event()
        for n in range(2, 501):
            world.edit(PERFORMER_UPDATE, id=str(performer), name=f"Name {n}")
            most = max(most, world.object_jobs())
            if jobs.pending():
                during.set()
        assert during.is_set(), "the edits should land while Process Queue runs"
        assert jobs.wait_idle(300)
    assert most == 1, "every edit folds into the one object job"
    assert world.object_jobs() == 0
    for scene_id in scenes:
        assert world.item(scene_id).tags["actor"] == ["Name 500"]
    assert all(run.returncode == 0 for run in jobs.runs), [r.answer for r in jobs.runs]


PERFORMER_DESTROY = """mutation($input: PerformerDestroyInput!) {
  performerDestroy(input: $input) }"""
STUDIO_DESTROY = "mutation($input: StudioDestroyInput!) { studioDestroy(input: $input) }"


def test_a_deleted_performer_and_studio_leave_the_items_plexsync_wrote_them_to(
        world: World) -> None:
    gone = world.stash.add_performer("Gone Person")
    stays = world.stash.add_performer("Stays Person")
    studio = world.stash.add_studio("Closed Studio")
    alone = world.add_scene(0, performer_ids=[gone], studio_id=studio)
    shared = world.add_scene(1, performer_ids=[gone, stays])
    other = world.add_scene(2, performer_ids=[stays])
    world.sync_everything()
    server = connect(world.plex.url, world.plex.token)
    server.fetchItem(world.items[alone]).addCollection("Family Favourites")
    world.plex.clear_requests()

    world.edit(PERFORMER_DESTROY, id=str(gone))
    world.edit(STUDIO_DESTROY, id=str(studio))
    world.task("process_queue")

    assert [r.type for r in world.hooks.runs] == ["Performer.Destroy.Post", "Studio.Destroy.Post"]
    item = world.item(alone)
    assert item.tags["actor"] == [] and item.studio is None
    assert item.tags["collection"] == ["Family Favourites"]
    assert world.item(shared).tags["actor"] == ["Stays Person"]
    assert world.item(other).tags["actor"] == ["Stays Person"]
    assert sorted(world.writes()) == sorted([world.items[alone], world.items[shared]])
