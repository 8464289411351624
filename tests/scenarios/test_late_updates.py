"""docs/design.md#job-lifecycle late updates: skip what a later sync already covered, but never a
user's clear."""

from __future__ import annotations

from plexsync.queue.model import Job, JobSource, JobState, SyncRecord, superseded


def make_job(event_at: float, cleared: frozenset[str] = frozenset()) -> Job:
    return Job(id=1, scene_id=7, state=JobState.IN_PROGRESS, source=JobSource.HOOK,
               event_at=event_at, enqueued_at=event_at, not_before=event_at,
               cleared_fields=cleared)


RECORD = SyncRecord(scene_id=7, rating_key=1, section_id=1, stash_updated_at="",
                    fetched_at=100.0, values_hash="h", synced_at=100.0,
                    pushed_fields=("summary", "genre"))


def test_event_before_the_last_read_is_superseded() -> None:
    assert superseded(make_job(99.0), RECORD)
    assert not superseded(make_job(100.0), RECORD) and not superseded(make_job(101.0), RECORD)
    assert not superseded(make_job(99.0), None)


def test_a_job_that_clears_a_field_plexsync_owns_is_never_superseded() -> None:
    assert not superseded(make_job(99.0, frozenset({"tag_ids"})), RECORD)
    assert not superseded(make_job(99.0, frozenset({"details", "title"})), RECORD)


def test_clears_of_fields_plexsync_never_wrote_do_not_stop_a_late_skip() -> None:
    # Stash's edit form names every field on every save; empty ones look "cleared".
    assert superseded(make_job(99.0, frozenset({"director", "date", "rating100"})), RECORD)
