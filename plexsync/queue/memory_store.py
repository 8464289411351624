"""`storage.Storage` on plain dicts: a volatile, single-process backend.

It exists so the queue semantics are written against a contract rather than against SQLite:
tests/queue/test_job_queue.py runs the same suite on this and on `sqlite_store.SQLiteStore`,
and the throughput benchmark uses it as a baseline. One lock makes each method atomic, as a
transaction does for SQLite. It holds the model's frozen records themselves (replaced, never
mutated), so what it returns cannot change under the caller. Never used by the plugin itself
(nothing here survives a restart).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from plexsync.errors import ErrorClass
from plexsync.queue.enums import EnqueueStatus, JobSource, JobState, SettleAction
from plexsync.queue.model import DeadLetter, Job, SyncRecord
from plexsync.queue.storage import ErrorInfo, MetaFn


class MemoryStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[int, Job] = {}   # by scene id
        self._next_id = 1
        self._scene_of: dict[int, int] = {}  # job id → scene id
        self._dead: dict[int, DeadLetter] = {}
        self._records: dict[int, SyncRecord] = {}
        self._out_of_scope: dict[int, float] = {}
        self._stats: dict[str, float] = {}
        self._meta: dict[str, str] = {}

    def close(self) -> None:
        pass

    # ------------------------------------------------------------------ helpers

    def _fold(self, scene_id: int, event_at: float, source: JobSource,
              cleared: Collection[str], now: float, urgent: bool) -> EnqueueStatus:
        job = self._jobs.get(scene_id)
        if job is None:
            self._jobs[scene_id] = Job(
                id=self._next_id, scene_id=scene_id, state=JobState.PENDING, source=source,
                event_at=event_at, enqueued_at=now, not_before=now,
                cleared_fields=frozenset(cleared),
            )
            self._scene_of[self._next_id] = scene_id
            self._next_id += 1
            return EnqueueStatus.NEW
        job = replace(
            job, event_at=max(job.event_at, event_at),
            cleared_fields=job.cleared_fields | frozenset(cleared),
            source=source if job.source.replaceable else job.source,
        )
        if job.state is JobState.IN_PROGRESS:
            self._jobs[scene_id] = replace(job, dirty=True)
            return EnqueueStatus.DIRTY
        self._jobs[scene_id] = replace(job, not_before=min(job.not_before, now)) \
            if urgent else job
        return EnqueueStatus.UPDATED

    def _owned(self, job_id: int, owner: str) -> Job | None:
        job = self._jobs.get(self._scene_of.get(job_id, -1))
        if job is None or job.state is not JobState.IN_PROGRESS or job.lease_owner != owner:
            return None
        return job

    def _next_due(self) -> float | None:
        times = [
            (j.lease_until if j.state is JobState.IN_PROGRESS else j.not_before)
            for j in self._jobs.values()
        ]
        valid = [t for t in times if t is not None]
        return min(valid) if valid else None

    def _apply_meta(self, fn: MetaFn) -> dict[str, str]:
        for key, value in fn(dict(self._meta), self._next_due).items():
            if value is None:
                self._meta.pop(key, None)
            else:
                self._meta[key] = value
        return dict(self._meta)

    def _delete(self, scene_id: int) -> None:
        job = self._jobs.pop(scene_id)
        self._scene_of.pop(job.id, None)

    def _to_waiting(self, job: Job, not_before: float) -> None:
        self._jobs[job.scene_id] = replace(
            job, state=JobState.waiting(job.attempts), not_before=not_before,
            lease_until=None, lease_owner=None, dirty=False,
        )

    # ------------------------------------------------------------------ Storage

    def enqueue(
        self, scene_id: int, event_at: float, source: JobSource, cleared_fields: Collection[str],
        now: float, *, meta_fn: MetaFn | None = None,
    ) -> tuple[EnqueueStatus, dict[str, str]]:
        with self._lock:
            status = self._fold(scene_id, event_at, source, cleared_fields, now, source.urgent)
            return status, (self._apply_meta(meta_fn) if meta_fn is not None else {})

    def enqueue_many(
        self, items: Sequence[tuple[int, float]], source: JobSource, now: float
    ) -> int:
        with self._lock:
            for scene_id, event_at in items:
                self._fold(int(scene_id), float(event_at), source, (), now, False)
            return len(items)

    def claim(self, now: float, limit: int, lease_until: float, owner: str) -> list[Job]:
        with self._lock:
            due = sorted(
                (j for j in self._jobs.values() if j.not_before <= now and (
                    j.state is not JobState.IN_PROGRESS or (j.lease_until or 0.0) <= now)),
                key=lambda j: (j.not_before, j.id),
            )[:limit]
            claimed = [replace(j, state=JobState.IN_PROGRESS, lease_until=lease_until,
                               lease_owner=owner) for j in due]
            for job in claimed:
                self._jobs[job.scene_id] = job
            return claimed

    def renew(self, owner: str, lease_until: float) -> int:
        with self._lock:
            mine = [j for j in self._jobs.values()
                    if j.state is JobState.IN_PROGRESS and j.lease_owner == owner]
            for job in mine:
                self._jobs[job.scene_id] = replace(job, lease_until=lease_until)
            return len(mine)

    def release(self, job_ids: Iterable[int], owner: str, not_before: float | None) -> int:
        with self._lock:
            released = 0
            for job_id in job_ids:
                job = self._owned(job_id, owner)
                if job is not None:
                    self._to_waiting(job, job.not_before if not_before is None else not_before)
                    released += 1
            return released

    def release_orphans(self, owner: str, now: float) -> int:
        with self._lock:
            orphans = [j for j in self._jobs.values()
                       if j.state is JobState.IN_PROGRESS and j.lease_owner != owner]
            for job in orphans:
                self._to_waiting(job, min(job.not_before, now))
            return len(orphans)

    def settle(
        self, job_id: int, owner: str, now: float, action: SettleAction, *,
        record: SyncRecord | None = None, retry_at: float | None = None,
        error: ErrorInfo | None = None, stats: Mapping[str, float] | None = None,
    ) -> bool:
        with self._lock:
            if record is not None:
                for other in [r for r in self._records.values()   # one item, one record
                              if r.rating_key == record.rating_key
                              and r.scene_id != record.scene_id]:
                    del self._records[other.scene_id]
                    self._fold(other.scene_id, now, JobSource.RECONCILE, (), now, True)
                self._records[record.scene_id] = record
                self._dead.pop(record.scene_id, None)
                self._out_of_scope.pop(record.scene_id, None)
            job = self._owned(job_id, owner)
            if job is None:
                return False
            if action is SettleAction.RETRY:
                assert error is not None and retry_at is not None
                self._jobs[job.scene_id] = replace(
                    job, state=JobState.RETRYING, attempts=job.attempts + 1,
                    not_before=retry_at, last_error_class=_error_class(error["error_class"]),
                    last_error=error["message"], lease_until=None, lease_owner=None,
                    dirty=False, first_failure_at=(
                        now if job.first_failure_at is None else job.first_failure_at),
                )
            else:
                self._finish(job, now, action, error)
            for key, value in (stats or {}).items():
                self._stats[key] = self._stats.get(key, 0.0) + value
            return True

    def _finish(
        self, job: Job, now: float, action: SettleAction, error: ErrorInfo | None
    ) -> None:
        if action is SettleAction.DEAD:
            assert error is not None
            self._dead[job.scene_id] = DeadLetter(
                scene_id=job.scene_id, error_class=error["error_class"],
                message=error["message"], attempts=job.attempts + 1,
                first_failure_at=(now if job.first_failure_at is None
                                  else job.first_failure_at),
                last_failure_at=now, candidates=tuple(error["candidates"]),
                source=job.source, created_at=now, cleared_fields=job.cleared_fields,
            )
        elif action is SettleAction.OUT_OF_SCOPE:
            self._out_of_scope[job.scene_id] = now
        if job.dirty:
            self._jobs[job.scene_id] = replace(
                job, state=JobState.PENDING, attempts=0, not_before=now,
                last_error_class=None, last_error=None, first_failure_at=None,
                lease_until=None, lease_owner=None, dirty=False,
            )
        else:
            self._delete(job.scene_id)

    def records_for(self, scene_ids: Iterable[int]) -> dict[int, SyncRecord]:
        with self._lock:
            return {int(s): self._records[int(s)]
                    for s in scene_ids if int(s) in self._records}

    def records_on_item(self, rating_key: int) -> list[SyncRecord]:
        with self._lock:   # (no upgrade ever displaced records here)
            return [r for r in self._records.values() if r.rating_key == int(rating_key)]

    def job(self, scene_id: int) -> Job | None:
        with self._lock:
            return self._jobs.get(scene_id)

    def counts(self) -> dict[str, Any]:
        with self._lock:
            states = [j.state for j in self._jobs.values()]
            by_error: dict[str, int] = {}
            for dead in self._dead.values():
                by_error[dead.error_class] = by_error.get(dead.error_class, 0) + 1
            return {
                "pending": states.count(JobState.PENDING),
                "in_progress": states.count(JobState.IN_PROGRESS),
                "retrying": states.count(JobState.RETRYING),
                "dlq": len(self._dead),
                "dlq_by_error": by_error,
                "synced": len(self._records),
                "out_of_scope": len(self._out_of_scope),
                "last_sync_at": max((r.synced_at for r in self._records.values()),
                                    default=None),
                "next_due_at": self._next_due(),
                "stats": dict(self._stats),
            }

    def clear_pending(self) -> int:
        with self._lock:
            doomed = [s for s, j in self._jobs.items() if j.state is not JobState.IN_PROGRESS]
            for scene_id in doomed:
                self._delete(scene_id)
            return len(doomed)

    def _matching_dead(self, keep: Callable[[DeadLetter], bool]) -> list[DeadLetter]:
        return sorted((d for d in self._dead.values() if keep(d)),
                      key=lambda d: (d.last_failure_at, d.scene_id))

    def dead_letters(
        self, error_classes: Collection[str] | None = None, since: float | None = None
    ) -> list[DeadLetter]:
        with self._lock:
            return self._matching_dead(lambda d: (
                (error_classes is None or d.error_class in error_classes)
                and (since is None or d.last_failure_at >= since)))

    def newest_dead_letters(self, limit: int) -> list[DeadLetter]:
        with self._lock:
            rows = self._matching_dead(lambda d: True)
        rows.sort(key=lambda d: (d.last_failure_at, d.scene_id), reverse=True)
        return rows[:limit]

    def clear_dlq(self) -> int:
        with self._lock:
            count = len(self._dead)
            self._dead.clear()
            return count

    def purge_dlq(self, before: float) -> int:
        with self._lock:
            old = [s for s, d in self._dead.items() if d.last_failure_at < before]
            for scene_id in old:
                del self._dead[scene_id]
            return len(old)

    def delete_dead(self, scene_ids: Iterable[int]) -> int:
        with self._lock:
            return sum(self._dead.pop(int(s), None) is not None for s in set(scene_ids))

    def requeue_dead(self, scene_ids: Iterable[int], source: JobSource, now: float) -> int:
        with self._lock:
            moved = 0
            for scene_id in sorted({int(s) for s in scene_ids}):
                dead = self._dead.pop(scene_id, None)
                if dead is not None:   # the user's clears come back with the job
                    self._fold(scene_id, now, source, dead.cleared_fields, now, True)
                    moved += 1
            return moved

    def update_meta(self, fn: MetaFn) -> dict[str, str]:
        with self._lock:
            return self._apply_meta(fn)

    def read_meta(self) -> dict[str, str]:
        with self._lock:
            return dict(self._meta)

    def next_due(self) -> float | None:
        with self._lock:
            return self._next_due()


def _error_class(value: str) -> ErrorClass | None:
    """As SQLite's reader does: a class this version does not know reads as None."""
    return ErrorClass(value) if value in set(ErrorClass) else None
