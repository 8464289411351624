"""What a drain reports, for the person reading Stash's log: one line per job outcome, the
counters of the task's output, the progress bar, and the summary line. Never raises for a
reporting problem, and never changes what the drain does.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from enum import StrEnum
from typing import Any

from plexsync.core.log import log
from plexsync.queue.enums import SettleAction
from plexsync.queue.job_queue import JobQueue
from plexsync.queue.model import Applied, Outcome, OutcomeKind

PROGRESS_RECOUNT = 30.0


class StopReason(StrEnum):
    """Why a drain stopped (the `stopped` key of its output)."""

    EMPTY = "empty"            # no due job left (the heartbeat was cleared)
    TIMEOUT = "timeout"        # `queue_timeout` reached; the rest was released uncounted
    PLEX_DOWN = "plex_down"    # Plex itself is unreachable; the rest waits for the next run
    STASH_DOWN = "stash_down"  # Stash is away or refuses the credentials; the rest waits


DISABLED = "disabled"   # hook jobs dropped while PlexSync is off: no job state of their own
# The summary's counters (the task's output keys) and how its log line names them.
_LABELS = {OutcomeKind.SYNCED: "synced", OutcomeKind.UNCHANGED: "unchanged",
           OutcomeKind.SKIPPED: "skipped", OutcomeKind.OUT_OF_SCOPE: "out of scope",
           SettleAction.RETRY: "to retry", SettleAction.DEAD: "dead-lettered",
           SettleAction.RELEASED: "released", DISABLED: "dropped (disabled)",
           SettleAction.STALE: ""}
SUMMARY_KEYS = tuple(str(key) for key in _LABELS)
_ENDINGS = {StopReason.EMPTY: "queue empty", StopReason.TIMEOUT: "queue_timeout reached",
            StopReason.PLEX_DOWN: "Plex unreachable", StopReason.STASH_DOWN: "Stash unreachable"}


class DrainReport:
    """Counters, log lines, progress and the summary of one drain.

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

    def claimed(self, count: int) -> None:
        """A batch of `count` was claimed: re-estimate the jobs queued behind it."""
        now = self.clock()
        if self._counted_at is None or now - self._counted_at >= PROGRESS_RECOUNT:
            counts = self.queue.counts()
            self._waiting = counts["pending"] + counts["retrying"]
            self._counted_at = now
        else:
            self._waiting = max(0, self._waiting - count)

    def dropped(self, count: int) -> None:
        if count and not self.counts[DISABLED]:  # one line per drain, the total in summary
            log.info("PlexSync is disabled (Settings → Plugins → PlexSync → Enabled): "
                     "dropping queued hook jobs; Sync and Reconcile jobs still run.")
        self.counts[DISABLED] += count

    def batch(self, size: int) -> None:
        self._batch_left = size

    def outcome(self, outcome: Outcome, applied: Applied) -> None:
        self.counts[_counter(outcome, applied)] += 1
        _log_outcome(outcome, applied)
        self._batch_left = max(0, self._batch_left - 1)
        done = sum(self.counts.values())
        self.progress(done / max(1, done + self._batch_left + self._waiting))

    def released(self, count: int) -> None:
        """`count` claimed jobs were given back uncounted (timeout, outage, auth, error)."""
        self.counts[SettleAction.RELEASED] += count

    def stop(self, reason: StopReason, seconds: float, outage: str) -> dict[str, Any]:
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
        parts = [f"{out[k]} {label}" for k, label in _LABELS.items() if label and (
            out[k] or k in (OutcomeKind.SYNCED, OutcomeKind.UNCHANGED))]
        log.info(f"Process Queue finished in {seconds:.1f} s ({_ENDINGS[reason]}): "
                 f"{', '.join(parts)}; {out['pending']} pending, {out['retrying']} waiting to "
                 f"retry, {out['dlq']} in the dead-letter queue.")
        return out


def _counter(outcome: Outcome, applied: Applied) -> str:
    """The summary counter one applied outcome adds to: what the queue did with it, or, for a
    job it finished, what the sync found."""
    if applied.action in (SettleAction.DONE, SettleAction.OUT_OF_SCOPE):
        return outcome.kind.value
    return applied.action.value


def _log_outcome(outcome: Outcome, applied: Applied) -> None:
    """The one log line of a job's outcome."""
    scene = f"scene {outcome.job.scene_id} →"
    record, kind = outcome.record, outcome.kind
    error = outcome.error
    reason = f"{error.error_class.value} {error}" if error is not None else ""
    if applied.action is SettleAction.STALE:
        log.warning(f"{scene} {kind.value}, but its lease had expired; left to the newer claim.")
    elif applied.action is SettleAction.RETRY:
        log.info(f"{scene} retry in {applied.delay or 0:.0f} s: {reason}")
    elif applied.action is SettleAction.DEAD:
        log.warning(f"{scene} dead-lettered: {reason}")
    elif applied.action is SettleAction.RELEASED:
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
