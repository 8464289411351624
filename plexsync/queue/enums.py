"""The queue's vocabulary: what its database stores and its SQL compares (as parameters, never
literals). Standard library only: the hook imports this.
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
        """A row's source; an unknown one (a newer version's) reads as a task's: never dropped."""
        try:
            return cls(value)
        except ValueError:
            return cls.SYNC_TASK

    @property
    def urgent(self) -> bool:
        """An event from this source pulls its job forward to "due now": only a user's edit;
        a bulk task's event leaves a waiting retry's time alone (docs/design.md#job-lifecycle)."""
        return self is JobSource.HOOK

    @property
    def replaceable(self) -> bool:
        """A job from this source takes the source of an event folded into it. Only a hook's
        does: a task's job must never turn into a hook job, which `enabled = false` drops."""
        return self is JobSource.HOOK


class OutcomeKind(StrEnum):
    """What the sync found for one job (`model.Outcome`); the values name its stats counters."""

    SYNCED = "synced"              # a Plex write happened (fields and/or images)
    UNCHANGED = "unchanged"        # the item already matched; no write was needed
    SKIPPED = "skipped"            # late event, empty-metadata gate, scene deleted in Stash
    OUT_OF_SCOPE = "out_of_scope"  # the file lies outside every configured Plex section
    FAILED = "failed"


class SettleAction(StrEnum):
    """What became of a claimed job (`JobQueue.settle`, `JobQueue.apply`). RETRY and DEAD are
    also the names of the stats counters and of the drain's summary keys."""

    DONE = "done"                  # deleted (its sync record stored, if any)
    OUT_OF_SCOPE = "out_of_scope"  # deleted, the scene marked out of scope
    RETRY = "retried"              # retrying, attempts + 1, due at `retry_at`
    DEAD = "dead_lettered"         # moved to the dead-letter queue
    RELEASED = "released"          # given back uncounted (apply only: PlexAuth)
    STALE = "stale"                # the lease was no longer ours: only the record was stored


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
