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

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plexsync.core.context import TaskContext
from plexsync.core.settings import Settings
from plexsync.queue.model import Batch, Job, JobSource, JobState, OutcomeKind, SyncRecord
from plexsync.stash.api import StashClient
from plexsync.sync.processor import SyncProcessor
from testkit.fake_plex import FakePlex
from testkit.fake_stash import FakeStash
from testkit.world import FileSpec, World, ownership_violations, ownership_world, populate

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

