"""What a user asked for survives the dead-letter queue and the schema upgrade (second review)."""

from __future__ import annotations

from pathlib import Path

from plexsync.errors import LowConfidence
from plexsync.queue.enums import SettleAction
from plexsync.queue.job_queue import JobQueue
from tests.helpers import OWNER, claim_one, database_at_version, failed


def test_recovering_a_dead_letter_brings_back_the_fields_its_user_cleared(
    queue: JobQueue,
) -> None:
    queue.enqueue(1, cleared_fields=["details", "tag_ids"])
    applied = queue.apply(failed(claim_one(queue), LowConfidence("two candidates")), OWNER)
    assert applied.action is SettleAction.DEAD and queue.job(1) is None
    [dead] = queue.dlq_entries()
    assert dead.cleared_fields == frozenset({"details", "tag_ids"})  # shown with the letter
    assert queue.requeue_dlq(error_types=None) == 1
    job = queue.job(1)
    assert job is not None and job.cleared_fields == frozenset({"details", "tag_ids"})


def test_the_upgrade_keeps_ownership_of_collections_plexsync_added(tmp_path: Path) -> None:
    db = database_at_version(str(tmp_path / "old.db"), 1,
        "INSERT INTO sync_records (scene_id, rating_key, section_id, stash_updated_at,"
        " fetched_at, values_hash, synced_at, collections_added) VALUES "
        "(1, 9, 1, 'x', 0, 'h', 0, '[\"Studio A\"]'), (2, 8, 1, 'x', 0, 'h', 0, '[]')",
        "INSERT INTO dead_letters (scene_id, error_class, message, attempts, "
        "last_failure_at, source, created_at) "
        "VALUES (3, 'Internal', 'm', 1, 0, 'hook', 0)")

    store = JobQueue(db)
    try:
        records = store.records_for([1, 2])
        assert records[1].pushed_fields == ("collection",)
        assert records[2].pushed_fields == ()
        assert store.dlq_entries()[0].cleared_fields == frozenset()
    finally:
        store.close()
