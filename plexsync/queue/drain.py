"""Process Queue (docs/design.md#job-lifecycle, docs/tasks.md): drain the queue through a
`model.Processor`.

Invariants and failure behaviour:
- One drain at a time: a non-blocking lock on `<data_dir>/drain.lock`. A second drain returns
  at once ("another drain is running") while the holder's heartbeat is fresh; when it is not,
  the holder is finishing, so the newcomer waits a moment rather than strand a new job.
- Holding the lock, the drain releases jobs leased by anyone else (their drain was killed:
  Stash stops tasks with SIGKILL). Jobs are claimed in leased batches and acked one by one, so
  a kill loses at most the in-flight work, which the next drain redoes (at least once).
- The heartbeat is cleared only in the transaction that finds no due job
  (`DrainMarkers.finish`), so a job queued meanwhile is never left without a drain.
- The drain ends when no job is due now and never sleeps for later work (Stash runs one job at
  a time); the task then arms the wake-up timer for `JobQueue.next_due_at`.
- Late events (older than the data the last sync read) are skipped without a request unless
  they carry explicit clears. Released jobs are never charged and keep their place in line.
- Batch-level errors: PlexAuth or ConfigError release the rest and are raised (the task fails
  with one sentence). PlexServerDown (raised only after the health probe failed; one item's
  failure is that job's FAILED outcome) releases the rest and stops the drain with one warning.
  Any other processor error fails each unprocessed job (retry or DLQ by backoff); a job the
  batch yields no outcome for fails as Internal.
- An error of the queue itself gives the claimed jobs back (best effort: else their leases
  expire and the next drain releases them) and is raised; no job is charged for it.
- Stash unreachable or refusing credentials (`StashError.unreachable`): the rest is released
  uncharged and the drain stops ("stash_down"); the timer retries Stash on a backoff.
- `NO_ANSWER_RUN` items in a row with no answer at all from Plex (read timeout, connection
  failure) while `/identity` answers is a hung Plex, not the items: their outcomes are held,
  then released uncharged with the rest, the breaker opens (`guard.trip`), the drain stops
  ("plex_down"). Any other outcome ends the run and the held failures count as the items'.
- `queue_timeout` is checked after every outcome; the rest of the batch is released uncharged.
- The optional `OutageListener` is the breaker's guard (plexsync/resilience/gate.py, a layer
  above this one, hence the protocol): it decides whether a batch-level PlexServerDown stops
  the drain, sees every outcome, and paces jobs after a recovery (sub-second waits only).
- Hook jobs are dropped (one info line) when `enabled` is off. Object jobs
  (docs/design.md#object-jobs) are expanded into scene jobs by `expand` before every claim,
  under the drain lock; the drain finishes only when neither kind is due.
- Counters, log lines and the summary are `DrainReport`'s, which never changes what the drain
  does.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from plexsync.core import datadir
from plexsync.core.log import log
from plexsync.errors import (
    ConfigError,
    Internal,
    PlexAuth,
    PlexServerDown,
    PlexSyncError,
    StashError,
)
from plexsync.queue.drain_report import DrainReport, StopReason
from plexsync.queue.job_queue import JobQueue
from plexsync.queue.markers import DrainState
from plexsync.queue.model import (
    Batch,
    Job,
    JobSource,
    Outcome,
    OutcomeKind,
    Processor,
    ProcessorFailed,
    guarded,
    superseded,
)

LOCK_NAME = "drain.lock"
BATCH_SIZE = 25
LEASE_SECONDS = 600.0
HEARTBEAT_EVERY = 30.0
LOCK_POLLS = 100          # × LOCK_POLL seconds waiting for a finishing drain to let go
LOCK_POLL = 0.1


# This many items in a row whose requests got no answer at all (read timeout, connection
# failure) while Plex's /identity answers: a hung or overloaded Plex, so the breaker opens.
NO_ANSWER_RUN = 3


class OutageListener(Protocol):
    def outage(self, error: BaseException, waiting: int) -> bool: ...   # True = stop
    def trip(self, waiting: int) -> None: ...                           # open the breaker now
    def outcome(self, outcome: Outcome) -> None: ...
    def pace(self) -> None: ...


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
        guard: OutageListener | None = None,
        expand: Callable[[], object] | None = None,
    ) -> None:
        """`progress` feeds the report's progress bar; `guard` is the outage breaker's say in
        the drain (module docstring). `expand` turns due object jobs into scene jobs
        (sync/objects.py); it runs before every claim. A drain over a database that may hold
        object jobs needs it: a due object job keeps the drain from finishing (no lost
        wake-up), and only `expand` ever settles one."""
        self.guard = guard
        self.expand = expand
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
        self.report = DrainReport(queue, self.clock, progress)
        self.owner = owner or f"drain-{os.getpid()}-{os.urandom(3).hex()}"
        self.markers = queue.markers
        self._last_beat = 0.0
        self._outage = ""                    # why Plex was unreachable (stopped "plex_down")
        self._held: list[Outcome] = []       # a run of no-answer failures, not settled yet
        self._deadline: float | None = None

    # ------------------------------------------------------------------ lifecycle

    def run(self) -> dict[str, Any]:
        """Drain until empty, `queue_timeout`, or a stop; returns the summary (task output)."""
        from filelock import FileLock, Timeout

        if os.path.isdir(self.lock_path):   # a folder where the lock file belongs
            datadir.move_aside(self.lock_path, "a folder in its place")
        lock = FileLock(self.lock_path)
        for poll in range(LOCK_POLLS + 1):
            try:
                lock.acquire(timeout=0)
                break
            except Timeout:
                if poll == LOCK_POLLS or self.markers.state() is DrainState.RUNNING:
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
        self.markers.begin(self.owner)
        self._last_beat = start
        finished = False
        try:
            orphans = self.queue.release_orphans(self.owner)
            if orphans:
                log.info(f"Picked up {orphans} job(s) left claimed by a drain that was stopped.")
            stopped = self._loop(start)
            finished = stopped is StopReason.EMPTY
        finally:
            if not finished:
                self._end_quietly()
        return self.report.stop(stopped, self.clock() - start, self._outage)

    def _loop(self, start: float) -> StopReason:
        deadline = self._deadline = start + self.queue_timeout if self.queue_timeout > 0 else None
        while True:
            now = self.clock()
            if deadline is not None and now >= deadline:
                return StopReason.TIMEOUT
            if self.expand is not None:   # a renamed performer's scenes join the queue
                self.expand()
            jobs = self.queue.claim(self.batch_size, self.lease_seconds, self.owner)
            if jobs:
                try:
                    self.report.claimed(len(jobs))
                    self._beat(force=True)
                    stop = self._process(jobs)
                except BaseException:
                    self._give_back(jobs)
                    raise
                if stop is not None:
                    return stop
                continue
            if self.markers.finish(self.owner):
                return StopReason.EMPTY

    def _beat(self, force: bool = False) -> None:
        now = self.clock()
        if force or now - self._last_beat >= HEARTBEAT_EVERY:
            self.markers.heartbeat(self.owner)
            self.queue.renew(self.owner, self.lease_seconds)
            self._last_beat = now

    def _give_back(self, jobs: list[Job]) -> None:
        """After an error: release the claimed jobs still leased to us (best effort)."""
        try:
            released = self.queue.release(jobs, self.owner)
        except Exception as exc:
            log.debug(f"could not give back {len(jobs)} claimed job(s) ({exc}); their leases "
                      "expire, and the next Process Queue takes them at once")
            return
        if released:
            self.report.released(released)
            log.debug(f"gave back {released} claimed job(s) without counting an attempt")

    def _end_quietly(self) -> None:
        try:
            self.markers.end(self.owner)
        except PlexSyncError as exc:  # the stop reason matters more than the marker
            log.debug(f"could not clear the drain heartbeat: {exc}")

    # ------------------------------------------------------------------ one batch

    def _process(self, jobs: list[Job]) -> StopReason | None:
        """Process one claimed batch; returns why the drain must stop, or None to go on."""
        if not self.enabled:
            dropped = [j for j in jobs if j.source is JobSource.HOOK]
            for job in dropped:
                self.queue.apply(Outcome(job, OutcomeKind.SKIPPED, detail="disabled"),
                                 self.owner)
            self.report.dropped(len(dropped))
            jobs = [j for j in jobs if j.source is not JobSource.HOOK]
        self.report.batch(len(jobs))
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
            self._release(todo)
            raise
        known = {j.scene_id: records[j.scene_id] for j in todo if j.scene_id in records}
        return self._run_batch(processor, Batch(todo, known, self.queue.records_on_item))

    def _run_batch(self, processor: Processor, batch: Batch) -> StopReason | None:
        """Apply each outcome as it arrives; handle a batch-level failure (module docstring).

        Only what the processor raises is the batch's failure: an error of the queue itself
        (applying an outcome, renewing leases) propagates to `_loop`, which gives jobs back."""
        pending = {job.id: job for job in batch.jobs}
        outcomes = guarded(processor, batch)
        failure: Exception | None = None
        try:
            for outcome in outcomes:
                if pending.pop(outcome.job.id, None) is None:
                    log.warning(f"ignored an outcome for job {outcome.job.id}: not in this batch")
                    continue
                if outcome.kind is OutcomeKind.FAILED and isinstance(outcome.error, PlexAuth):
                    self._release([*self._held_jobs(), outcome.job, *pending.values()])
                    raise outcome.error
                if outcome.kind is OutcomeKind.FAILED and _stash_away(outcome.error):
                    # Stash itself is away: not this job's fault, nor the rest's
                    self._release([*self._held_jobs(), outcome.job, *pending.values()])
                    self._outage = str(outcome.error)
                    return StopReason.STASH_DOWN
                if _no_answer(outcome):   # maybe the start of a run: hold it uncharged
                    self._held.append(outcome)
                    if len(self._held) < NO_ANSWER_RUN:
                        continue
                    return self._busy_plex(pending)
                self._settle_held()   # the run broke: those failures were the items' own
                self._settle(outcome)
                self._beat()
                if self.guard is not None:   # paces the next job, in this batch or the next
                    self.guard.pace()
                if self._deadline is not None and self.clock() >= self._deadline:
                    # queue_timeout: stop mid-batch; the unprocessed jobs go back uncounted
                    self._settle_held()
                    self._release(pending.values())
                    return StopReason.TIMEOUT
        except ProcessorFailed as failed:
            failure = failed.error
        except BaseException:
            self._held.clear()   # still leased to us: `_loop` gives the whole batch back
            raise
        finally:
            outcomes.close()  # a processor left mid-batch cleans up now
        if failure is not None:
            return self._batch_failed(failure, pending)
        self._settle_held()
        if pending:
            self._fail_all(pending, Internal("the sync returned no outcome for this job"))
        return None

    def _held_jobs(self) -> list[Job]:
        jobs = [o.job for o in self._held]
        self._held.clear()
        return jobs

    def _settle_held(self) -> None:
        held, self._held = self._held, []
        for outcome in held:
            self._settle(outcome)

    def _busy_plex(self, pending: dict[int, Job]) -> StopReason:
        """`NO_ANSWER_RUN` items in a row got no answer from a Plex whose `/identity` still
        answers: Plex's failure (hung, overloaded), not theirs. Every held job and the rest go
        back uncounted, and the breaker opens (the timer probes and drains later)."""
        error = self._held[-1].error
        self._release([*self._held_jobs(), *pending.values()])
        self._outage = (f"{NO_ANSWER_RUN} items in a row got no answer from Plex ({error}); "
                        "Plex is treated as down")
        if self.guard is not None:
            counts = self.queue.counts()
            self.guard.trip(counts["pending"] + counts["retrying"])
        return StopReason.PLEX_DOWN

    def _batch_failed(self, error: Exception, pending: dict[int, Job]) -> StopReason | None:
        """The processor raised `error` for the batch; `pending` jobs got no outcome yet."""
        if isinstance(error, PlexAuth | ConfigError):  # nothing in it can succeed: count nothing
            self._release([*self._held_jobs(), *pending.values()])
            raise error
        if _stash_away(error):
            self._release([*self._held_jobs(), *pending.values()])
            self._outage = str(error)
            return StopReason.STASH_DOWN
        if isinstance(error, PlexServerDown):  # Plex itself is down (the processor probed it)
            self._release([*self._held_jobs(), *pending.values()])
            self._outage = str(error)
            if self.guard is not None:
                counts = self.queue.counts()
                if not self.guard.outage(error, counts["pending"] + counts["retrying"]):
                    return None   # the breaker is still closed: try again
            return StopReason.PLEX_DOWN
        if not isinstance(error, PlexSyncError):  # a bug in the processor: fail its jobs
            import traceback

            log.debug("".join(traceback.format_exception(error)))
            error = Internal(f"the sync failed: {type(error).__name__}: {error}")
        self._settle_held()
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
        self.report.outcome(outcome, self.queue.apply(outcome, self.owner))
        if self.guard is not None:
            self.guard.outcome(outcome)

    def _release(self, jobs: Iterable[Job]) -> None:
        """Give jobs back uncounted (not their fault): timeout, outage, auth, config."""
        self.report.released(self.queue.release(jobs, self.owner))


def _no_answer(outcome: Outcome) -> bool:
    """A job's own failure with no HTTP answer from Plex (errors.PlexServerDown.transport)."""
    error = outcome.error
    return (outcome.kind is OutcomeKind.FAILED and isinstance(error, PlexServerDown)
            and error.transport)


def _stash_away(error: BaseException | None) -> bool:
    """Stash unreachable or refusing the credentials (errors.StashError.unreachable)."""
    return isinstance(error, StashError) and error.unreachable
