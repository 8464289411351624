"""Object jobs → scene jobs (sync/objects.py, docs/design.md#object-jobs)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from plexsync.errors import StashError
from plexsync.queue.enums import ObjectAction, ObjectKind
from plexsync.queue.job_queue import JobQueue
from plexsync.queue.transitions import upsert_record
from plexsync.sync.objects import ObjectExpander, scene_objects, stash_filter
from tests.helpers import captured_log, record


class Pages:
    """Stash's scenes by object id, paged as `StashClient.scene_id_page` pages them."""

    def __init__(self, linked: Mapping[tuple[str, int], list[int]]) -> None:
        self.linked = linked
        self.asked: list[tuple[dict[str, Any], int, int]] = []
        self.fail = False

    def scene_id_page(self, scene_filter: Mapping[str, Any] | None, page: int,
                      per_page: int) -> tuple[int, list[dict[str, Any]]]:
        assert scene_filter is not None
        self.asked.append((dict(scene_filter), page, per_page))
        if self.fail:
            raise StashError("Stash GraphQL request failed: boom")
        [(key, criterion)] = scene_filter.items()
        kind = {"performers": "performer", "tags": "tag", "studios": "studio",
                "groups": "group"}[key]
        ids = self.linked.get((kind, int(criterion["value"][0])), [])
        return len(ids), [{"id": str(i)} for i in ids[(page - 1) * per_page:page * per_page]]


@pytest.fixture
def store() -> Iterator[JobQueue]:
    db = JobQueue(":memory:")
    yield db
    db.close()


def wrote(store: JobQueue, scene_id: int, *objects: tuple[str, int]) -> None:
    store._write(lambda conn: upsert_record(conn, record(scene_id, objects=frozenset(
        (kind, i, f"{kind} {i}") for kind, i in objects)), 0.0))


def queued(store: JobQueue) -> dict[int, list[str]]:
    rows = store._read(lambda conn: conn.execute(
        "SELECT scene_id, cleared_fields FROM jobs ORDER BY scene_id").fetchall())
    return {int(r["scene_id"]): json.loads(r["cleared_fields"]) for r in rows}


def expand(store: JobQueue, pages: Pages, now: float = 1000.0) -> int:
    with captured_log():
        return ObjectExpander(store, pages, lambda: now).run()


def test_a_renamed_performer_s_scenes_are_paged_250_at_a_time(store: JobQueue) -> None:
    pages = Pages({("performer", 5): list(range(1, 601))})
    store.enqueue_object(ObjectKind.PERFORMER, 5, ObjectAction.UPDATE, (), 999.0)
    assert expand(store, pages) == 600
    assert [(page, per) for _, page, per in pages.asked] == [(1, 250), (2, 250), (3, 250)]
    assert pages.asked[0][0] == {"performers": {"value": ["5"], "modifier": "INCLUDES"}}
    assert queued(store) == {i: [] for i in range(1, 601)}
    assert store.object_job_due(2000.0) is None


def test_a_deleted_tag_s_scenes_come_from_plexsync_s_records_with_a_clear(
        store: JobQueue) -> None:
    pages = Pages({})
    wrote(store, 1, ("tag", 3), ("tag", 4))
    wrote(store, 2, ("tag", 3))
    wrote(store, 3, ("tag", 4), ("performer", 3))
    store.enqueue_object(ObjectKind.TAG, 3, ObjectAction.DESTROY, (), 999.0)
    assert expand(store, pages) == 2
    assert pages.asked == [], "Stash no longer links a deleted tag's scenes"
    assert queued(store) == {1: ["tag_ids"], 2: ["tag_ids"]}


def test_a_merge_reaches_the_destination_s_scenes_and_the_merged_tags(
        store: JobQueue) -> None:
    pages = Pages({("tag", 3): [1, 2, 5]})
    wrote(store, 2, ("tag", 8))
    wrote(store, 7, ("tag", 9))
    store.enqueue_object(ObjectKind.TAG, 3, ObjectAction.MERGE, (8, 9), 999.0)
    assert expand(store, pages) == 4
    assert pages.asked[0][0] == {"tags": {"value": ["3"], "modifier": "INCLUDES", "depth": 0}}
    assert queued(store) == {1: [], 2: [], 5: [], 7: []}


def test_a_stash_failure_keeps_the_job_and_tries_again_later(store: JobQueue) -> None:
    pages = Pages({("studio", 2): [1]})
    pages.fail = True
    store.enqueue_object(ObjectKind.STUDIO, 2, ObjectAction.UPDATE, (), 999.0)
    with captured_log() as stream:
        assert ObjectExpander(store, pages, lambda: 1000.0).run() == 0
    assert "asking Stash for its scenes failed" in stream.getvalue()
    assert store.object_job_due(1000.0) is None
    job = store.object_job_due(1030.0)
    assert job is not None and job.attempts == 1
    pages.fail = False
    assert expand(store, pages, 1030.0) == 1


def test_an_edit_during_the_expansion_keeps_the_job_for_one_more_pass(
        store: JobQueue) -> None:
    class Editing(Pages):
        def scene_id_page(self, scene_filter: Mapping[str, Any] | None, page: int,
                          per_page: int) -> tuple[int, list[dict[str, Any]]]:
            store.enqueue_object(ObjectKind.GROUP, 4, ObjectAction.UPDATE, (), 1000.0)
            return super().scene_id_page(scene_filter, page, per_page)

    store.enqueue_object(ObjectKind.GROUP, 4, ObjectAction.UPDATE, (), 999.0)
    assert expand(store, Editing({("group", 4): [1, 2]})) == 2, "each job once per call"
    assert store.object_job_due(1000.0) is not None
    assert expand(store, Pages({("group", 4): [1, 2]})) == 2
    assert store.object_job_due(1000.0) is None


def test_a_pending_object_job_keeps_the_drain_from_finishing(store: JobQueue) -> None:
    store.enqueue_object(ObjectKind.TAG, 1, ObjectAction.UPDATE, (), 500.0)
    assert store.next_due_at() == 500.0


def test_the_scene_s_objects_are_read_from_what_stash_returned() -> None:
    scene = {"studio": {"id": "2", "name": "S"}, "performers": [{"id": "5", "name": "P"}],
             "tags": [{"id": "7", "name": "T"}, {"name": "no id"}],
             "groups": [{"group": {"id": "9", "name": "G"}}]}
    assert scene_objects(scene) == {("studio", 2, "S"), ("performer", 5, "P"), ("tag", 7, "T"),
                                    ("group", 9, "G")}
    assert scene_objects({"studio": None}) == frozenset()


def test_only_the_object_itself_is_asked_for_not_its_children() -> None:
    assert stash_filter(ObjectKind.STUDIO, 3) == {
        "studios": {"value": ["3"], "modifier": "INCLUDES", "depth": 0}}


def test_a_save_with_the_name_every_synced_scene_has_is_not_queued(store: JobQueue) -> None:
    wrote(store, 1, ("performer", 5))
    wrote(store, 2, ("performer", 5))
    same = store.enqueue_object(ObjectKind.PERFORMER, 5, ObjectAction.UPDATE, (), 1.0,
                                name="performer 5")
    assert same == (None, {}) and store.object_job_due(2.0) is None
    renamed = store.enqueue_object(ObjectKind.PERFORMER, 5, ObjectAction.UPDATE, (), 1.0,
                                   name="Someone else")
    assert renamed[0] is False and store.object_job_due(2.0) is not None


def test_an_object_no_synced_scene_has_is_queued_whatever_its_name(store: JobQueue) -> None:
    existed, _ = store.enqueue_object(ObjectKind.TAG, 8, ObjectAction.UPDATE, (), 1.0,
                                      name="tag 8")
    assert existed is False
