"""The storage contract behind the job queue (typing only; never imported on the hook path).

Like huey's storage API, a backend implements the queue's primitive operations *atomically*;
`job_queue.JobQueue` adds the policy (backoff, outcome → action, stats) on top, and one test
suite (tests/queue/test_job_queue.py, the `storage` fixture) runs against every backend.
Backends: `sqlite_store.SQLiteStore` (the real one, shared by all processes) and
`memory_store.MemoryStore` (dicts, for tests and benchmarks).

Shared rules:
- Atomicity: every method is one atomic step. With SQLite it is one transaction: writes take
  the write lock up front (`BEGIN IMMEDIATE`), reads (`records_for`, `job`, `counts`,
  `dead_letters`, `read_meta`, `next_due`) never take it. Nothing is half done when a method
  raises.
- Records: reads return the model's frozen dataclasses (`model.Job`, `model.SyncRecord`,
  `model.DeadLetter`), each carrying every column of its table; a backend maps its rows by
  column name. Times are epoch seconds.
- Failure: a backend raises `sqlite_db.StoreError` (a `PlexSyncError`) when it cannot do the
  step (locked for too long, unwritable, written by a newer PlexSync); the step then did
  nothing. Bad arguments (a settle action without its `error`) are programming errors
  (AssertionError).
- Ownership: `settle`, `renew` and `release` touch a job only while it is `in_progress` under
  the given `owner` (a drain's id). Anything else is a stale ack and leaves the job alone.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any, Protocol, TypedDict

from plexsync.queue.enums import EnqueueStatus, JobSource, SettleAction
from plexsync.queue.model import DeadLetter, Job, SyncRecord


class ErrorInfo(TypedDict):
    """The failure a `retry` or `dead` settle stores: class, redacted message, candidates."""

    error_class: str
    message: str
    candidates: list[str]


# `fn(meta, next_due)` → the keys to change (None deletes one); see `Storage.update_meta`.
MetaFn = Callable[[dict[str, str], Callable[[], float | None]], Mapping[str, str | None]]


class Storage(Protocol):
    def enqueue(
        self, scene_id: int, event_at: float, source: JobSource, cleared_fields: Collection[str],
        now: float, *, meta_fn: MetaFn | None = None,
    ) -> tuple[EnqueueStatus, dict[str, str]]:
        """Queue `scene_id` or fold this event into its job; then run `meta_fn`, atomically.

        Parameters: `event_at` is when the event happened, `cleared_fields` the Stash inputs
        the user explicitly emptied, `now` the time of the call, `meta_fn` an optional
        meta-table update run in the same step (the hook's drain request, markers.py).
        Folding: event_at = max, cleared_fields = union, source = the new one only when the
        job's own is `replaceable`, not_before = min(current, now) when `source.urgent`, else
        unchanged. An in_progress job is only marked dirty (its lease untouched), so the
        drain's settle keeps it pending for another pass instead of deleting it.
        Returns the `EnqueueStatus` (NEW, UPDATED, DIRTY) and the meta table after `meta_fn`
        ({} without one).
        """

    def enqueue_many(
        self, items: Sequence[tuple[int, float]], source: JobSource, now: float
    ) -> int:
        """Fold many `(scene_id, event_at)` events, never urgent, without clears, in one step.

        Returns len(items). Atomic: either every item is queued or (on error) none is.
        """

    def claim(self, now: float, limit: int, lease_until: float, owner: str) -> list[Job]:
        """Lease up to `limit` due jobs to `owner` until `lease_until`, atomically.

        Due: pending/retrying with not_before <= now, or in_progress with an expired lease
        (its drain died). Oldest not_before first (then id). Returns the jobs as claimed
        (state in_progress, the new lease); [] when none is due.
        """

    def renew(self, owner: str, lease_until: float) -> int:
        """Extend the lease of every job `owner` holds to `lease_until`; returns how many."""

    def release(self, job_ids: Iterable[int], owner: str, not_before: float | None) -> int:
        """Give `owner`'s jobs back (pending, or retrying once failed) without counting an
        attempt. `not_before=None` keeps each job's own not_before (its place in line).
        Jobs not leased to `owner` are skipped. Returns how many were released."""

    def release_orphans(self, owner: str, now: float) -> int:
        """Release every in_progress job not leased to `owner` (its drain is dead), due by
        `now` at the latest. Call only while holding the drain lock. Returns how many."""

    def settle(
        self, job_id: int, owner: str, now: float, action: SettleAction, *,
        record: SyncRecord | None = None, retry_at: float | None = None,
        error: ErrorInfo | None = None, stats: Mapping[str, float] | None = None,
    ) -> bool:
        """End one claimed job with `action`, store `record`, bump `stats`, atomically.

        `record` (with DONE) is stored first and unconditionally, because the Plex write it
        describes did happen; it also drops the scene's dead letter and out-of-scope mark.
        One item holds one record: another scene's record on the same ratingKey is deleted
        and that scene queued again as a RECONCILE job, due now, so it is matched afresh;
        records displaced from that item are forgotten.
        Then, only if the job is in_progress under `owner`:
        DONE deletes it; OUT_OF_SCOPE deletes it and marks the scene; RETRY (needs `retry_at`
        and `error`) makes it retrying, attempts + 1, due at retry_at, error remembered,
        first_failure_at set once; DEAD (needs `error`) moves it to the dead letters with
        attempts + 1 and its cleared fields. DONE/OUT_OF_SCOPE/DEAD on a dirty job make it
        pending again (attempts 0, due now) instead of deleting it. `stats` counters are
        added only when the job was settled.
        Returns False for a stale ack (job gone or leased elsewhere): then only `record` was
        written.
        """

    def records_for(self, scene_ids: Iterable[int]) -> dict[int, SyncRecord]:
        """The sync records of those scenes that have one, by scene id (a read)."""

    def records_on_item(self, rating_key: int) -> list[SyncRecord]:
        """The sync record holding this Plex item (at most one), then the records an upgrade
        displaced from it (two scenes on one item; only `scene_id`, `rating_key`,
        `collections_added` and `pushed_fields` are meaningful in those). A read."""

    def job(self, scene_id: int) -> Job | None:
        """The scene's job, or None (a read)."""

    def counts(self) -> dict[str, Any]:
        """One consistent read of the queue's numbers: pending, in_progress, retrying, dlq,
        dlq_by_error ({class: n}), synced, out_of_scope, last_sync_at, next_due_at (epoch or
        None) and stats (the raw counters `settle` adds)."""

    def clear_pending(self) -> int:
        """Delete every job not in_progress (a drain may be working on those); returns how
        many were deleted."""

    def dead_letters(
        self, error_classes: Collection[str] | None = None, since: float | None = None
    ) -> list[DeadLetter]:
        """Dead letters of those classes (None: all) whose last failure is at or after
        `since` (None: any), oldest last failure first (a read)."""

    def newest_dead_letters(self, limit: int) -> list[DeadLetter]:
        """The `limit` most recently failed dead letters, newest first (a read)."""

    def clear_dlq(self) -> int:
        """Delete every dead letter; returns how many."""

    def purge_dlq(self, before: float) -> int:
        """Delete the dead letters whose last failure is older than `before`; returns how many."""

    def delete_dead(self, scene_ids: Iterable[int]) -> int:
        """Delete those scenes' dead letters; returns how many existed."""

    def requeue_dead(self, scene_ids: Iterable[int], source: JobSource, now: float) -> int:
        """Move those scenes' dead letters back into the queue, due `now` (folded as urgent
        into a job the scene may have meanwhile), with their cleared fields, atomically.
        Scenes without a dead letter are skipped. Returns how many moved."""

    def update_meta(self, fn: MetaFn) -> dict[str, str]:
        """Run `fn(meta, next_due)` in one write step and apply the changes it returns (None
        deletes a key); `next_due()` is `next_due` inside the same step. Returns the meta
        table after the change. An exception from `fn` changes nothing."""

    def read_meta(self) -> dict[str, str]:
        """The meta table (a read: never waits for a writer)."""

    def next_due(self) -> float | None:
        """The earliest time a job becomes claimable: min of the waiting jobs' not_before and
        the in_progress jobs' lease_until; None when the queue is empty (a read)."""

    def close(self) -> None:
        """Release the backend's resources; the next call reopens (SQLite) or is invalid."""
