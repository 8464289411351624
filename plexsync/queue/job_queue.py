"""The durable job queue (docs/design.md#job-lifecycle, #state-files): the one owner of the
queue database's SQL, shared by every process through one SQLite file.

Rules every method keeps:
- Each method is one transaction (sqlite_db.py): writes take the write lock up front, reads
  never wait for it. Nothing is half done when a method raises `StoreError`.
- States and sources go into the SQL as parameters (enums.py), never as literals; rows are
  mapped to records by sqlite_rows.py, imported only when rows are read (it says why).
- `settle`, `renew` and `release` touch a job only while it is in_progress under the given
  `owner` (a drain's id); anything else is a stale ack and leaves the job alone.
- Released jobs keep their `not_before` (their place in line): being released is never their
  fault.

On the hook path: the standard library only at import time (tests/hook/test_import_budget.py).
"""

from __future__ import annotations

import os
import time

from plexsync.core import datadir
from plexsync.core import fastjson as json
from plexsync.queue.dead_letters import DeadLetters
from plexsync.queue.enums import JobSource, JobState, OutcomeKind, SettleAction
from plexsync.queue.object_jobs import ObjectJobs
from plexsync.queue.sqlite_db import BUSY_TIMEOUT, RETRIES
from plexsync.queue.transitions import fold, next_due, read_meta, settle_job, update_meta

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping
    from typing import Any

    from plexsync.queue.backoff import Backoff
    from plexsync.queue.drain_markers import DrainMarkers
    from plexsync.queue.markers import MetaFn
    from plexsync.queue.model import Applied, ErrorInfo, Job, Outcome, SyncRecord

MAX_MESSAGE = 2000
ENQUEUE_CHUNK = 500


class JobQueue(DeadLetters, ObjectJobs):
    """The queue on one SQLite file (":memory:" for a private, volatile one); its dead letters
    are dead_letters.py's, its object jobs object_jobs.py's."""

    def __init__(
        self, path: str, *, clock: Callable[[], float] = time.time,
        backoff: Backoff | None = None, busy_timeout: float = BUSY_TIMEOUT,
        retries: int = RETRIES, sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(path, busy_timeout=busy_timeout, retries=retries, sleep=sleep)
        self.clock = clock
        self.backoff = backoff
        self._markers: DrainMarkers | None = None

    @classmethod
    def open(cls, data_dir: str, *, clock: Callable[[], float] = time.time,
             backoff: Backoff | None = None) -> JobQueue:
        return cls(os.path.join(data_dir, datadir.DB_NAME), clock=clock, backoff=backoff)

    @property
    def markers(self) -> DrainMarkers:
        if self._markers is None:  # the drain's side only: the hook never loads it
            from plexsync.queue.drain_markers import DrainMarkers

            self._markers = DrainMarkers(self)
        return self._markers

    # ------------------------------------------------------------------ producing

    def enqueue(
        self, scene_id: int, event_at: float | None = None, source: JobSource = JobSource.HOOK,
        cleared_fields: Iterable[str] = (), *, meta_fn: MetaFn | None = None,
    ) -> dict[str, str]:
        """Queue `scene_id` or fold this event into its job, then run `meta_fn` (the hook's
        drain request, markers.py) in the same transaction; returns the meta table after it
        ({} without one). Folding rules: transitions.fold."""
        now = self.clock()
        cleared = sorted(set(cleared_fields))
        at = now if event_at is None else event_at

        def txn(conn: Any) -> dict[str, str]:
            fold(conn, int(scene_id), at, source, cleared, now, source.urgent)
            return update_meta(conn, meta_fn) if meta_fn is not None else {}

        return self._write(txn)

    def enqueue_many(
        self, scene_ids: Iterable[int], source: JobSource, event_at: float | None = None,
        chunk: int = ENQUEUE_CHUNK,
    ) -> int:
        """Queue many scenes (bulk tasks), never urgent, one transaction per `chunk`; a chunk
        is queued whole or not at all. Returns the count."""
        ids = [int(i) for i in scene_ids]
        for start in range(0, len(ids), chunk):
            now = self.clock()
            at = now if event_at is None else event_at
            params = [{"scene_id": sid, "event_at": at, "source": source, "now": now,
                       "pending": JobState.PENDING, "in_progress": JobState.IN_PROGRESS,
                       "hook": JobSource.HOOK} for sid in ids[start:start + chunk]]
            self._write(lambda conn, p=params: conn.executemany(  # type: ignore[misc]
                "INSERT INTO jobs (scene_id, state, source, event_at, enqueued_at, not_before) "
                "VALUES (:scene_id, :pending, :source, :event_at, :now, :now) "
                "ON CONFLICT(scene_id) DO UPDATE SET "
                "event_at = max(jobs.event_at, excluded.event_at), "
                # JobSource.replaceable: only a hook's job takes the newer source
                "source = CASE WHEN jobs.source = :hook THEN excluded.source "
                "ELSE jobs.source END, "
                "dirty = CASE WHEN jobs.state = :in_progress THEN 1 ELSE jobs.dirty END", p))
        return len(ids)

    # ------------------------------------------------------------------ consuming

    def claim(self, limit: int, lease_seconds: float, owner: str) -> list[Job]:
        """Lease up to `limit` due jobs to `owner`: pending/retrying ones whose `not_before`
        has come, and in_progress ones whose lease expired (their drain died); oldest
        `not_before` first, then id. Returns them as claimed ([] when none is due)."""
        from plexsync.queue import sqlite_rows as m

        now = self.clock()
        lease_until = now + lease_seconds

        def txn(conn: Any) -> list[Job]:
            rows = conn.execute(
                f"SELECT {m.JOB_COLS} FROM jobs WHERE not_before <= :now AND "
                "(state != :in_progress OR lease_until <= :now) ORDER BY not_before, id "
                "LIMIT :limit",
                {"now": now, "limit": limit, "in_progress": JobState.IN_PROGRESS},
            ).fetchall()
            conn.executemany(
                "UPDATE jobs SET state = ?, lease_until = ?, lease_owner = ? WHERE id = ?",
                [(JobState.IN_PROGRESS, lease_until, owner, row["id"]) for row in rows],
            )
            return [m.job(row, leased=(owner, lease_until)) for row in rows]

        return self._write(txn)

    def renew(self, owner: str, lease_seconds: float) -> int:
        """Extend every lease `owner` holds; returns how many."""
        until = self.clock() + lease_seconds
        return self._write(lambda conn: conn.execute(
            "UPDATE jobs SET lease_until = ? WHERE state = ? AND lease_owner = ?",
            (until, JobState.IN_PROGRESS, owner)).rowcount)

    def release(self, jobs: Iterable[Job], owner: str, delay: float | None = None) -> int:
        """Give `owner`'s jobs back uncounted, keeping their place in line, or due after
        `delay` seconds. Jobs not leased to `owner` are skipped. Returns how many."""
        ids = [j.id for j in jobs]
        not_before = None if delay is None else self.clock() + delay
        return self._write(lambda conn: sum(conn.execute(
            f"{_RELEASE}, not_before = coalesce(:not_before, not_before) "
            "WHERE id = :id AND state = :in_progress AND lease_owner = :owner",
            {**_WAITING, "not_before": not_before, "id": job_id, "owner": owner},
        ).rowcount for job_id in ids))

    def release_orphans(self, owner: str) -> int:
        """Release every job leased to anyone but `owner` (their drain is dead), due now at
        the latest. Call only while holding the drain lock."""
        now = self.clock()
        return self._write(lambda conn: conn.execute(
            f"{_RELEASE}, not_before = min(not_before, :now) WHERE state = :in_progress "
            "AND (lease_owner IS NULL OR lease_owner != :owner)",
            {**_WAITING, "now": now, "owner": owner}).rowcount)

    def settle(
        self, job_id: int, owner: str, action: SettleAction, *,
        record: SyncRecord | None = None, retry_at: float | None = None,
        error: ErrorInfo | None = None, stats: Mapping[str, float] | None = None,
    ) -> bool:
        """End one claimed job with `action` (transitions.settle_job); False for a stale ack,
        when only `record` was written (the Plex write it describes did happen)."""
        now = self.clock()
        return self._write(lambda conn: settle_job(
            conn, job_id, owner, now, action, record=record, retry_at=retry_at, error=error,
            stats=stats))

    def apply(self, outcome: Outcome, owner: str) -> Applied:
        """Settle one job from its outcome, and bump the stats counters in the same step.

        SYNCED/UNCHANGED store the sync record (one without a record fails as Internal);
        SKIPPED deletes the job, OUT_OF_SCOPE also marks the scene; FAILED asks `Backoff` for
        a delay (RETRY) or dead-letters the job with its error class, redacted message and
        candidates. A PlexAuth failure is released uncounted: the token is wrong, not the job.
        An ack whose lease is no longer ours stores only the record and returns STALE."""
        from plexsync.core.log import log
        from plexsync.errors import ErrorClass, Internal
        from plexsync.queue.backoff import Backoff
        from plexsync.queue.model import Applied

        job, kind = outcome.job, outcome.kind
        stats: dict[str, float] = {"processed": 1, "seconds": max(outcome.seconds, 0.0)}
        error = outcome.error
        if kind in (OutcomeKind.SYNCED, OutcomeKind.UNCHANGED) and outcome.record is None:
            error = Internal(f"the sync reported {kind.value} without a sync record")
            kind = OutcomeKind.FAILED
        if kind is not OutcomeKind.FAILED:
            stats[kind.value] = 1
            record = None
            if kind in (OutcomeKind.SYNCED, OutcomeKind.UNCHANGED):
                record = outcome.record
                assert record is not None
                confidence = outcome.confidence or record.confidence or "HIGH"
                stats.update({"succeeded": 1, f"confidence.{confidence}": 1})
            action = SettleAction.OUT_OF_SCOPE if kind is OutcomeKind.OUT_OF_SCOPE \
                else SettleAction.DONE
            settled = self.settle(job.id, owner, action, record=record, stats=stats)
            return Applied(action if settled else SettleAction.STALE)
        error = error or Internal("the sync reported a failure without an error")
        if error.error_class is ErrorClass.PLEX_AUTH:
            self.release([job], owner)
            return Applied(SettleAction.RELEASED)
        info: ErrorInfo = {
            "error_class": error.error_class.value,
            "message": log.redact(str(error) or type(error).__name__)[:MAX_MESSAGE],
            "candidates": list(outcome.candidates or getattr(error, "candidates", ())),
        }
        backoff = self.backoff = self.backoff or Backoff()
        delay = backoff.retry_delay(error.error_class, job.attempts + 1,
                                    outage=error.outage) if error.retryable else None
        stats[OutcomeKind.FAILED] = 1
        action = SettleAction.DEAD if delay is None else SettleAction.RETRY
        stats[action.value] = 1
        settled = self.settle(job.id, owner, action, error=info, stats=stats,
                              retry_at=None if delay is None else self.clock() + delay)
        return Applied(action if settled else SettleAction.STALE, delay)

    # ------------------------------------------------------------------ reads

    def records_for(self, scene_ids: Iterable[int]) -> dict[int, SyncRecord]:
        """The sync records of those scenes that have one, by scene id."""
        from plexsync.queue import sqlite_rows as m

        chunks = m.chunks(scene_ids)

        def txn(conn: Any) -> dict[int, SyncRecord]:
            found: dict[int, SyncRecord] = {}
            for chunk in chunks:
                for row in conn.execute(
                    f"SELECT {m.RECORD_COLS} FROM sync_records "
                    f"WHERE scene_id IN ({m.marks(len(chunk))})", chunk,
                ):
                    found[row["scene_id"]] = m.record(row)
            return found

        return self._read(txn) if chunks else {}

    def records_on_item(self, rating_key: int) -> list[SyncRecord]:
        """The record holding this Plex item (at most one), then the displaced rows of scenes
        that left it (only what they wrote there is known in those: collections, fields, their
        digests and values)."""
        from plexsync.queue import sqlite_rows as m

        def txn(conn: Any) -> list[SyncRecord]:
            held = [m.record(row) for row in conn.execute(
                f"SELECT {m.RECORD_COLS} FROM sync_records WHERE rating_key = ?",
                (int(rating_key),))]
            return held + [m.displaced_record(row) for row in conn.execute(
                f"SELECT {m.DISPLACED_COLS} "
                "FROM displaced_records WHERE rating_key = ? ORDER BY scene_id",
                (int(rating_key),))]

        return self._read(txn)

    def job(self, scene_id: int) -> Job | None:
        from plexsync.queue import sqlite_rows as m

        def txn(conn: Any) -> Job | None:
            row = conn.execute(f"SELECT {m.JOB_COLS} FROM jobs WHERE scene_id = ?",
                               (scene_id,)).fetchone()
            return m.job(row) if row is not None else None

        return self._read(txn)

    def counts(self) -> dict[str, Any]:
        """One consistent read of the queue's numbers: pending, in_progress, retrying, dlq,
        dlq_by_error, synced, out_of_scope, last_sync_at, next_due_at and the raw stats."""
        def txn(conn: Any) -> dict[str, Any]:
            states = {row["state"]: row["n"] for row in conn.execute(
                "SELECT state, count(*) AS n FROM jobs GROUP BY state")}
            by_error = {row["error_class"]: row["n"] for row in conn.execute(
                "SELECT error_class, count(*) AS n FROM dead_letters GROUP BY error_class")}
            synced = conn.execute(
                "SELECT count(*) AS n, max(synced_at) AS last FROM sync_records").fetchone()
            return {
                "pending": states.get(JobState.PENDING, 0),
                "in_progress": states.get(JobState.IN_PROGRESS, 0),
                "retrying": states.get(JobState.RETRYING, 0),
                "dlq": sum(by_error.values()),
                "dlq_by_error": by_error,
                "synced": synced["n"],
                "out_of_scope": conn.execute(
                    "SELECT count(*) AS n FROM out_of_scope").fetchone()["n"],
                "objects_pending": conn.execute(
                    "SELECT count(*) AS n FROM object_jobs").fetchone()["n"],
                "last_sync_at": synced["last"],
                "next_due_at": next_due(conn),
                "stats": {row["key"]: row["value"] for row in conn.execute(
                    "SELECT key, value FROM stats")},
            }

        return self._read(txn)

    def next_due_at(self) -> float | None:
        """When the next job becomes claimable (the earliest waiting `not_before` or
        in_progress lease end); None when the queue is empty."""
        return self._read(next_due)

    def update_meta(self, fn: MetaFn) -> dict[str, str]:
        """Run `fn(meta, next_due)` in one write step and apply the changes it returns (None
        deletes a key); returns the meta table after it. An exception from `fn` changes nothing."""
        return self._write(lambda conn: update_meta(conn, fn))

    def read_meta(self) -> dict[str, str]:
        return self._read(read_meta)

    # ------------------------------------------------------------------ maintenance

    def clear_pending(self) -> int:
        """Delete every job not in_progress (a drain may be working on those), and every
        object job (its scenes are not queued yet)."""
        return self._write(lambda conn: conn.execute(
            "DELETE FROM jobs WHERE state != ?", (JobState.IN_PROGRESS,)).rowcount
            + conn.execute("DELETE FROM object_jobs").rowcount)

    # ------------------------------------------------------------------ reconciliation

    def queued_or_dead(self, scene_ids: Iterable[int]) -> set[int]:
        """The scenes among `scene_ids` with a job or a dead letter: a reconciliation leaves
        those to the queue and to Recover DLQ Jobs."""
        from plexsync.queue import sqlite_rows as m

        chunks = m.chunks(scene_ids)

        def txn(conn: Any) -> set[int]:
            found: set[int] = set()
            for chunk in chunks:
                marks = m.marks(len(chunk))
                found.update(r["scene_id"] for r in conn.execute(
                    f"SELECT scene_id FROM jobs WHERE scene_id IN ({marks}) UNION "
                    f"SELECT scene_id FROM dead_letters WHERE scene_id IN ({marks})",
                    [*chunk, *chunk]))
            return found

        return self._read(txn) if chunks else set()

    def add_reconcile_run(self, run: Mapping[str, Any]) -> None:
        """Append one finished run (keys: the reconcile_runs columns; `gaps` a dict)."""
        self._write(lambda conn: conn.execute(
            "INSERT INTO reconcile_runs (started_at, finished_at, scope, trigger, scanned, gaps, "
            "enqueued, seconds) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (run["started_at"], run["finished_at"], run["scope"], run["trigger"],
             run["scanned"], json.dumps(run["gaps"], sort_keys=True), run["enqueued"],
             run["seconds"])))

    def reconcile_runs(self, limit: int) -> list[dict[str, Any]]:
        """The newest `limit` runs, newest first."""
        return self._read(lambda conn: [
            {**dict(row), "gaps": json.loads(row["gaps"])} for row in conn.execute(
                "SELECT started_at, finished_at, scope, trigger, scanned, gaps, enqueued, "
                "seconds FROM reconcile_runs ORDER BY started_at DESC, id DESC LIMIT ?",
                (limit,))])


# Back to waiting (pending, or retrying once failed), lease dropped; callers add not_before.
_RELEASE = (
    "UPDATE jobs SET state = CASE WHEN attempts > 0 THEN :retrying ELSE :pending END, "
    "lease_until = NULL, lease_owner = NULL, dirty = 0"
)
_WAITING = {"retrying": JobState.RETRYING, "pending": JobState.PENDING,
            "in_progress": JobState.IN_PROGRESS}
