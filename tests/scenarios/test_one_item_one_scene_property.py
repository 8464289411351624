"""Property: over generated worlds, no Plex item receives two scenes' edits, and no edit reaches
an item whose file belongs to another scene (docs/design.md, matching).

Worlds vary folders, repeated basenames, equal and different sizes, files missing from Plex,
Plex-only files of the same name, and `path_map` present, partial or absent. Each example runs
the real processor in-process against the loopback fakes, twice (hooks, then a Sync All that
takes the unchanged shortcut), with a live "record on item" lookup as the queue gives it.
"""

from __future__ import annotations

import random
import tempfile

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from plexsync.core.context import TaskContext
from plexsync.core.settings import Settings
from plexsync.queue.model import Batch, Job, JobSource, JobState, OutcomeKind, SyncRecord
from plexsync.stash.api import StashClient
from plexsync.sync.processor import SyncProcessor
from testkit.fake_plex import FakePlex
from testkit.fake_stash import FakeStash
from testkit.world import (
    FileSpec,
    World,
    edited_titles,
    ownership_violations,
    ownership_world,
    populate,
)

FOLDERS = ("A", "B", "C")
NAMES = ("x.mp4", "y.mp4", "Zoë.mp4")
PATH_MAPS = {"present": "/data/videos=/media/videos", "partial": "/data/videos/A=/media/videos/A",
             "absent": ""}

specs = st.lists(
    st.builds(FileSpec, st.sampled_from(FOLDERS), st.sampled_from(NAMES),
              st.sampled_from((100, 200)), st.booleans()),
    min_size=1, max_size=7, unique_by=lambda s: (s.folder, s.name),
)
decoys = st.lists(st.tuples(st.sampled_from(("D", "E")), st.sampled_from(NAMES),
                            st.sampled_from((100, 200))),
                  max_size=2, unique_by=lambda d: (d[0], d[1]))


class Records:
    """The queue's record keeping, as SQLite does it: one record per scene and per item."""

    def __init__(self) -> None:
        self.by_scene: dict[int, SyncRecord] = {}

    def on_item(self, rating_key: int) -> list[SyncRecord]:
        return [r for r in self.by_scene.values() if r.rating_key == rating_key]

    def store(self, record: SyncRecord) -> None:
        for other in [s for s, r in self.by_scene.items()
                      if r.rating_key == record.rating_key and s != record.scene_id]:
            del self.by_scene[other]
        self.by_scene[record.scene_id] = record


def drain(stash: FakeStash, plex: FakePlex, data_dir: str, path_map: str, records: Records,
          scene_ids: list[int], source: JobSource, now: float) -> None:
    ctx = TaskContext(
        settings=Settings.from_mapping({"plex_url": plex.url, "plex_token": plex.token,
                                        "path_map": path_map, "sync_poster": False}),
        data_dir=data_dir, stash=StashClient(stash.server_connection()), clock=lambda: now)
    jobs = [Job(id=i + 1, scene_id=sid, state=JobState.IN_PROGRESS, source=source,
                event_at=now, enqueued_at=now, not_before=now) for i, sid in enumerate(scene_ids)]
    batch = Batch(jobs, dict(records.by_scene), records.on_item)
    for outcome in SyncProcessor(ctx).process(batch):
        if outcome.kind in (OutcomeKind.SYNCED, OutcomeKind.UNCHANGED):
            assert outcome.record is not None
            records.store(outcome.record)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs=specs, decoys=decoys, mode=st.sampled_from(sorted(PATH_MAPS)),
       order=st.randoms(use_true_random=False))
def test_no_item_receives_two_scenes_edits_or_another_scenes_edits(
    specs: list[FileSpec], decoys: list[tuple[str, str, int]], mode: str, order: random.Random,
) -> None:
    world = ownership_world(specs)
    with FakePlex() as plex, FakeStash() as stash, tempfile.TemporaryDirectory() as data_dir:
        ids = populate(world, stash, plex, stage_absent=False)
        for folder, name, size in decoys:
            plex.add_item(1, f"{world.plex_root}/{folder}/{name}", size=size, duration_ms=1)
        scene_ids = list(ids.values())
        order.shuffle(scene_ids)
        records = Records()
        drain(stash, plex, data_dir, PATH_MAPS[mode], records, scene_ids, JobSource.HOOK, 1e9)
        drain(stash, plex, data_dir, PATH_MAPS[mode], records, scene_ids[::-1],
              JobSource.SYNC_TASK, 1e9 + 10)

        assert ownership_violations(world, plex) == []
        held = [r.rating_key for r in records.by_scene.values()]
        assert len(held) == len(set(held))
        if mode == "present":   # a full path_map: every scene Plex has lands on its own item
            assert_every_in_plex_scene_synced(world, plex)


def assert_every_in_plex_scene_synced(world: World, plex: FakePlex) -> None:
    for scene in world.scenes:
        path = scene.files[0].plex_path
        if path is not None:
            item = plex.find_by_file(path)
            assert item is not None and item.title == scene.title



EVENTS = ("delete", "recreate", "rekey", "split")
events = st.lists(st.tuples(st.sampled_from(EVENTS), st.integers(0, 6)), max_size=4)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs=specs, mode=st.sampled_from(sorted(PATH_MAPS)), lifecycle=events)
@example(specs=[FileSpec("A", "x.mp4", 100, True)], mode="present", lifecycle=[("split", 0)])
@example(specs=[FileSpec("A", "x.mp4", 100, True), FileSpec("B", "x.mp4", 100, True)],
         mode="present", lifecycle=[("rekey", 0), ("recreate", 1), ("delete", 0)])
def test_library_changes_never_lead_to_a_write_on_an_item_of_another_or_no_scene(
    specs: list[FileSpec], mode: str, lifecycle: list[tuple[str, int]],
) -> None:
    """Lifecycle events between syncs (docs/design.md#ownership): a scene deleted in Stash, a
    scene re-created for its file (Clean + Scan), an item Plex re-adds under a new ratingKey,
    a scene's file split apart from a Plex-only file it was merged with. Afterwards no edit
    goes to an item holding another current scene's file or a deleted scene's (its record is a
    tombstone that only the same file's re-created scene inherits), no item gets two scenes'
    edits, and with a full `path_map` every edit goes to an item holding the writing scene's
    own file (without one, the basename rescue may still pick a Plex-only namesake)."""
    world = ownership_world(specs)
    with FakePlex() as plex, FakeStash() as stash, tempfile.TemporaryDirectory() as data_dir:
        ids = populate(world, stash, plex, stage_absent=False)
        in_plex = [s for s in world.scenes if s.files[0].plex_path is not None]
        splits = {in_plex[i % len(in_plex)].key for e, i in lifecycle if e == "split"} \
            if in_plex else set()
        for key in splits:   # the scene's file starts merged with a Plex-only home video
            f = world.scenes[key - 1].files[0]
            assert f.plex_path is not None
            item = plex.find_by_file(f.plex_path)
            assert item is not None
            plex.remove_item(item.rating_key)
            plex.add_item(1, f.plex_path, rating_key=item.rating_key, files=[
                (f.plex_path, f.size, 0), (f"{world.plex_root}/H/home{key}.mp4", 1, 0)])
        records = Records()
        scene_ids = list(ids.values())
        drain(stash, plex, data_dir, PATH_MAPS[mode], records, scene_ids, JobSource.HOOK, 1e9)

        file_of = {sid: world.scenes[key - 1].files[0] for key, sid in ids.items()}
        deleted: set[str] = set()
        for event, i in lifecycle:
            current = sorted(file_of)
            if not current:
                break
            sid = current[i % len(current)]
            f = file_of[sid]
            if event == "delete":
                stash.delete_scene(sid)
                del file_of[sid]
                deleted.add(f.stash_path)
            elif event == "recreate":
                new = stash.clean_and_scan(sid)
                stash.update_scene(new, title=f"Re-created scene {new}")
                file_of[new] = file_of.pop(sid)
            elif event == "rekey" and f.plex_path is not None:
                item = plex.find_by_file(f.plex_path)
                if item is not None:
                    plex.readd_item(item.rating_key)
        for key in splits:
            f = world.scenes[key - 1].files[0]
            item = plex.find_by_file(f.plex_path or "")
            if item is not None and len(item.files) > 1:
                plex.split_apart(item.rating_key, f.plex_path or "")

        for sid in file_of:   # every scene is edited, so each write shows in the log
            stash.update_scene(sid, title=f"{stash.scene(sid)['title']}, edited")
        plex.clear_requests()
        everyone = sorted({*scene_ids, *file_of})
        drain(stash, plex, data_dir, PATH_MAPS[mode], records, everyone, JobSource.HOOK, 1e9 + 600)
        drain(stash, plex, data_dir, PATH_MAPS[mode], records, everyone[::-1],
              JobSource.SYNC_TASK, 1e9 + 610)

        title_of = {stash.scene(sid)["title"]: sid for sid in file_of}
        owner_of_path = {f.plex_path: sid for sid, f in file_of.items() if f.plex_path}
        gone_paths = {s.files[0].plex_path for s in world.scenes
                      if s.files[0].stash_path in deleted and s.files[0].plex_path}
        for rk, titles in edited_titles(plex).items():
            writers = {title_of.get(t, -1) for t in titles}
            assert -1 not in writers, f"item {rk} got a title of no current scene: {titles}"
            assert len(writers) == 1, f"item {rk} got the edits of scenes {writers}"
            [writer] = writers
            files = {p for p, _, _ in plex.item(rk).files}
            others = {owner_of_path[p] for p in files if p in owner_of_path} - {writer}
            assert not others, f"item {rk} holds scene(s) {others}' file, written by {writer}"
            assert not files & gone_paths, f"item {rk} holds a deleted scene's file"
            if mode == "present":
                assert file_of[writer].plex_path in files, f"item {rk} is not scene {writer}'s"
