"""The sync processor against an in-memory Plex (`testkit.memory_plex`) and an in-memory Stash:
which Plex calls one job costs, what it writes, and how failures become outcomes. The same
processor against the loopback fakes, through the real clients, is tests/integration/."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from plexsync.core.context import TaskContext
from plexsync.core.settings import Settings
from plexsync.errors import PlexBadRequest, PlexServerDown, StashError
from plexsync.queue.model import Batch, Job, JobSource, JobState, Outcome, OutcomeKind, SyncRecord
from plexsync.sync.processor import SyncProcessor
from testkit.memory_plex import MemoryPlex

JPEG = b"\xff\xd8\xff" + b"\x00" * 64
SHOT = "http://stash/scene/1/screenshot?t=1"


@dataclass
class MemoryStash:
    """What the processor asks of Stash: one batch query and screenshot downloads."""

    scenes: dict[int, dict[str, Any]] = field(default_factory=dict)
    queries: int = 0
    downloads: int = 0
    fail: StashError | None = None

    def scenes_by_id(self, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        self.queries += 1
        if self.fail is not None:
            raise self.fail
        return {i: self.scenes[i] for i in ids if i in self.scenes}

    def download(self, url: str) -> bytes:
        self.downloads += 1
        return JPEG


def scene(sid: int, path: str = "/media/a.mp4", **over: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": str(sid), "title": "Stash Title", "details": "About it", "date": "2021-02-03",
        "rating100": 80, "studio": {"name": "Studio"}, "performers": [{"name": "Ada"}],
        "tags": [{"name": "Tag"}], "groups": [], "director": "",
        "files": [{"path": path, "size": 10, "duration": 1.0}],
        "paths": {"screenshot": SHOT}, "updated_at": "2026-01-01T00:00:00Z",
    }
    doc.update(over)
    return doc


class World:
    def __init__(self, tmp_path: Path) -> None:
        self.plex = MemoryPlex()
        self.plex.add_section(1, "Movies", ["/media"])
        self.stash = MemoryStash()
        self.data_dir = str(tmp_path)
        self.now = 1000.0
        self.next_id = 0

    def ctx(self, **settings: Any) -> TaskContext:
        raw = {"plex_url": "http://plex:32400", "plex_token": "tok", **settings}
        return TaskContext(settings=Settings.from_mapping(raw), data_dir=self.data_dir,
                           stash=self.stash, clock=lambda: self.now)

    def job(self, sid: int, source: JobSource = JobSource.HOOK, at: float | None = None) -> Job:
        self.next_id += 1
        at = self.now if at is None else at
        return Job(id=self.next_id, scene_id=sid, state=JobState.IN_PROGRESS, source=source,
                   event_at=at, enqueued_at=at, not_before=at)

    def run(self, *jobs: Job, records: dict[int, SyncRecord] | None = None,
            **settings: Any) -> list[Outcome]:
        self.now += 10
        processor = SyncProcessor(self.ctx(**settings), plex=self.plex)
        return list(processor.process(Batch(list(jobs), records or {})))


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path)


def test_a_new_scene_is_matched_read_once_and_written_in_one_edit(world: World) -> None:
    rk = world.plex.add_item(1, "/media/a.mp4", size=10, duration_ms=1000)
    world.stash.scenes[1] = scene(1)
    [out] = world.run(world.job(1))
    assert out.kind is OutcomeKind.SYNCED and out.record is not None
    item = world.plex.item(rk)
    assert (item.title, item.summary, item.studio) == ("Stash Title", "About it", "Studio")
    assert item.tags["actor"] == ["Ada"] and item.tags["genre"] == ["Tag"]
    assert item.poster == JPEG and "title" in item.locked
    assert world.plex.count("fetch_item") == 1 and world.plex.count("edit") == 1
    assert world.stash.queries == 1 and world.stash.downloads == 1
    assert out.record.rating_key == rk and "title" in out.record.pushed_fields


def synced_once(world: World) -> SyncRecord:
    """Scene 1 synced to its Plex item; the Plex call log cleared."""
    world.plex.add_item(1, "/media/a.mp4", size=10, duration_ms=1000)
    world.stash.scenes[1] = scene(1)
    [first] = world.run(world.job(1))
    assert first.record is not None
    world.plex.calls.clear()
    return first.record


def test_an_unchanged_scene_costs_no_item_request_only_the_drain_s_one_listing(
        world: World) -> None:
    record = synced_once(world)
    [again] = world.run(world.job(1), records={1: record})
    assert again.kind is OutcomeKind.UNCHANGED
    assert [c[0] for c in world.plex.calls] == ["connect", "configured_sections",
                                                "section_page"]


def test_a_reconcile_job_always_looks_at_plex(world: World) -> None:
    record = synced_once(world)
    [again] = world.run(world.job(1, JobSource.RECONCILE), records={1: record})
    assert again.kind is OutcomeKind.UNCHANGED and world.plex.count("fetch_item") == 1
    assert world.plex.count("edit") == 0


def test_a_scene_gone_from_stash_is_skipped_without_asking_plex(world: World) -> None:
    [out] = world.run(world.job(7))
    assert out.kind is OutcomeKind.SKIPPED and "no longer exists" in out.detail
    assert world.plex.calls == []


def test_the_processor_syncs_every_job_it_is_given_late_events_are_the_drain_s(
        world: World) -> None:
    record = synced_once(world)
    world.stash.scenes[1] = scene(1, title="Newer", updated_at="2026-02-01T00:00:00Z")
    [late] = world.run(world.job(1, at=record.fetched_at - 1), records={1: record})
    assert late.kind is OutcomeKind.SYNCED


def test_a_stash_failure_fails_every_job_of_the_batch_without_asking_plex(world: World) -> None:
    world.stash.fail = StashError("Stash is down")
    outs = world.run(world.job(1), world.job(2))
    assert [o.kind for o in outs] == [OutcomeKind.FAILED] * 2 and world.plex.calls == []


def test_a_file_plex_does_not_have_fails_and_asks_for_one_folder_scan(world: World) -> None:
    world.stash.scenes[1] = scene(1, path="/media/new/x.mp4")
    [out] = world.run(world.job(1))
    assert out.kind is OutcomeKind.FAILED and "asked Plex to scan" in out.detail
    assert world.plex.refreshes == [(1, "/media/new")]


def test_a_rejected_edit_fails_only_its_job(world: World) -> None:
    world.plex.add_item(1, "/media/a.mp4", size=10, duration_ms=1000)
    world.plex.add_item(1, "/media/b.mp4", size=10, duration_ms=1000)
    world.stash.scenes[1] = scene(1)
    world.stash.scenes[2] = scene(2, path="/media/b.mp4")
    world.plex.fail_next("edit", PlexBadRequest("Plex rejected PUT (400)."))
    outs = world.run(world.job(1), world.job(2))
    assert [o.kind for o in outs] == [OutcomeKind.FAILED, OutcomeKind.SYNCED]


def test_a_lone_server_error_while_plex_answers_is_not_an_outage(world: World) -> None:
    world.plex.add_item(1, "/media/a.mp4", size=10, duration_ms=1000)
    world.stash.scenes[1] = scene(1)
    world.plex.fail_next("edit", PlexServerDown("Plex failed (504) for PUT; will retry."))
    [out] = world.run(world.job(1))
    assert out.kind is OutcomeKind.FAILED and isinstance(out.error, PlexServerDown)
    assert out.error.outage is False and world.plex.count("identity") == 1


def test_a_server_error_while_plex_is_down_aborts_the_batch(world: World) -> None:
    world.plex.add_item(1, "/media/a.mp4", size=10, duration_ms=1000)
    world.stash.scenes[1] = scene(1)
    world.plex.fail_next("edit", PlexServerDown("down"))
    world.plex.fail_next("identity", PlexServerDown("down"))
    with pytest.raises(PlexServerDown):
        world.run(world.job(1))
