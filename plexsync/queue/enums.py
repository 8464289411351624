"""The queue's vocabulary: job states and sources, and what settling a job did.

These values are what the queue database stores and what its SQL compares against (they are
passed as query parameters, never written as literals). Standard library `enum` only: the hook
imports this (tests/hook/test_import_budget.py).
"""

from __future__ import annotations

from enum import StrEnum


class JobState(StrEnum):
    PENDING = "pending"        # due at `not_before`; attempts == 0
    RETRYING = "retrying"      # pending again after a transient failure; attempts > 0
    IN_PROGRESS = "in_progress"  # claimed by a drain until `lease_until`


class JobSource(StrEnum):
    HOOK = "hook"
    SYNC_TASK = "sync"          # Sync All / Sync Recent
    RECONCILE = "reconcile"
    RECOVER = "recover"         # re-queued from the dead-letter queue

    @classmethod
    def stored(cls, value: str) -> JobSource:
        """The source a database row holds; one written by a newer version reads as a task's
        job (never droppable, never urgent)."""
        try:
            return cls(value)
        except ValueError:
            return cls.SYNC_TASK

    @property
    def urgent(self) -> bool:
        """An event from this source pulls its scene's job forward to "due now".

        Only a hook (a user's edit, waiting to show up in Plex) is urgent; a bulk task's event
        folded into a job waiting for a retry leaves that retry's time alone (docs/design.md,
        job lifecycle). The one definition the hook and `JobQueue.enqueue` share.
        """
        return self is JobSource.HOOK

    @property
    def replaceable(self) -> bool:
        """A job from this source takes the source of an event folded into it. Only a hook's
        does: a task's job must never turn into a hook job, which `enabled = false` drops."""
        return self is JobSource.HOOK


class SettleAction(StrEnum):
    """What became of a claimed job (`JobQueue.settle`, `JobQueue.apply`). RETRY and DEAD are
    also the names of the stats counters and of the drain's summary keys."""

    DONE = "done"                  # deleted (its sync record stored, if any)
    OUT_OF_SCOPE = "out_of_scope"  # deleted, the scene marked out of scope
    RETRY = "retried"              # retrying, attempts + 1, due at `retry_at`
    DEAD = "dead_lettered"         # moved to the dead-letter queue
    RELEASED = "released"          # given back uncounted (apply only: PlexAuth)
    STALE = "stale"                # the lease was no longer ours: only the record was stored
