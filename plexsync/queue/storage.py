"""The storage contract behind the job queue (typing only; never imported on the hook path).

Like huey's storage API, a backend implements the queue's primitive operations *atomically*;
`queue.JobQueue` adds the policy (backoff, outcome → action, stats) on top, and one test suite
(tests/queue/test_job_queue.py) runs against every backend. Backends: `store.SQLiteStore` (the real
one, shared by all processes) and `memstore.MemoryStore` (a dict, for tests and benchmarks).

Every method is one atomic step: with SQLite, one `BEGIN IMMEDIATE` transaction. Rows are plain
dicts (`JobRow`, ...) so the hook path needs no dataclasses. Times are epoch seconds.

Semantics every backend must honour (the contract the shared tests check):
- One job per scene. `enqueue` on a scene that has a job folds the event into it: event_at =
  max, cleared_fields = union, source = the new one unless the job already came from a task
  (a task's job must not turn into a droppable hook job), not_before = min(current, given) when
  `urgent`, else unchanged. On an `in_progress` job it sets `dirty` instead of touching the
  lease, so the drain's ack keeps the job (pending again) rather than deleting it.
- `claim` takes due jobs (pending/retrying with not_before <= now, or in_progress with an
  expired lease), oldest not_before first, marks them in_progress under `owner` until
  `lease_until`, and returns them.
- `settle`, `renew`, `release` act on a job only while it is in_progress under that `owner`
  (a stale ack is ignored for the job row; a sync record is still stored, because the Plex
  write it describes did happen). `settle` returns whether the job row was settled.
- settle actions: "done" (delete the job; with `record`, upsert the sync record and drop the
  scene's dead letter and out-of-scope mark; one item holds one record: another scene's
  record on the same ratingKey is deleted and that scene queued again as a reconcile job,
  due now, so it is matched afresh; records displaced from that item are forgotten),
  "out_of_scope" (delete the job, mark the scene),
  "retry" (state retrying, attempts + 1, not_before = retry_at, error remembered),
  "dead" (dead-letter the job with attempts + 1). "done"/"out_of_scope"/"dead" on a dirty job
  make it pending again (attempts 0, due now) instead of deleting it.
- `update_meta(fn)` runs `fn(meta, next_due)` inside one transaction and writes the changes it
  returns (None deletes a key); `next_due()` is the earliest time a job becomes claimable.
- `release` with `not_before=None` keeps each job's own `not_before` (its place in line).
- `next_due()` and `read_meta()` are reads: with SQLite they never take the write lock.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any, NotRequired, Protocol, TypedDict


class JobRow(TypedDict):
    id: int
    scene_id: int
    state: str
    source: str
    event_at: float
    enqueued_at: float
    not_before: float
    attempts: int
    cleared_fields: list[str]
    last_error_class: str | None
    last_error: str | None
    first_failure_at: float | None
    lease_until: float | None
    lease_owner: str | None
    dirty: int


class RecordRow(TypedDict):
    scene_id: int
    rating_key: int
    section_id: int
    stash_updated_at: str
    fetched_at: float
    values_hash: str
    synced_at: float
    poster_key: str
    poster_hash: str
    art_hash: str
    collections_added: list[str]
    confidence: str
    pushed_fields: NotRequired[list[str]]   # absent = [] (rows built before it existed)


class DeadRow(TypedDict):
    scene_id: int
    error_class: str
    message: str
    attempts: int
    first_failure_at: float | None
    last_failure_at: float
    candidates: list[str]
    source: str
    created_at: float
    cleared_fields: list[str]   # restored by requeue_dead


class ErrorInfo(TypedDict):
    error_class: str
    message: str
    candidates: list[str]


MetaFn = Callable[[dict[str, str], Callable[[], float | None]], Mapping[str, str | None]]


class Storage(Protocol):
    def enqueue(
        self, scene_id: int, event_at: float, source: str, cleared_fields: Collection[str],
        now: float, *, urgent: bool = True, meta_fn: MetaFn | None = None,
    ) -> tuple[str, dict[str, str]]:
        """Insert or fold; returns ("new"|"updated"|"dirty", meta after `meta_fn`)."""

    def enqueue_many(
        self, items: Sequence[tuple[int, float]], source: str, now: float
    ) -> int:
        """Fold many (scene_id, event_at) events (not urgent) in one transaction."""

    def claim(self, now: float, limit: int, lease_until: float, owner: str) -> list[JobRow]: ...

    def renew(self, owner: str, lease_until: float) -> int: ...

    def release(self, job_ids: Iterable[int], owner: str, not_before: float | None) -> int:
        """Back to pending/retrying without counting an attempt; None keeps their not_before."""

    def release_orphans(self, owner: str, now: float) -> int:
        """Release every in_progress job not owned by `owner` (its drain is dead)."""

    def settle(
        self, job_id: int, owner: str, now: float, action: str, *,
        record: RecordRow | None = None, retry_at: float | None = None,
        error: ErrorInfo | None = None, stats: Mapping[str, float] | None = None,
    ) -> bool: ...

    def records_for(self, scene_ids: Iterable[int]) -> dict[int, RecordRow]: ...

    def records_on_item(self, rating_key: int) -> list[RecordRow]:
        """The sync record holding this Plex item (at most one), then the records an upgrade
        displaced from it (two scenes on one item; only `scene_id`, `rating_key`,
        `collections_added` and `pushed_fields` are meaningful in those)."""

    def job(self, scene_id: int) -> JobRow | None: ...

    def counts(self) -> dict[str, Any]:
        """pending, in_progress, retrying, dlq, dlq_by_error, synced, out_of_scope,
        last_sync_at, next_due_at, stats (raw counters)."""

    def clear_pending(self) -> int: ...

    def dead_letters(
        self, error_classes: Collection[str] | None = None, since: float | None = None
    ) -> list[DeadRow]: ...

    def clear_dlq(self) -> int: ...

    def purge_dlq(self, before: float) -> int: ...

    def delete_dead(self, scene_ids: Iterable[int]) -> int: ...

    def requeue_dead(self, scene_ids: Iterable[int], source: str, now: float) -> int:
        """Move dead letters back into the queue (due now), atomically."""

    def update_meta(self, fn: MetaFn) -> dict[str, str]: ...

    def read_meta(self) -> dict[str, str]:
        """The meta table, read only."""

    def next_due(self) -> float | None:
        """The earliest time a job becomes claimable (`counts()["next_due_at"]`, alone)."""

    def close(self) -> None: ...
