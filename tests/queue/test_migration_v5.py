"""Migration V5: ownership by value. Existing records keep working with no Plex request."""

from __future__ import annotations

from pathlib import Path

from plexsync.queue.enums import SettleAction
from plexsync.queue.job_queue import JobQueue
from tests.helpers import T0, database_at_version, record


def test_a_v4_record_keeps_what_it_owned_by_name_until_its_next_write(tmp_path: Path) -> None:
    db = database_at_version(str(tmp_path / "v4.db"), 4,
        "INSERT INTO sync_records (scene_id, rating_key, section_id, stash_updated_at,"
        " fetched_at, values_hash, synced_at, pushed_fields) VALUES "
        "(1, 9, 1, 'x', 0, 'h', 0, '[\"summary\", \"genre\"]')")

    store = JobQueue(db)
    try:
        old = store.records_for([1])[1]
        assert old.pushed_fields == ("summary", "genre")
        assert old.digests() == {"summary": "", "genre": ""}     # owned by name only
        assert old.pushed_values == ()
    finally:
        store.close()


def test_digests_and_values_round_trip(tmp_path: Path) -> None:
    store = JobQueue(str(tmp_path / "new.db"), clock=lambda: T0)
    try:
        store.enqueue(1)
        [job] = store.claim(5, 60, "me")
        mine = record(1, rating_key=9, pushed_fields=("summary", "genre"),
                      field_digests=(("genre", "d2"), ("summary", "d1")),
                      pushed_values=(("genre", '["drama"]'), ("summary", "Été")))
        store.settle(job.id, "me", SettleAction.DONE, record=mine)
        back = store.records_for([1])[1]
        assert back.field_digests == mine.field_digests
        assert back.pushed_values == mine.pushed_values
        assert back.digests() == {"summary": "d1", "genre": "d2"}
    finally:
        store.close()
