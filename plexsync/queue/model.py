"""Domain types shared by the queue, the drain and the sync processor: plain frozen values
(the queue returns `Job`s, the processor turns them into `Outcome`s, the drain hands those
back). Nothing here touches SQLite, Stash or Plex.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple, Protocol, TypedDict

from plexsync.core.vocab import CLEAR_EMPTIES, CLEARABLE
from plexsync.errors import ErrorClass, PlexSyncError
from plexsync.queue.enums import JobSource as JobSource
from plexsync.queue.enums import JobState as JobState
from plexsync.queue.enums import ObjectAction, ObjectKind, SettleAction
from plexsync.queue.enums import OutcomeKind as OutcomeKind


@dataclass(frozen=True, slots=True)
class Job:
    """One pending sync of one scene (a row of the `jobs` table). At most one job per scene.

    `event_at` is the (epoch) time of the newest event folded into this job; a sync that fetched
    the scene after that time already covers it (late-update rule of docs/design.md#job-lifecycle).
    `cleared_fields` are the Stash fields the user explicitly emptied (named in `inputFields`
    with an empty value): only those may clear a Plex field, and only one listed in the
    scene's `SyncRecord.pushed_fields`.
    """

    id: int
    scene_id: int
    state: JobState
    source: JobSource
    event_at: float
    enqueued_at: float
    not_before: float
    attempts: int = 0
    cleared_fields: frozenset[str] = frozenset()
    last_error_class: ErrorClass | None = None
    first_failure_at: float | None = None
    lease_until: float | None = None
    last_error: str | None = None           # the redacted message of the last failure
    lease_owner: str | None = None          # the drain holding the lease (in_progress only)
    dirty: bool = False   # an event arrived while in_progress: settling keeps the job pending


@dataclass(frozen=True, slots=True)
class SyncRecord:
    """What PlexSync last pushed for a scene (a row of `sync_records`); the basis of
    skip-if-unchanged."""

    scene_id: int
    rating_key: int
    section_id: int
    stash_updated_at: str          # Stash's updated_at of the data that was pushed
    fetched_at: float              # epoch when that data was read from Stash
    values_hash: str               # hash of the wanted values that were pushed
    synced_at: float
    poster_key: str = ""           # identity of the screenshot pushed (its URL incl. ?t=)
    poster_hash: str = ""          # sha256 of the poster bytes uploaded
    # Plex's identity of the poster PlexSync uploaded (its ratingKey in the item's posters
    # listing); '' when unknown (a record from before migration V7, or not read back).
    poster_id: str = ""
    art_hash: str = ""
    collections_added: tuple[str, ...] = ()   # collections PlexSync created on the item
    confidence: str = "HIGH"
    # The Plex fields (our names: title, summary, date, studio, rating, actor, genre, label,
    # director, collection) that hold a non-empty value PlexSync pushed to this item: the only
    # ones an explicit clear in Stash may empty (a Plex agent's or user's value never is).
    pushed_fields: tuple[str, ...] = ()
    # Ownership by value (docs/design.md#ownership): (field, digest of the value PlexSync wrote
    # there) and (field, that value as text) for the fields above. A field of `pushed_fields`
    # with no digest (a record from before migration V5) is owned by name only.
    field_digests: tuple[tuple[str, str], ...] = ()
    pushed_values: tuple[tuple[str, str], ...] = ()
    # The scene's files (Stash paths) when it was synced: a record follows its file, so a
    # scene re-created for one of them inherits it (docs/design.md#identity).
    stash_files: tuple[str, ...] = ()
    # A row an upgrade displaced from an item two scenes shared (`records_on_item`): what that
    # scene pushed there, to be undone by the item's own scene. It holds nothing: no claim.
    displaced: bool = False
    # The (kind, Stash id, name) of the performers, tags, studio and groups the scene had when
    # this record was written (docs/design.md#object-jobs): how a deleted object's scenes are
    # found. None: not known here (a record read back from the queue); storing it keeps them.
    objects: frozenset[tuple[str, int, str]] | None = None

    def digests(self) -> dict[str, str]:
        """Owned field → the digest of what PlexSync wrote there ('' when owned by name only)."""
        known = dict(self.field_digests)
        return {name: known.get(name, "") for name in self.pushed_fields}

    def behind(self, updated_at: str) -> bool:
        """Whether Stash's `updated_at` is later than the one this record synced. Unknown or
        unreadable timestamps count as later: re-syncing costs a request, trusting a wrong
        "in step" loses an edit."""
        synced = self.stash_updated_at
        if not synced or not updated_at:
            return True
        try:
            return datetime.fromisoformat(updated_at) > datetime.fromisoformat(synced)
        except (ValueError, TypeError):
            return updated_at != synced


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A job that failed for good (a row of `dead_letters`), kept until recovered or purged.

    `cleared_fields` are the job's explicit clears: Recover DLQ puts them back into the queue
    with the job, so a clear that failed still clears once it succeeds. `error_class` is kept
    as stored text (a class written by another PlexSync version is still listed and counted).
    """

    scene_id: int
    error_class: str
    message: str
    attempts: int
    first_failure_at: float | None
    last_failure_at: float
    candidates: tuple[str, ...]
    source: JobSource
    created_at: float
    cleared_fields: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class ObjectJob:
    """A performer, tag, studio or group changed in Stash (a row of `object_jobs`): the drain
    expands it into jobs for the scenes it is on (docs/design.md#object-jobs).

    `merged_ids`: the tags merged into this one (MERGE); `version` counts the events folded
    into the job, so that the drain deletes it only if none arrived while it expanded it."""

    kind: ObjectKind
    object_id: int
    action: ObjectAction
    event_at: float
    enqueued_at: float
    not_before: float
    merged_ids: tuple[int, ...] = ()
    attempts: int = 0
    version: int = 1


def superseded(job: Job, record: SyncRecord | None) -> bool:
    """docs/design.md#job-lifecycle late update: the last sync read Stash after this event, so it
    already has it.

    Not when the job clears a field PlexSync owns in Plex: the sync that read the emptied field
    did not know it was cleared on purpose (only a clear may empty a Plex field), so it left
    it. Clears of fields PlexSync never wrote cannot empty anything and do not count (Stash's
    edit form names every field on every save).
    """
    if record is None or job.event_at >= record.fetched_at:
        return False
    owned = set(record.pushed_fields)
    return not any(name in owned for cleared in job.cleared_fields
                   for name in CLEAR_EMPTIES.get(CLEARABLE.get(cleared, ""), ()))


@dataclass(frozen=True, slots=True)
class Outcome:
    """The result of processing one job.

    Invariants: SYNCED and UNCHANGED carry a `record`; FAILED carries an `error`;
    `warnings` are per-field problems on an otherwise successful job (a poster upload failed).
    """

    job: Job
    kind: OutcomeKind
    record: SyncRecord | None = None
    error: PlexSyncError | None = None
    detail: str = ""
    warnings: tuple[str, ...] = ()
    candidates: tuple[str, ...] = ()
    confidence: str = ""
    seconds: float = 0.0


class Applied(NamedTuple):
    """What `JobQueue.apply` did with an outcome, and for RETRY the delay in seconds."""

    action: SettleAction
    delay: float | None = None


class ErrorInfo(TypedDict):
    """The failure a RETRY or DEAD settle stores: class, redacted message, candidates."""

    error_class: str
    message: str
    candidates: list[str]


def _no_records(rating_key: int) -> list[SyncRecord]:
    return []


@dataclass(frozen=True, slots=True)
class Batch:
    """A batch of claimed jobs with the sync records the queue holds for their scenes.

    `records_on_item(ratingKey)`: the records (of any scene) on a Plex item, read live from the
    queue, so the processor can tell an item another scene already holds."""

    jobs: Sequence[Job]
    records: Mapping[int, SyncRecord] = field(default_factory=dict)
    records_on_item: Callable[[int], list[SyncRecord]] = _no_records


class Processor(Protocol):
    """Turns a claimed batch into outcomes, one per job, yielded as each finishes.

    One job's failure is that job's FAILED outcome (a request failing while Plex answers:
    `PlexServerDown(outage=False)`). Raising `PlexAuth` or `PlexServerDown` (only once Plex's
    health probe failed) aborts the batch; drain.py says what becomes of its jobs.
    """

    def process(self, batch: Batch) -> Iterator[Outcome]: ...


class ProcessorFailed(Exception):
    """Carries an exception the processor raised, to tell it from the queue's own errors."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


def guarded(processor: Processor, batch: Batch) -> Generator[Outcome, None, None]:
    """The processor's outcomes; whatever the processor raises comes out as ProcessorFailed."""
    try:
        outcomes = processor.process(batch)
    except Exception as exc:
        raise ProcessorFailed(exc) from exc
    try:
        while True:
            try:
                outcome = next(outcomes)
            except StopIteration:
                return
            except Exception as exc:
                raise ProcessorFailed(exc) from exc
            yield outcome
    finally:
        close = getattr(outcomes, "close", None)
        if close is not None:  # a generator left mid-batch: let it clean up now
            close()
