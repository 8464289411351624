"""Migration V7: the identity of the poster PlexSync uploaded. Existing records keep working."""

from __future__ import annotations

from pathlib import Path

from plexsync.queue.enums import SettleAction
from plexsync.queue.job_queue import JobQueue
from tests.helpers import T0, database_at_version, record


def test_a_v6_record_has_no_poster_identity_and_keeps_its_poster_hash(tmp_path: Path) -> None:
    db = database_at_version(str(tmp_path / "v6.db"), 6,
        "INSERT INTO sync_records (scene_id, rating_key, section_id, stash_updated_at,"
        " fetched_at, values_hash, synced_at, poster_key, poster_hash) VALUES "
        "(1, 9, 1, 'x', 0, 'h', 0, 'http://stash/s?t=1', 'abc')")

    store = JobQueue(db)
    try:
        old = store.records_for([1])[1]
        assert (old.poster_hash, old.poster_id) == ("abc", "")   # PlexSync's by upload
    finally:
        store.close()


def test_the_poster_identity_round_trips(tmp_path: Path) -> None:
    store = JobQueue(str(tmp_path / "new.db"), clock=lambda: T0)
    try:
        store.enqueue(1)
        [job] = store.claim(5, 60, "me")
        mine = record(1, rating_key=9, poster_hash="abc", poster_id="upload://posters/f00")
        store.settle(job.id, "me", SettleAction.DONE, record=mine)
        assert store.records_for([1])[1].poster_id == "upload://posters/f00"
    finally:
        store.close()
