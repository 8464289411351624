"""Process Queue (SPEC §5, §8): drain the queue through a `jobs.Processor`.

Invariants and failure behaviour:
- One drain at a time: a non-blocking file lock on `<data_dir>/drain.lock`. A second drain
  returns at once ("another drain is running", exit 0) when the holder's heartbeat is fresh;
  when it is not, the holder is in its last milliseconds (it found the queue empty), so the
  newcomer waits a moment for the lock instead of leaving a just-queued job stranded.
- Holding the lock, the drain releases jobs still leased by anyone else: their drain was killed
  (Stash stops tasks with SIGKILL), so they are processed now, not when their lease expires.
- Jobs are claimed in batches under a lease and acked one by one as outcomes arrive, so a kill
  loses at most the in-flight work, which the next drain redoes (delivery is at least once).
- The drain clears its heartbeat only in the transaction that finds no due job
  (`JobQueue.finish_drain`), so a job queued meanwhile is never left without a drain.
- The drain ends when no job is due now: it never sleeps for a retry due later, because Stash
  runs one job at a time and the user's scans would wait behind it (docs/design.md, "Stash's
  job queue"). The task that ran it then arms the wake-up timer (plexsync/timer/) for the
  earliest due time (`JobQueue.next_due_at`).
- Late events (older than the data the last sync read) are skipped without a Stash or Plex
  request, unless they carry explicit clears.
- Released jobs (uncounted) keep their place in line: being released is never their fault.
- PlexAuth (raised or yielded) or ConfigError raised for a batch (or by the processor factory):
  the unprocessed jobs are released and the error is raised, so the task fails with one clear
  sentence. PlexServerDown raised for a batch means Plex itself is down (the processor raises
  it only after its health probe failed; one item's failing request comes as that job's
  FAILED outcome instead, see sync.py): the rest is released and the drain stops with one
  warning, "Plex unreachable; N jobs wait for the next run". Any other error raised by the
  processor fails each unprocessed job with it (retry or DLQ by backoff); a batch that yields
  no outcome for a job fails that job as Internal.
- Only the processor's errors fail jobs. An error of the queue itself (a StoreError applying an
  outcome, renewing leases, ...) gives the claimed jobs back (best effort: if even that fails,
  their leases expire and the next drain releases them at once as orphans) and is raised: the
  task fails with that one error line, and no job is counted or dead-lettered for it.
- `queue_timeout` is checked after every outcome: the rest of the batch is released uncounted.
- Progress needs the queue's size: it is counted at most every `PROGRESS_RECOUNT` seconds and
  estimated in between (`counts()` runs five aggregates).
- Hook jobs are dropped (one info line per drain) when `enabled` is off.
"""

from __future__ import annotations

import os
import time
import traceback
from collections import Counter
from collections.abc import Callable, Generator
from typing import Any

from plexsync.core.log import log
from plexsync.errors import ConfigError, Internal, PlexAuth, PlexServerDown, PlexSyncError
from plexsync.queue.job_queue import Applied, JobQueue
from plexsync.queue.model import (
    Batch,
    Job,
    JobSource,
    Outcome,
    OutcomeKind,
    Processor,
    superseded,
)

LOCK_NAME = "drain.lock"
BATCH_SIZE = 25
LEASE_SECONDS = 600.0
HEARTBEAT_EVERY = 30.0
PROGRESS_RECOUNT = 30.0
LOCK_POLLS = 100          # × LOCK_POLL seconds waiting for a finishing drain to let go
LOCK_POLL = 0.1


class Drain:
    def __init__(
        self,
        queue: JobQueue,
        processor_factory: Callable[[], Processor],
        *,
        lock_path: str,
        enabled: bool = True,
        queue_timeout: float = 0,
        batch_size: int = BATCH_SIZE,
        lease_seconds: float = LEASE_SECONDS,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        progress: Callable[[float], None] = log.progress,
        owner: str | None = None,
    ) -> None:
        self.queue = queue
        self._factory = processor_factory
        self._processor: Processor | None = None
        self.lock_path = lock_path
        self.enabled = enabled
        self.queue_timeout = queue_timeout
        self.batch_size = batch_size
        self.lease_seconds = lease_seconds
        self.clock = clock or queue.clock
        self.sleep = sleep
        self.progress = progress
        self.owner = owner or f"drain-{os.getpid()}-{os.urandom(3).hex()}"
        self.counts: Counter[str] = Counter()
        self._last_beat = 0.0
        self._waiting = 0                    # queued jobs outside the current batch (estimate)
        self._counted_at: float | None = None
        self._batch_left = 0                 # jobs of the current batch not settled yet
        self._outage = ""                    # why Plex was unreachable (stopped "plex_down")
        self._deadline: float | None = None

    # ------------------------------------------------------------------ lifecycle

    def run(self) -> dict[str, Any]:
        """Drain until empty, `queue_timeout`, or a stop; returns the summary (task output)."""
        from filelock import FileLock, Timeout

        lock = FileLock(self.lock_path)
        for poll in range(LOCK_POLLS + 1):
            try:
                lock.acquire(timeout=0)
                break
            except Timeout:
                if poll == LOCK_POLLS or self.queue.drain_state() == "running":
                    log.info("Another Process Queue is already running; it will sync the "
                             "queued scenes. Nothing to do here.")
                    return {"skipped": "another drain is running"}
                self.sleep(LOCK_POLL)
        try:
            return self._run_locked()
        finally:
            lock.release()

    def _run_locked(self) -> dict[str, Any]:
        start = self.clock()
        self.queue.begin_drain(self.owner)
        self._last_beat = start
        finished = False
        try:
            orphans = self.queue.release_orphans(self.owner)
            if orphans:
                log.info(f"Picked up {orphans} job(s) left claimed by a drain that was stopped.")
            stopped = self._loop(start)
            finished = stopped == "empty"
        finally:
            if not finished:
                self._end_quietly()
        return self._summary(start, stopped)

    def _loop(self, start: float) -> str:
        deadline = self._deadline = start + self.queue_timeout if self.queue_timeout > 0 else None
        while True:
            now = self.clock()
            if deadline is not None and now >= deadline:
                return "timeout"
            jobs = self.queue.claim(self.batch_size, self.lease_seconds, self.owner)
            if jobs:
                try:
                    self._count_waiting(len(jobs))
                    self._beat(force=True)
                    stop = self._process(jobs)
                except BaseException:
                    self._give_back(jobs)
                    raise
                if stop is not None:
                    return stop
                continue
            if self.queue.finish_drain(self.owner):
                return "empty"

    def _beat(self, force: bool = False) -> None:
        now = self.clock()
        if force or now - self._last_beat >= HEARTBEAT_EVERY:
            self.queue.heartbeat(self.owner)
            self.queue.renew(self.owner, self.lease_seconds)
            self._last_beat = now

    def _count_waiting(self, claimed: int) -> None:
        """The jobs still queued behind a batch just claimed, for the progress bar."""
        now = self.clock()
        if self._counted_at is None or now - self._counted_at >= PROGRESS_RECOUNT:
            counts = self.queue.counts()
            self._waiting = counts["pending"] + counts["retrying"]
            self._counted_at = now
        else:
            self._waiting = max(0, self._waiting - claimed)

    def _give_back(self, jobs: list[Job]) -> None:
        """After an error: release the claimed jobs still leased to us (best effort)."""
        try:
            released = self.queue.release(jobs, self.owner)
        except Exception as exc:
            log.debug(f"could not give back {len(jobs)} claimed job(s) ({exc}); their leases "
                      "expire, and the next Process Queue takes them at once")
            return
        if released:
            self.counts["released"] += released
            log.debug(f"gave back {released} claimed job(s) without counting an attempt")

    def _end_quietly(self) -> None:
        try:
            self.queue.end_drain(self.owner)
        except PlexSyncError as exc:  # the stop reason matters more than the marker
            log.debug(f"could not clear the drain heartbeat: {exc}")

    # ------------------------------------------------------------------ one batch

    def _process(self, jobs: list[Job]) -> str | None:
        """Process one claimed batch; returns why the drain must stop, or None to go on."""
        if not self.enabled:
            dropped = [j for j in jobs if j.source is JobSource.HOOK]
            for job in dropped:
                self.queue.apply(Outcome(job, OutcomeKind.SKIPPED, detail="disabled"),
                                 self.owner)
            if dropped and not self.counts["disabled"]:  # one line per drain, total in summary
                log.info("PlexSync is disabled (Settings → Plugins → PlexSync → Enabled): "
                         "dropping queued hook jobs; Sync and Reconcile jobs still run.")
            self.counts["disabled"] += len(dropped)
            jobs = [j for j in jobs if j.source is not JobSource.HOOK]
        self._batch_left = len(jobs)
        records = self.queue.records_for(j.scene_id for j in jobs)
        todo: list[Job] = []
        for job in jobs:
            if superseded(job, records.get(job.scene_id)):
                self._settle(Outcome(job, OutcomeKind.SKIPPED, detail=(
                    "late event; the last sync already read newer data")))
            else:
                todo.append(job)
        if not todo:
            return None
        try:
            processor = self._get_processor()
        except BaseException:  # e.g. plex_url unset: not the jobs' fault, so nothing counted
            self.counts["released"] += self.queue.release(todo, self.owner)
            raise
        known = {j.scene_id: records[j.scene_id] for j in todo if j.scene_id in records}
        return self._run_batch(processor, Batch(todo, known, self.queue.records_on_item))

    def _run_batch(self, processor: Processor, batch: Batch) -> str | None:
        """Apply each outcome as it arrives; handle a batch-level failure (module docstring).

        Only what the processor raises is the batch's failure: an error of the queue itself
        (applying an outcome, renewing leases) propagates to `_loop`, which gives jobs back."""
        pending = {job.id: job for job in batch.jobs}
        outcomes = _guarded(processor, batch)
        failure: Exception | None = None
        try:
            for outcome in outcomes:
                if pending.pop(outcome.job.id, None) is None:
                    log.warning(f"ignored an outcome for job {outcome.job.id}: not in this batch")
                    continue
                if outcome.kind is OutcomeKind.FAILED and isinstance(outcome.error, PlexAuth):
                    self.counts["released"] += self.queue.release(
                        [outcome.job, *pending.values()], self.owner)
                    raise outcome.error
                self._settle(outcome)
                self._beat()
                if self._deadline is not None and self.clock() >= self._deadline:
                    # queue_timeout: stop mid-batch; the unprocessed jobs go back uncounted
                    self.counts["released"] += self.queue.release(pending.values(), self.owner)
                    return "timeout"
        except _ProcessorFailed as failed:
            failure = failed.error
        finally:
            outcomes.close()  # a processor left mid-batch cleans up now
        if failure is not None:
            return self._batch_failed(failure, pending)
        if pending:
            self._fail_all(pending, Internal("the sync returned no outcome for this job"))
        return None

    def _batch_failed(self, error: Exception, pending: dict[int, Job]) -> str | None:
        """The processor raised `error` for the batch; `pending` jobs got no outcome yet."""
        if isinstance(error, PlexAuth | ConfigError):  # nothing in it can succeed: count nothing
            self.counts["released"] += self.queue.release(pending.values(), self.owner)
            raise error
        if isinstance(error, PlexServerDown):  # Plex itself is down (the processor probed it)
            self.counts["released"] += self.queue.release(pending.values(), self.owner)
            self._outage = str(error)
            return "plex_down"
        if not isinstance(error, PlexSyncError):  # a bug in the processor: fail its jobs
            log.debug("".join(traceback.format_exception(error)))
            error = Internal(f"the sync failed: {type(error).__name__}: {error}")
        self._fail_all(pending, error)
        return None

    def _get_processor(self) -> Processor:
        if self._processor is None:
            self._processor = self._factory()  # only now: an empty queue never touches Plex
        return self._processor

    def _fail_all(self, pending: dict[int, Job], error: PlexSyncError) -> None:
        for job in list(pending.values()):
            self._settle(Outcome(job, OutcomeKind.FAILED, error=error))
        pending.clear()

    def _settle(self, outcome: Outcome) -> None:
        applied = self.queue.apply(outcome, self.owner)
        self.counts[_counter(outcome, applied)] += 1
        _log_outcome(outcome, applied)
        self._batch_left = max(0, self._batch_left - 1)
        done = sum(self.counts.values())
        self.progress(done / max(1, done + self._batch_left + self._waiting))

    def _summary(self, start: float, stopped: str) -> dict[str, Any]:
        counts = self.queue.counts()
        seconds = round(self.clock() - start, 3)
        out: dict[str, Any] = {
            key: self.counts.get(key, 0) for key in (
                "synced", "unchanged", "skipped", "out_of_scope", "retried", "dead_lettered",
                "released", "disabled", "stale")
        }
        out.update(stopped=stopped, seconds=seconds, pending=counts["pending"],
                   retrying=counts["retrying"], dlq=counts["dlq"])
        self.progress(1.0)
        if stopped == "plex_down":
            waiting = out["pending"] + out["retrying"]
            jobs = "1 job waits" if waiting == 1 else f"{waiting} jobs wait"
            log.warning(log.redact(f"Plex unreachable; {jobs} for the next run "
                                   f"({self._outage.rstrip('.')})."))
        parts = [f"{out[k]} {label}" for k, label in (
            ("synced", "synced"), ("unchanged", "unchanged"), ("skipped", "skipped"),
            ("out_of_scope", "out of scope"), ("retried", "to retry"),
            ("dead_lettered", "dead-lettered"), ("released", "released"),
            ("disabled", "dropped (disabled)")) if out[k] or k in ("synced", "unchanged")]
        ending = {"empty": "queue empty", "timeout": "queue_timeout reached",
                  "plex_down": "Plex unreachable"}.get(stopped, stopped)
        log.info(f"Process Queue finished in {seconds:.1f} s ({ending}): {', '.join(parts)}; "
                 f"{out['pending']} pending, {out['retrying']} waiting to retry, "
                 f"{out['dlq']} in the dead-letter queue.")
        return out


class _ProcessorFailed(Exception):
    """Carries an exception the processor raised, to tell it from the queue's own errors."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


def _guarded(processor: Processor, batch: Batch) -> Generator[Outcome, None, None]:
    """The processor's outcomes; whatever the processor raises comes out as _ProcessorFailed."""
    try:
        outcomes = processor.process(batch)
    except Exception as exc:
        raise _ProcessorFailed(exc) from exc
    try:
        while True:
            try:
                outcome = next(outcomes)
            except StopIteration:
                return
            except Exception as exc:
                raise _ProcessorFailed(exc) from exc
            yield outcome
    finally:
        close = getattr(outcomes, "close", None)
        if close is not None:  # a generator left mid-batch: let it clean up now
            close()


def _counter(outcome: Outcome, applied: Applied) -> str:
    if applied.action == "retry":
        return "retried"
    if applied.action == "dead":
        return "dead_lettered"
    if applied.action in ("released", "stale"):
        return applied.action
    return outcome.kind.value


def _log_outcome(outcome: Outcome, applied: Applied) -> None:
    scene = f"scene {outcome.job.scene_id} →"
    record, kind = outcome.record, outcome.kind
    error = outcome.error
    reason = f"{error.error_class.value} {error}" if error is not None else ""
    if applied.action == "stale":
        log.warning(f"{scene} {kind.value}, but its lease had expired; left to the newer claim.")
    elif applied.action == "retry":
        log.info(f"{scene} retry in {applied.delay or 0:.0f} s: {reason}")
    elif applied.action == "dead":
        log.warning(f"{scene} dead-lettered: {reason}")
    elif applied.action == "released":
        log.info(f"{scene} released: {reason}")
    elif kind is OutcomeKind.SYNCED and record is not None:
        confidence = outcome.confidence or record.confidence
        line = f"{scene} synced (ratingKey {record.rating_key}, {confidence})"
        if outcome.warnings:
            log.warning(f"{line}; warnings: {'; '.join(outcome.warnings)}")
        else:
            log.info(line)
    elif kind is OutcomeKind.UNCHANGED and record is not None:
        log.info(f"{scene} unchanged (ratingKey {record.rating_key})")
    elif kind is OutcomeKind.OUT_OF_SCOPE:  # quiet by design (SPEC §6): counted in the status
        log.debug(f"{scene} out of scope: {outcome.detail or 'outside every Plex section'}")
    else:
        log.info(f"{scene} skipped: {outcome.detail or 'nothing to sync'}")
