"""Queue policy over a `storage.Storage`: enqueue, claim, apply outcomes, release, DLQ.

The storage does each step atomically (see storage.py for the contract); this module adds the
policy and speaks the domain types of model.py:
- `apply(outcome, owner)`: SYNCED/UNCHANGED store the sync record and delete the job;
  SKIPPED deletes it; OUT_OF_SCOPE deletes it and marks the scene; FAILED asks `Backoff` for a
  delay (retry, state `retrying`) or dead-letters the job with its error class, a redacted
  message, attempts and candidate paths. The policy follows the live error: a PlexServerDown
  that is not part of an outage (`outage=False`) gets limited retries (backoff.py); only the
  class is stored. A PlexAuth failure is released, never counted: the token is wrong, not the
  job. Each outcome also bumps the stats counters, in the same step.
- `release` gives jobs back uncounted; without a delay they keep their place in line (their
  `not_before`), since being released was not their fault.
- An ack from a drain that no longer holds the job's lease changes nothing but the sync
  record (the Plex write it describes did happen); `apply` then reports STALE.
Elsewhere: the drain markers are drain_markers.py (`JobQueue.markers`), the status JSON is
status_view.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterable
from enum import StrEnum
from typing import Any, NamedTuple

from plexsync.core.log import log
from plexsync.errors import ErrorClass, Internal
from plexsync.queue.backoff import Backoff
from plexsync.queue.drain_markers import DrainMarkers
from plexsync.queue.enums import EnqueueStatus, JobSource, SettleAction
from plexsync.queue.model import DeadLetter, Job, Outcome, OutcomeKind, SyncRecord
from plexsync.queue.storage import ErrorInfo, Storage

MAX_MESSAGE = 2000
ENQUEUE_CHUNK = 500


class AppliedAction(StrEnum):
    """What `JobQueue.apply` did with an outcome."""

    DONE = "done"                  # settled: job deleted (record stored, if any)
    OUT_OF_SCOPE = "out_of_scope"  # settled: job deleted, scene marked out of scope
    RETRY = "retry"                # settled: retrying after `Applied.delay`
    DEAD = "dead"                  # settled: dead-lettered
    RELEASED = "released"          # given back uncounted (PlexAuth: not the job's fault)
    STALE = "stale"                # the lease was no longer ours: only the record was stored


class Applied(NamedTuple):
    """What `apply` did, and for RETRY the delay in seconds."""

    action: AppliedAction
    delay: float | None = None


def _settled(action: SettleAction, settled: bool, delay: float | None = None) -> Applied:
    return Applied(AppliedAction(action.value) if settled else AppliedAction.STALE, delay)


class JobQueue:
    """The durable queue of docs/design.md#job-lifecycle. Safe to use from many processes (through
    SQLite)."""

    def __init__(
        self,
        storage: Storage,
        *,
        clock: Callable[[], float] = time.time,
        backoff: Backoff | None = None,
    ) -> None:
        self.storage = storage
        self.clock = clock
        self.backoff = backoff or Backoff()
        self.markers = DrainMarkers(storage, clock)

    @classmethod
    def open(
        cls, data_dir: str, *, clock: Callable[[], float] = time.time,
        backoff: Backoff | None = None,
    ) -> JobQueue:
        from plexsync.queue.sqlite_store import SQLiteStore

        return cls(SQLiteStore.open(data_dir), clock=clock, backoff=backoff)

    def close(self) -> None:
        self.storage.close()

    # ------------------------------------------------------------------ producing

    def enqueue(
        self, scene_id: int, event_at: float | None = None,
        source: JobSource = JobSource.HOOK, cleared_fields: Iterable[str] = (),
    ) -> EnqueueStatus:
        """Queue a scene or fold the event into its job (urgent when `source.urgent`)."""
        now = self.clock()
        status, _ = self.storage.enqueue(
            int(scene_id), now if event_at is None else event_at, source,
            sorted(set(cleared_fields)), now,
        )
        return status

    def enqueue_many(
        self, scene_ids: Iterable[int], source: JobSource, event_at: float | None = None,
        chunk: int = ENQUEUE_CHUNK,
    ) -> int:
        """Queue many scenes (bulk tasks), one transaction per `chunk`; returns the count."""
        total = 0
        batch: list[tuple[int, float]] = []
        for scene_id in scene_ids:
            batch.append((int(scene_id), self.clock() if event_at is None else event_at))
            if len(batch) >= chunk:
                total += self.storage.enqueue_many(batch, source, self.clock())
                batch = []
        if batch:
            total += self.storage.enqueue_many(batch, source, self.clock())
        return total

    # ------------------------------------------------------------------ consuming

    def claim(self, limit: int, lease_seconds: float, owner: str) -> list[Job]:
        """Due jobs (incl. expired leases), oldest first, leased to `owner`."""
        now = self.clock()
        return self.storage.claim(now, limit, now + lease_seconds, owner)

    def renew(self, owner: str, lease_seconds: float) -> int:
        return self.storage.renew(owner, self.clock() + lease_seconds)

    def release(self, jobs: Iterable[Job], owner: str, delay: float | None = None) -> int:
        """Give jobs back without counting an attempt: keeping their place in line, or due
        after `delay` seconds."""
        not_before = None if delay is None else self.clock() + delay
        return self.storage.release([j.id for j in jobs], owner, not_before)

    def release_orphans(self, owner: str) -> int:
        """Release jobs leased by anyone but `owner`; call only while holding the drain lock."""
        return self.storage.release_orphans(owner, self.clock())

    def records_for(self, scene_ids: Iterable[int]) -> dict[int, SyncRecord]:
        return self.storage.records_for(scene_ids)

    def records_on_item(self, rating_key: int) -> list[SyncRecord]:
        """The sync record holding this Plex item (one at most), then records an upgrade
        displaced from it (see storage.Storage.records_on_item)."""
        return self.storage.records_on_item(rating_key)

    def apply(self, outcome: Outcome, owner: str) -> Applied:
        """Settle one job from its outcome (see the module docstring)."""
        job, now = outcome.job, self.clock()
        kind = outcome.kind
        stats: dict[str, float] = {"processed": 1, "seconds": max(outcome.seconds, 0.0)}
        if kind in (OutcomeKind.SYNCED, OutcomeKind.UNCHANGED) and outcome.record is None:
            outcome = Outcome(job, OutcomeKind.FAILED, error=Internal(
                f"the sync reported {kind.value} without a sync record"))
            kind = OutcomeKind.FAILED
        if kind in (OutcomeKind.SYNCED, OutcomeKind.UNCHANGED):
            assert outcome.record is not None
            confidence = outcome.confidence or outcome.record.confidence or "HIGH"
            stats.update({"succeeded": 1, kind.value: 1, f"confidence.{confidence}": 1})
            settled = self.storage.settle(job.id, owner, now, SettleAction.DONE,
                                          record=outcome.record, stats=stats)
            return _settled(SettleAction.DONE, settled)
        if kind in (OutcomeKind.SKIPPED, OutcomeKind.OUT_OF_SCOPE):
            action = SettleAction.DONE if kind is OutcomeKind.SKIPPED \
                else SettleAction.OUT_OF_SCOPE
            stats[kind.value] = 1
            settled = self.storage.settle(job.id, owner, now, action, stats=stats)
            return _settled(action, settled)
        error = outcome.error or Internal("the sync reported a failure without an error")
        if error.error_class is ErrorClass.PLEX_AUTH:
            self.storage.release([job.id], owner, None)
            return Applied(AppliedAction.RELEASED)
        info: ErrorInfo = {
            "error_class": error.error_class.value,
            "message": log.redact(str(error) or type(error).__name__)[:MAX_MESSAGE],
            "candidates": list(outcome.candidates or getattr(error, "candidates", ())),
        }
        delay = self.backoff.retry_delay(error.error_class, job.attempts + 1,
                                         outage=error.outage) if error.retryable else None
        stats["failed"] = 1
        if delay is None:
            stats["dead_lettered"] = 1
            settled = self.storage.settle(job.id, owner, now, SettleAction.DEAD, error=info,
                                          stats=stats)
            return _settled(SettleAction.DEAD, settled)
        stats["retried"] = 1
        settled = self.storage.settle(job.id, owner, now, SettleAction.RETRY,
                                      retry_at=now + delay, error=info, stats=stats)
        return _settled(SettleAction.RETRY, settled, delay)

    # ------------------------------------------------------------------ inspection

    def job(self, scene_id: int) -> Job | None:
        return self.storage.job(scene_id)

    def counts(self) -> dict[str, Any]:
        return self.storage.counts()

    def next_due_at(self) -> float | None:
        """When the next job becomes claimable (one cheap read; the drain asks it often)."""
        return self.storage.next_due()

    # ------------------------------------------------------------------ maintenance

    def clear_pending(self) -> int:
        """Drop every job not being processed right now."""
        return self.storage.clear_pending()

    def dlq_entries(
        self, error_types: Collection[ErrorClass | str] | None = None, since: float | None = None
    ) -> list[DeadLetter]:
        classes = None if error_types is None else [str(c) for c in error_types]
        return self.storage.dead_letters(classes, since)

    def newest_dlq_entries(self, limit: int) -> list[DeadLetter]:
        """The `limit` most recently failed dead letters, newest first (one bounded read)."""
        return self.storage.newest_dead_letters(limit)

    def clear_dlq(self) -> int:
        return self.storage.clear_dlq()

    def purge_dlq(self, older_than: float) -> int:
        """Delete dead letters whose last failure is more than `older_than` seconds ago."""
        return self.storage.purge_dlq(self.clock() - older_than)

    def delete_dead(self, scene_ids: Iterable[int]) -> int:
        return self.storage.delete_dead(scene_ids)

    def requeue_dlq(
        self, error_types: Collection[ErrorClass | str] | None = None,
        since: float | None = None, scene_ids: Collection[int] | None = None,
    ) -> int:
        """Move matching dead letters (optionally only `scene_ids`) back into the queue."""
        chosen = [d.scene_id for d in self.dlq_entries(error_types, since)
                  if scene_ids is None or d.scene_id in scene_ids]
        return self.storage.requeue_dead(chosen, JobSource.RECOVER, self.clock())
