"""The queue's plain values (model.py, enums.py): what they read back as at the edges."""

from __future__ import annotations

from plexsync.queue.enums import JobSource
from plexsync.queue.model import Batch
from tests.helpers import record


def test_a_source_written_by_a_newer_version_reads_as_a_task_s_never_dropped_never_urgent(
        ) -> None:
    source = JobSource.stored("webhook-v9")
    assert source is JobSource.SYNC_TASK and not source.urgent and not source.replaceable
    assert JobSource.stored("hook") is JobSource.HOOK


def test_an_unknown_or_unreadable_stash_time_counts_as_newer_than_the_record() -> None:
    assert record(1, stash_updated_at="").behind("2026-01-01T00:00:00Z")
    assert record(1).behind("")
    garbled = record(1, stash_updated_at="yesterday")
    assert garbled.behind("today") and not garbled.behind("yesterday")
    dated = record(1, stash_updated_at="2026-01-02T00:00:00")
    assert dated.behind("2026-01-03T00:00:00") and not dated.behind("2026-01-01T00:00:00")


def test_a_batch_built_without_the_queue_finds_no_record_on_any_item() -> None:
    assert Batch(jobs=[]).records_on_item(1017) == []
