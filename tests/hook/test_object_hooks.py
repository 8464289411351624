"""The object hooks (docs/design.md#object-jobs): a performer, tag, studio or group renamed,
merged or deleted becomes one coalesced object job and a drain request, as a scene edit does."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from plexsync.core import datadir
from plexsync.core.protocol import parse
from plexsync.hook.handler import object_gate, run_hook
from plexsync.queue.enums import ObjectAction, ObjectKind
from plexsync.queue.job_queue import JobQueue
from testkit.fake_stash import FakeStash
from tests.helpers import captured_log


def fire(stash: FakeStash, object_id: int, hook_type: str, payload: Any = None,
         fields: list[str] | None = None) -> dict[str, Any]:
    doc = stash.hook_input(object_id, hook_type, input=payload, input_fields=fields)
    with captured_log():
        return run_hook(parse(json.dumps(doc)))


def rename(stash: FakeStash, object_id: int, noun: str = "Performer") -> dict[str, Any]:
    return fire(stash, object_id, f"{noun}.Update.Post",
                {"id": str(object_id), "name": "New"}, ["id", "name"])


def object_jobs(data_dir: Path) -> list[tuple[str, int, str, str, int]]:
    store = JobQueue.open(str(data_dir))
    try:
        return [(str(r["kind"]), int(r["object_id"]), str(r["action"]), str(r["merged_ids"]),
                 int(r["version"])) for r in store._read(lambda conn: conn.execute(
                     "SELECT * FROM object_jobs ORDER BY kind, object_id").fetchall())]
    finally:
        store.close()


@pytest.mark.parametrize(("kind", "fields"), [
    ("performer", ["id", "birthdate"]), ("performer", ["id", "details", "favorite"]),
    ("tag", ["id", "description"]), ("tag", ["id", "parent_ids"]),
    ("studio", ["id", "urls", "details"]), ("group", ["id", "synopsis", "date"]),
])
def test_an_edit_that_leaves_the_name_alone_is_skipped(kind: str, fields: list[str]) -> None:
    assert object_gate({"inputFields": fields}, kind, ObjectAction.UPDATE, {}) == (
        "no field PlexSync syncs was changed (only the name reaches Plex)")


@pytest.mark.parametrize("kind", ["performer", "tag", "studio", "group"])
def test_a_rename_deletion_or_merge_is_queued(kind: str) -> None:
    assert object_gate({"inputFields": ["id", "name"]}, kind, ObjectAction.UPDATE, {}) is None
    assert object_gate({}, kind, ObjectAction.DESTROY, {}) is None
    assert object_gate({}, kind, ObjectAction.MERGE, {}) is None


@pytest.mark.parametrize(("kind", "off"), [
    ("performer", {"sync_performers": False}), ("tag", {"sync_tags": False}),
    ("studio", {"sync_studio": False, "sync_collections": False}),
    ("group", {"sync_collections": False}),
])
def test_an_object_whose_names_are_not_synced_is_skipped(kind: str, off: dict[str, bool]) -> None:
    reason = object_gate({}, kind, ObjectAction.DESTROY, off)
    assert reason == f"syncing of {kind} names is turned off"


def test_a_studio_counts_while_only_its_collection_is_synced() -> None:
    assert object_gate({}, "studio", ObjectAction.DESTROY, {"sync_studio": False}) is None


def test_fifty_renames_of_one_performer_are_one_job_and_one_drain_request(
        stash: FakeStash, data_dir: Path) -> None:
    answers = [rename(stash, 7) for _ in range(50)]
    assert answers[0] == {"queued": {"performer": 7, "action": "update"}, "drain": "requested"}
    assert {a["drain"] for a in answers[1:]} == {"scheduled"}
    assert object_jobs(data_dir) == [("performer", 7, "update", "[]", 50)]
    assert len(stash.task_runs) == 1


def test_a_deletion_outranks_a_rename_and_a_merge_keeps_every_source(
        stash: FakeStash, data_dir: Path) -> None:
    rename(stash, 3, "Tag")
    fire(stash, 3, "Tag.Merge.Post", {"source": ["4", "5"], "destination": "3"})
    fire(stash, 3, "Tag.Merge.Post", {"source": ["6"], "destination": "3"})
    rename(stash, 3, "Tag")
    fire(stash, 9, "Studio.Update.Post", {"id": "9", "name": "S"}, ["id", "name"])
    fire(stash, 9, "Studio.Destroy.Post", {"id": "9"})
    rename(stash, 9, "Studio")
    assert object_jobs(data_dir) == [("studio", 9, "destroy", "[]", 3),
                                     ("tag", 3, "merge", "[4, 5, 6]", 4)]


def test_a_deleted_scene_is_queued_like_an_edit(stash: FakeStash, data_dir: Path) -> None:
    answer = fire(stash, 12, "Scene.Destroy.Post",
                  {"id": "12", "delete_file": None, "delete_generated": None, "checksum": "",
                   "oshash": "abc", "path": "/data/a.mp4"})
    assert answer == {"queued": 12, "drain": "requested"}
    store = JobQueue.open(str(data_dir))
    try:
        job = store.job(12)
    finally:
        store.close()
    assert job is not None and job.source == "hook"


def test_a_disabled_plugin_queues_no_object_job(stash: FakeStash, data_dir: Path) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / datadir.SETTINGS_SNAPSHOT).write_text(json.dumps({"enabled": False}))
    assert rename(stash, 7)["skipped"] == "disabled"
    assert object_jobs(data_dir) == [] and stash.task_runs == []


def test_the_object_kinds_are_the_hook_nouns() -> None:
    assert {k.value for k in ObjectKind} == {"performer", "tag", "studio", "group"}
