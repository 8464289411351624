"""One Plex item holds one sync record: the queue's side of "one item belongs to one scene"."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from plexsync.errors import Conflict
from plexsync.queue.enums import SettleAction
from plexsync.queue.job_queue import JobQueue
from plexsync.queue.model import JobSource, JobState, Outcome, OutcomeKind
from plexsync.queue.schema import MIGRATIONS
from plexsync.tasks.status import queue_status
from tests.helpers import OWNER, claim_one, failed, record


def test_a_record_on_an_item_another_scene_held_displaces_it_and_requeues_that_scene(
    queue: JobQueue,
) -> None:
    queue.enqueue(1)
    queue.apply(Outcome(claim_one(queue), OutcomeKind.SYNCED, record=record(1, rating_key=77)),
                OWNER)
    queue.enqueue(2)
    queue.apply(Outcome(claim_one(queue), OutcomeKind.SYNCED, record=record(2, rating_key=77)),
                OWNER)

    assert [r.scene_id for r in queue.records_on_item(77)] == [2]
    assert set(queue.records_for([1, 2])) == {2}
    again = queue.job(1)
    assert again is not None and again.state is JobState.PENDING
    assert again.source is JobSource.RECONCILE      # always looks at Plex: matched afresh


def test_a_conflict_is_dead_lettered_at_once_counted_and_recoverable(queue: JobQueue) -> None:
    queue.enqueue(5)
    error = Conflict("scenes 5 and 6 both resolve to Plex item ratingKey 9", scene_id=5,
                     other_scene_id=6, rating_key=9)
    applied = queue.apply(failed(claim_one(queue), error), OWNER)

    assert applied.action == SettleAction.DEAD
    assert queue_status(queue)["dlq_by_error"] == {"Conflict": 1}
    assert "scenes 5 and 6" in queue.dlq_entries()[0].message
    assert queue.requeue_dlq(["Conflict"]) == 1
    job = queue.job(5)
    assert job is not None and job.source is JobSource.RECOVER


def _v2_database(path: Path, records: list[tuple[int, int]]) -> None:
    db = sqlite3.connect(path)
    for version, step in enumerate(MIGRATIONS[:2]):
        for statement in step:
            db.execute(statement)
        db.execute(f"PRAGMA user_version = {version + 1}")
    db.executemany(
        "INSERT INTO sync_records (scene_id, rating_key, section_id, stash_updated_at, "
        "fetched_at, values_hash, synced_at) VALUES (?, ?, 1, '', 0, 'h', 0)", records)
    db.commit()
    db.close()


def test_the_upgrade_requeues_scenes_recorded_on_one_item_and_forbids_it_from_then_on(
    tmp_path: Path,
) -> None:
    path = tmp_path / "plexsync.db"
    _v2_database(path, [(59, 1017), (84, 1017), (70, 1026), (80, 1026), (3, 3003)])

    queue = JobQueue(str(path))
    assert set(queue.records_for([59, 84, 70, 80, 3])) == {3}
    for scene_id in (59, 84, 70, 80):
        job = queue.job(scene_id)
        assert job is not None and job.source is JobSource.RECONCILE
    assert queue.job(3) is None
    displaced = queue.records_on_item(1017)          # what they pushed, to be undone
    assert sorted(r.scene_id for r in displaced) == [59, 84]
    queue.enqueue(59)
    queue.apply(Outcome(claim_one(queue), OutcomeKind.SYNCED,
                        record=record(59, rating_key=1017)), OWNER)
    assert [r.scene_id for r in queue.records_on_item(1017)] == [59]   # the rest forgotten
    queue.close()

    db = sqlite3.connect(path)
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("INSERT INTO sync_records (scene_id, rating_key, section_id, "
                   "stash_updated_at, fetched_at, values_hash, synced_at) "
                   "VALUES (4, 3003, 1, '', 0, 'h', 0)")
    db.close()
