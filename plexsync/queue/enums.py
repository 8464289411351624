"""The queue's vocabulary: job states and sources, enqueue results, settle actions.

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

    @staticmethod
    def waiting(attempts: int) -> JobState:
        """The state of a job that is given back or folded: retrying once it has failed."""
        return JobState.RETRYING if attempts > 0 else JobState.PENDING


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


class EnqueueStatus(StrEnum):
    """What an enqueue did to the scene's job."""

    NEW = "new"            # no job existed: one was inserted
    UPDATED = "updated"    # the event was folded into the waiting job
    DIRTY = "dirty"        # the job is being processed: it was marked to run once more


class SettleAction(StrEnum):
    """How `Storage.settle` ends a claimed job (see storage.Storage.settle)."""

    DONE = "done"                  # delete the job (storing the sync record, if any)
    OUT_OF_SCOPE = "out_of_scope"  # delete the job and mark the scene out of scope
    RETRY = "retry"                # retrying, attempts + 1, due at `retry_at`
    DEAD = "dead"                  # move the job to the dead-letter queue


class ObjectKind(StrEnum):
    """A Stash object whose name PlexSync writes to Plex items (docs/design.md#object-jobs)."""

    PERFORMER = "performer"   # actors
    TAG = "tag"               # genres and/or labels
    STUDIO = "studio"         # studio, and its collection
    GROUP = "group"           # collections


class ObjectAction(StrEnum):
    """What happened to the object. Folding keeps the strongest: a destroy, else a merge."""

    UPDATE = "update"     # renamed: Stash still links its scenes
    MERGE = "merge"       # tags merged into it: Stash links their scenes to it now
    DESTROY = "destroy"   # deleted: only PlexSync's records know its scenes

    @property
    def rank(self) -> int:
        return ("update", "merge", "destroy").index(self.value)
