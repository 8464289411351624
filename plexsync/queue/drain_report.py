"""What a drain tells the world: the listener protocol and its logging implementation.

The drain engine (drain.py) reads as the algorithm; everything it reports goes through a
`DrainListener` (as pybreaker's circuit breaker reports through its listeners): one log line
per job outcome, the counters of the task's output, the progress bar, and the summary line.
`DrainLog` is the implementation the plugin uses: it logs for the person reading Stash's log
(one line per outcome, counts at the end) and never raises for a reporting problem.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from enum import StrEnum
from typing import Any, Protocol

from plexsync.core.log import log
from plexsync.queue.job_queue import Applied, AppliedAction, JobQueue
from plexsync.queue.model import Outcome, OutcomeKind

PROGRESS_RECOUNT = 30.0


class StopReason(StrEnum):
    """Why a drain stopped (the `stopped` key of its output)."""

    EMPTY = "empty"            # no due job left (the heartbeat was cleared)
    TIMEOUT = "timeout"        # `queue_timeout` reached; the rest was released uncounted
    PLEX_DOWN = "plex_down"    # Plex itself is unreachable; the rest waits for the next run
    STASH_DOWN = "stash_down"  # Stash is away or refuses the credentials; the rest waits


class DrainListener(Protocol):
    """The drain's events, in the order they happen. None may change what the drain does."""

    def on_busy(self) -> None:
        """Another drain holds the lock and will sync the queued scenes; this one stops."""

    def on_orphans(self, count: int) -> None:
        """`count` jobs claimed by a killed drain were released at the start."""

    def on_claimed(self, count: int) -> None:
        """A batch of `count` jobs was claimed."""

    def on_dropped(self, count: int) -> None:
        """`count` hook jobs of the batch were dropped because PlexSync is disabled."""

    def on_batch(self, size: int) -> None:
        """`size` jobs of the batch are about to be settled one by one."""

    def on_outcome(self, outcome: Outcome, applied: Applied) -> None:
        """One job's outcome was applied to the queue (`applied` says how)."""

    def on_released(self, count: int) -> None:
        """`count` claimed jobs were given back uncounted (timeout, outage, auth, error)."""

    def on_given_back(self, count: int) -> None:
        """After an error, `count` claimed jobs were given back uncounted."""

    def on_give_back_failed(self, count: int, error: Exception) -> None:
        """After an error, giving `count` jobs back failed too: their leases will expire."""

    def on_stray_outcome(self, job_id: int) -> None:
        """The processor yielded an outcome for a job not in the batch (ignored)."""

    def on_processor_bug(self, error: BaseException) -> None:
        """The processor raised something that is not a PlexSyncError (its jobs fail)."""

    def on_heartbeat_stuck(self, error: Exception) -> None:
        """Clearing the heartbeat after an early stop failed (it goes stale by itself)."""

    def on_stop(self, reason: StopReason, seconds: float, outage: str) -> dict[str, Any]:
        """The drain stopped after `seconds` (`outage`: why Plex was unreachable, if it
        was); returns the task's output (the summary)."""


SUMMARY_KEYS = ("synced", "unchanged", "skipped", "out_of_scope", "retried", "dead_lettered",
                "released", "disabled", "stale")
_LABELS = (("synced", "synced"), ("unchanged", "unchanged"), ("skipped", "skipped"),
           ("out_of_scope", "out of scope"), ("retried", "to retry"),
           ("dead_lettered", "dead-lettered"), ("released", "released"),
           ("disabled", "dropped (disabled)"))
_ENDINGS = {StopReason.EMPTY: "queue empty", StopReason.TIMEOUT: "queue_timeout reached",
            StopReason.PLEX_DOWN: "Plex unreachable", StopReason.STASH_DOWN: "Stash unreachable"}


class DrainLog:
    """The plugin's listener: Stash log lines, counters, progress and the summary.

    Progress needs the queue's size: it is counted at most every `PROGRESS_RECOUNT` seconds
    and estimated in between (`counts()` runs five aggregates).
    """

    def __init__(
        self, queue: JobQueue, clock: Callable[[], float],
        progress: Callable[[float], None] = log.progress,
    ) -> None:
        self.queue = queue
        self.clock = clock
        self.progress = progress
        self.counts: Counter[str] = Counter()
        self._waiting = 0                    # queued jobs outside the current batch (estimate)
        self._counted_at: float | None = None
        self._batch_left = 0                 # jobs of the current batch not settled yet

    def on_busy(self) -> None:
        log.info("Another Process Queue is already running; it will sync the queued scenes. "
                 "Nothing to do here.")

    def on_orphans(self, count: int) -> None:
        log.info(f"Picked up {count} job(s) left claimed by a drain that was stopped.")

    def on_claimed(self, count: int) -> None:
        """The jobs still queued behind a batch just claimed, for the progress bar."""
        now = self.clock()
        if self._counted_at is None or now - self._counted_at >= PROGRESS_RECOUNT:
            counts = self.queue.counts()
            self._waiting = counts["pending"] + counts["retrying"]
            self._counted_at = now
        else:
            self._waiting = max(0, self._waiting - count)

    def on_dropped(self, count: int) -> None:
        if count and not self.counts["disabled"]:  # one line per drain, the total in summary
            log.info("PlexSync is disabled (Settings → Plugins → PlexSync → Enabled): "
                     "dropping queued hook jobs; Sync and Reconcile jobs still run.")
        self.counts["disabled"] += count

    def on_batch(self, size: int) -> None:
        self._batch_left = size

    def on_outcome(self, outcome: Outcome, applied: Applied) -> None:
        self.counts[_counter(outcome, applied)] += 1
        _log_outcome(outcome, applied)
        self._batch_left = max(0, self._batch_left - 1)
        done = sum(self.counts.values())
        self.progress(done / max(1, done + self._batch_left + self._waiting))

    def on_released(self, count: int) -> None:
        self.counts["released"] += count

    def on_given_back(self, count: int) -> None:
        self.counts["released"] += count
        log.debug(f"gave back {count} claimed job(s) without counting an attempt")

    def on_give_back_failed(self, count: int, error: Exception) -> None:
        log.debug(f"could not give back {count} claimed job(s) ({error}); their leases "
                  "expire, and the next Process Queue takes them at once")

    def on_stray_outcome(self, job_id: int) -> None:
        log.warning(f"ignored an outcome for job {job_id}: not in this batch")

    def on_processor_bug(self, error: BaseException) -> None:
        import traceback

        log.debug("".join(traceback.format_exception(error)))

    def on_heartbeat_stuck(self, error: Exception) -> None:
        log.debug(f"could not clear the drain heartbeat: {error}")

    def on_stop(self, reason: StopReason, seconds: float, outage: str) -> dict[str, Any]:
        counts = self.queue.counts()
        seconds = round(seconds, 3)
        out: dict[str, Any] = {key: self.counts.get(key, 0) for key in SUMMARY_KEYS}
        out.update(stopped=reason.value, seconds=seconds, pending=counts["pending"],
                   retrying=counts["retrying"], dlq=counts["dlq"])
        self.progress(1.0)
        if reason is StopReason.PLEX_DOWN:
            waiting = out["pending"] + out["retrying"]
            jobs = "1 job waits" if waiting == 1 else f"{waiting} jobs wait"
            log.warning(log.redact(f"Plex unreachable; {jobs} for the next run "
                                   f"({outage.rstrip('.')})."))
        if reason is StopReason.STASH_DOWN:
            waiting = out["pending"] + out["retrying"]
            log.warning(log.redact(f"{outage.rstrip('.')}. Process Queue stops; {waiting} "
                                   "job(s) wait without using retries, and the wake-up timer "
                                   "asks Stash again until it answers."))
        parts = [f"{out[k]} {label}" for k, label in _LABELS
                 if out[k] or k in ("synced", "unchanged")]
        log.info(f"Process Queue finished in {seconds:.1f} s ({_ENDINGS[reason]}): "
                 f"{', '.join(parts)}; {out['pending']} pending, {out['retrying']} waiting to "
                 f"retry, {out['dlq']} in the dead-letter queue.")
        return out


def _counter(outcome: Outcome, applied: Applied) -> str:
    """The summary counter one applied outcome adds to."""
    if applied.action is AppliedAction.RETRY:
        return "retried"
    if applied.action is AppliedAction.DEAD:
        return "dead_lettered"
    if applied.action in (AppliedAction.RELEASED, AppliedAction.STALE):
        return applied.action.value
    return outcome.kind.value


def _log_outcome(outcome: Outcome, applied: Applied) -> None:
    """The one log line of a job's outcome."""
    scene = f"scene {outcome.job.scene_id} →"
    record, kind = outcome.record, outcome.kind
    error = outcome.error
    reason = f"{error.error_class.value} {error}" if error is not None else ""
    if applied.action is AppliedAction.STALE:
        log.warning(f"{scene} {kind.value}, but its lease had expired; left to the newer claim.")
    elif applied.action is AppliedAction.RETRY:
        log.info(f"{scene} retry in {applied.delay or 0:.0f} s: {reason}")
    elif applied.action is AppliedAction.DEAD:
        log.warning(f"{scene} dead-lettered: {reason}")
    elif applied.action is AppliedAction.RELEASED:
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
    # quiet by design (docs/design.md#matching): counted in the status
    elif kind is OutcomeKind.OUT_OF_SCOPE:
        log.debug(f"{scene} out of scope: {outcome.detail or 'outside every Plex section'}")
    else:
        log.info(f"{scene} skipped: {outcome.detail or 'nothing to sync'}")
