"""Queue semantics over a `storage.Storage`: enqueue, claim, apply outcomes, DLQ, status.

The storage does each step atomically (see storage.py for the row-level contract); this module
adds the policy and speaks the domain types of jobs.py:
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
  record (the Plex write it describes did happen); `apply` then reports "stale".
- Drain markers (`begin_drain`, `heartbeat`, `finish_drain`, `end_drain`) implement the
  no-lost-wake-up protocol of markers.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from plexsync.core.log import log
from plexsync.errors import ErrorClass, Internal
from plexsync.queue import markers
from plexsync.queue.backoff import Backoff
from plexsync.queue.model import Job, JobSource, JobState, Outcome, OutcomeKind, SyncRecord
from plexsync.queue.storage import ErrorInfo, JobRow, RecordRow, Storage

MAX_MESSAGE = 2000
ENQUEUE_CHUNK = 500


class Applied(NamedTuple):
    """What `apply` did: "done", "out_of_scope", "retry" (with `delay`), "dead", "released"
    (not counted) or "stale" (the lease was no longer ours)."""

    action: str
    delay: float | None = None


@dataclass(frozen=True, slots=True)
class DeadLetter:
    scene_id: int
    error_class: str
    message: str
    attempts: int
    first_failure_at: float | None
    last_failure_at: float
    candidates: tuple[str, ...]
    source: str
    created_at: float


def iso(epoch: float | None) -> str | None:
    """Epoch seconds as ISO 8601 UTC (what status output shows), None stays None."""
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")


def job_from_row(row: JobRow) -> Job:
    try:
        source = JobSource(row["source"])
    except ValueError:  # a source written by a newer version: treat as a task's job
        source = JobSource.SYNC_TASK
    error_class = row["last_error_class"]
    return Job(
        id=row["id"], scene_id=row["scene_id"], state=JobState(row["state"]), source=source,
        event_at=row["event_at"], enqueued_at=row["enqueued_at"], not_before=row["not_before"],
        attempts=row["attempts"], cleared_fields=frozenset(row["cleared_fields"]),
        last_error_class=ErrorClass(error_class) if error_class in set(ErrorClass) else None,
        first_failure_at=row["first_failure_at"], lease_until=row["lease_until"],
    )


def record_from_row(row: RecordRow) -> SyncRecord:
    return SyncRecord(
        scene_id=row["scene_id"], rating_key=row["rating_key"], section_id=row["section_id"],
        stash_updated_at=row["stash_updated_at"], fetched_at=row["fetched_at"],
        values_hash=row["values_hash"], synced_at=row["synced_at"],
        poster_key=row["poster_key"], poster_hash=row["poster_hash"], art_hash=row["art_hash"],
        collections_added=tuple(row["collections_added"]), confidence=row["confidence"],
        pushed_fields=tuple(row.get("pushed_fields", ())),
    )


def record_to_row(record: SyncRecord) -> RecordRow:
    return {
        "scene_id": record.scene_id, "rating_key": record.rating_key,
        "section_id": record.section_id, "stash_updated_at": record.stash_updated_at,
        "fetched_at": record.fetched_at, "values_hash": record.values_hash,
        "synced_at": record.synced_at, "poster_key": record.poster_key,
        "poster_hash": record.poster_hash, "art_hash": record.art_hash,
        "collections_added": list(record.collections_added), "confidence": record.confidence,
        "pushed_fields": list(record.pushed_fields),
    }  # fmt: skip


class JobQueue:
    """The durable queue of SPEC §5. Safe to use from many processes (through SQLite)."""

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
    ) -> str:
        """Queue a scene or fold the event into its job: "new", "updated" or "dirty"."""
        now = self.clock()
        status, _ = self.storage.enqueue(
            int(scene_id), now if event_at is None else event_at, source.value,
            sorted(set(cleared_fields)), now, urgent=source is JobSource.HOOK,
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
                total += self.storage.enqueue_many(batch, source.value, self.clock())
                batch = []
        if batch:
            total += self.storage.enqueue_many(batch, source.value, self.clock())
        return total

    # ------------------------------------------------------------------ consuming

    def claim(self, limit: int, lease_seconds: float, owner: str) -> list[Job]:
        """Due jobs (incl. expired leases), oldest first, leased to `owner`."""
        now = self.clock()
        rows = self.storage.claim(now, limit, now + lease_seconds, owner)
        return [job_from_row(row) for row in rows]

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
        rows = self.storage.records_for(scene_ids)
        return {sid: record_from_row(row) for sid, row in rows.items()}

    def records_on_item(self, rating_key: int) -> list[SyncRecord]:
        """The sync record holding this Plex item (one at most), then records an upgrade
        displaced from it (see storage.Storage.records_on_item)."""
        return [record_from_row(row) for row in self.storage.records_on_item(rating_key)]

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
            settled = self.storage.settle(job.id, owner, now, "done",
                                          record=record_to_row(outcome.record), stats=stats)
            return Applied("done" if settled else "stale")
        if kind in (OutcomeKind.SKIPPED, OutcomeKind.OUT_OF_SCOPE):
            action = "done" if kind is OutcomeKind.SKIPPED else "out_of_scope"
            stats[kind.value] = 1
            settled = self.storage.settle(job.id, owner, now, action, stats=stats)
            return Applied(action if settled else "stale")
        error = outcome.error or Internal("the sync reported a failure without an error")
        if error.error_class is ErrorClass.PLEX_AUTH:
            self.storage.release([job.id], owner, None)
            return Applied("released")
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
            settled = self.storage.settle(job.id, owner, now, "dead", error=info, stats=stats)
            return Applied("dead" if settled else "stale")
        stats["retried"] = 1
        settled = self.storage.settle(job.id, owner, now, "retry", retry_at=now + delay,
                                      error=info, stats=stats)
        return Applied("retry" if settled else "stale", delay)

    # ------------------------------------------------------------------ inspection

    def job(self, scene_id: int) -> Job | None:
        row = self.storage.job(scene_id)
        return job_from_row(row) if row is not None else None

    def counts(self) -> dict[str, Any]:
        return self.storage.counts()

    def next_due_at(self) -> float | None:
        """When the next job becomes claimable (one cheap read; the drain asks it often)."""
        return self.storage.next_due()

    def status(self) -> dict[str, Any]:
        """The queue part of the status JSON (SPEC §8)."""
        counts = self.storage.counts()
        raw = counts["stats"]
        processed = int(raw.get("processed", 0))
        return {
            "pending": counts["pending"],
            "in_progress": counts["in_progress"],
            "retrying": counts["retrying"],
            "dlq": counts["dlq"],
            "dlq_by_error": dict(sorted(counts["dlq_by_error"].items())),
            "synced": counts["synced"],
            "out_of_scope": counts["out_of_scope"],
            "last_sync_at": iso(counts["last_sync_at"]),
            "next_due_at": iso(counts["next_due_at"]),
            "stats": {
                "processed": processed,
                **{key: int(raw.get(key, 0)) for key in (
                    "succeeded", "synced", "unchanged", "skipped", "out_of_scope", "failed",
                    "retried", "dead_lettered")},
                "by_confidence": {key.split(".", 1)[1]: int(value)
                                  for key, value in sorted(raw.items())
                                  if key.startswith("confidence.")},
                "avg_seconds": round(raw.get("seconds", 0.0) / processed, 3)
                if processed else None,
            },
        }

    # ------------------------------------------------------------------ maintenance

    def clear_pending(self) -> int:
        """Drop every job not being processed right now."""
        return self.storage.clear_pending()

    def dlq_entries(
        self, error_types: Collection[ErrorClass | str] | None = None, since: float | None = None
    ) -> list[DeadLetter]:
        classes = None if error_types is None else [str(c) for c in error_types]
        return [
            DeadLetter(
                scene_id=row["scene_id"], error_class=row["error_class"], message=row["message"],
                attempts=row["attempts"], first_failure_at=row["first_failure_at"],
                last_failure_at=row["last_failure_at"], candidates=tuple(row["candidates"]),
                source=row["source"], created_at=row["created_at"],
            )
            for row in self.storage.dead_letters(classes, since)
        ]

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
        return self.storage.requeue_dead(chosen, JobSource.RECOVER.value, self.clock())

    # ------------------------------------------------------------------ drain markers

    def begin_drain(self, owner: str) -> None:
        """The drain started: heartbeat on, the pending request (if any) is fulfilled."""
        stamp = f"{self.clock():.6f}"
        self.storage.update_meta(lambda meta, due: {
            markers.HEARTBEAT_AT: stamp, markers.DRAIN_OWNER: owner,
            markers.SCHEDULED_AT: None,
        })

    def heartbeat(self, owner: str) -> None:
        stamp = f"{self.clock():.6f}"
        self.storage.update_meta(lambda meta, due: {
            markers.HEARTBEAT_AT: stamp, markers.DRAIN_OWNER: owner})

    def finish_drain(self, owner: str) -> bool:
        """Clear the heartbeat iff no job is due, atomically; False means "keep draining"."""
        now = self.clock()
        finished: list[bool] = []

        def fn(meta: dict[str, str], next_due: Callable[[], float | None]) -> dict[str, Any]:
            due = next_due()
            if due is not None and due <= now:
                finished.append(False)
                return {markers.HEARTBEAT_AT: f"{now:.6f}", markers.DRAIN_OWNER: owner}
            finished.append(True)
            return {markers.HEARTBEAT_AT: None, markers.DRAIN_OWNER: None}

        self.storage.update_meta(fn)
        return finished[-1]

    def end_drain(self, owner: str) -> None:
        """Clear our heartbeat on an early stop, so the next hook requests a new drain."""
        self.storage.update_meta(lambda meta, due: (
            {markers.HEARTBEAT_AT: None, markers.DRAIN_OWNER: None}
            if meta.get(markers.DRAIN_OWNER) in (owner, None) else {}))

    def drain_state(self) -> str:
        """"running", "scheduled" or "idle" (see markers.drain_state)."""
        now = self.clock()
        return markers.drain_state(self.storage.read_meta(), now)
