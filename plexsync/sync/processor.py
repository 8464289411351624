"""The sync `Processor`: a claimed batch of jobs → one outcome per job
(docs/design.md#job-lifecycle to field-mapping).

Per batch: ONE Stash query (the drain has already skipped late events, `model.superseded`,
before the batch reaches a processor). Per job, in order:
- scene gone from Stash → SKIPPED; empty metadata (quality gate) → SKIPPED;
- Stash `updated_at` not newer than the record's, same values hash and same screenshot key, no
  retired field still owned, and a section listing read in this drain (once per drain, no item
  request) still resolving the scene's files to the recorded item → UNCHANGED (reconcile and
  recover jobs always look at Plex; recover matches against a listing read in this drain);
- the Plex item: the record's ratingKey when the item still holds one of the scene's files at
  exactly its mapped path (no index needed), else the index + matcher: OUT_OF_SCOPE;
  PlexNotFound (and, with `scan_missing`, one folder scan per 10 minutes); LowConfidence
  under `strict_matching` (FAILED with candidates), or the best candidate otherwise (logged);
- ONE `GET /library/metadata/{rk}` that must still hold the matched file (else one listing
  and a new match: never a write to a stale item); other scenes' records there inherited (a
  deleted scene's) or undone (ownership.py); images (only when changed); ONE edit PUT with
  only what differs → SYNCED (something was written) or UNCHANGED, with a new SyncRecord.

Plex is connected lazily: a batch that needs no Plex request makes none. A single job's
failure is yielded as FAILED (non-PlexSync exceptions become `Internal`); `PlexAuth` and
`PlexServerDown` abort the batch, and so does `ConfigError` (no job of it could succeed: an
unknown `plex_library`, no movie library, not a Plex server, a refused redirect).

A `PlexServerDown` is an outage only if Plex itself is down: the processor then asks the cheap
health probe (`PlexClient.identity()`, one `GET /identity`, short timeout). Probe fails → raise
(the drain stops, nothing counted). Probe answers → the request failed for this item alone (a
proxy 504, a stuck item): that job is yielded FAILED with `PlexServerDown(outage=False)` (limited
retries, then the DLQ) and the batch goes on. If what failed was the batch's Plex set-up
(connect, sections, library index), the later jobs of the batch that need Plex fail with that
same error at once, without another request or probe; the next batch tries again.
Clears follow ownership by value (docs/design.md#field-ownership, sync/owned.py).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, NamedTuple, TypeVar

from plexsync.core.context import TaskContext
from plexsync.core.log import log, quote_path
from plexsync.core.paths import FsPath
from plexsync.core.vocab import CLEARABLE
from plexsync.errors import (
    ConfigError,
    Internal,
    LowConfidence,
    PlexAuth,
    PlexNotFound,
    PlexServerDown,
    PlexSyncError,
)
from plexsync.plex.index import LibraryIndex
from plexsync.plex.model import PlexItem
from plexsync.queue.model import (
    Batch,
    Job,
    JobSource,
    Outcome,
    OutcomeKind,
    Processor,
    SyncRecord,
)
from plexsync.sync import fields, images, matcher, plex_origin
from plexsync.sync.diff import Edit, diff
from plexsync.sync.objects import scene_objects
from plexsync.sync.owned import merged
from plexsync.sync.ownership import Claims, Ownership, RecordsOnItem, trusted
from plexsync.sync.plex_link import PlexLink, SetupDown, not_an_outage
from plexsync.sync.ports import PlexPort

ALWAYS_LOOK = frozenset({JobSource.RECONCILE, JobSource.RECOVER})
T = TypeVar("T")


def build_processor(ctx: TaskContext) -> Processor:
    """The drain's entry point (imported lazily by tasks/process_queue.py)."""
    return SyncProcessor(ctx)


class SyncProcessor:
    """The drain's `Processor`. `plex`: any `PlexPort` (default: a `PlexClient` for the
    settings, built on first need)."""

    def __init__(self, ctx: TaskContext, plex: PlexPort | None = None) -> None:
        self._ctx = ctx
        self._settings = ctx.settings
        self._link = PlexLink(ctx, plex)
        # One item belongs to one scene: owner checks, cached for this drain (ownership.py).
        self._ownership = Ownership(ctx.stash, self._settings.path_map)
        self._records_on_item: RecordsOnItem = lambda rating_key: []
        self._claims = Claims()   # other scenes' records on the item (ownership.guard)
        self._plex_ratings: dict[str, int] | None = None   # sync/plex_origin.py

    def plex(self) -> PlexPort:
        return self._link.plex()

    def index(self) -> LibraryIndex:
        return self._link.index()

    # ------------------------------------------------------------------ the batch
    def process(self, batch: Batch) -> Iterator[Outcome]:
        self._records_on_item = batch.records_on_item
        pending = list(batch.jobs)
        if not pending:
            return
        fetched_at = self._ctx.clock()
        try:
            scenes = self._ctx.stash.scenes_by_id([j.scene_id for j in pending])
        except ConfigError:   # e.g. a redirect refused on the way to Stash: no job's fault
            raise
        except PlexSyncError as exc:
            for job in pending:
                yield Outcome(job, OutcomeKind.FAILED, error=exc, detail=str(exc))
            return
        for job in pending:
            started = time.monotonic()
            scene = scenes.get(job.scene_id)
            try:
                outcome = self._one(job, scene, batch.records.get(job.scene_id), fetched_at)
                if outcome.record is not None and scene is not None:
                    # what a deleted performer, tag, studio or group will be looked up by
                    outcome = dataclasses.replace(outcome, record=dataclasses.replace(
                        outcome.record, objects=scene_objects(scene)))
            except SetupDown:
                # Connecting, listing sections or building the index failed: a busy or
                # starting Plex, not one bad item. Abort without counting attempts (even when
                # /identity answers) so a backlog is never dead-lettered for it.
                raise
            except PlexServerDown as exc:
                if not self._link.answers():
                    raise                      # Plex itself is down: an outage
                outcome = _failed(job, not_an_outage(exc))   # only this item's request failed
            except (PlexAuth, ConfigError):
                raise
            except PlexSyncError as exc:
                outcome = _failed(job, exc)
            except Exception as exc:   # a bug: dead-letter it with a readable message
                log.debug(f"scene {job.scene_id}: {type(exc).__name__}: {exc}")
                outcome = _failed(job, Internal(log.redact(
                    f"internal error syncing scene {job.scene_id}: {type(exc).__name__}: {exc}")))
            yield dataclasses.replace(outcome, seconds=time.monotonic() - started)

    # ------------------------------------------------------------------ one job
    def _one(self, job: Job, scene: Mapping[str, Any] | None, record: SyncRecord | None,
             fetched_at: float) -> Outcome:
        """One job, in the steps of the module docstring."""
        if scene is None:
            return Outcome(job, OutcomeKind.SKIPPED, detail="the scene no longer exists in Stash")
        owned = record.pushed_fields if record is not None else ()
        want = self._wanted(scene, job.cleared_fields, owned)
        if want.skip_reason:
            return Outcome(job, OutcomeKind.SKIPPED, detail=want.skip_reason)
        updated_at = str(scene.get("updated_at") or "")
        if record is not None and self._unchanged(job, record, want, updated_at, scene):
            return Outcome(job, OutcomeKind.UNCHANGED, confidence=record.confidence,
                           record=dataclasses.replace(record, fetched_at=fetched_at),
                           detail="unchanged since the last sync")
        files = fields.scene_files(scene)
        if not files:
            return Outcome(job, OutcomeKind.SKIPPED, detail="the scene has no files")
        found = self._locate(job, files, record)
        if isinstance(found, Outcome):
            return found
        item, confidence = found
        same_item = record is not None and record.rating_key == item.rating_key   # last sync's
        if not same_item and owned:
            # what PlexSync owned was on another item: clear nothing
            want = self._wanted(scene, job.cleared_fields, ())
            if want.skip_reason:
                return Outcome(job, OutcomeKind.SKIPPED, detail=want.skip_reason)
            owned = ()
        digests = record.digests() if record is not None and same_item else {}
        values = dict(record.pushed_values) if record is not None and same_item else {}
        added = record.collections_added if record is not None and same_item else ()
        heir = self._claims.inherit
        if heir is not None and not digests:
            # Re-created for the same file: the old scene's record and ownership pass to this
            # one. Its empty fields are no clears of values it never had.
            log.info(f"scene {job.scene_id}: takes over the sync record of deleted scene "
                     f"{heir.scene_id} (same file)")
            digests, values = heir.digests(), dict(heir.pushed_values)
            added = heir.collections_added
            want = self._wanted(scene, (), tuple(digests))
        undo = self._claims.undo
        if undo:   # another scene's values sit on this item: empty what it filled
            digests = merged(digests, *(r.digests() for r in undo))
            want = self._wanted(scene, {*job.cleared_fields, *CLEARABLE},
                                 tuple(digests))
            added = tuple(dict.fromkeys([*added, *(c for r in undo for c in r.collections_added)]))
        return self._write(job, item, confidence, _Plan(want, digests, values, added),
                           record if same_item else None, _Read(updated_at, fetched_at,
                                                       tuple(f.path for f in files)))

    def _wanted(self, scene: Mapping[str, Any], cleared: Iterable[str],
                owned: Iterable[str]) -> fields.Wanted:
        """The field mapping, less a rating that came from Plex (sync/plex_origin.py)."""
        want = fields.wanted(scene, self._settings, cleared, owned)
        if "rating" in want.scalars and scene.get("rating100") is not None:
            if self._plex_ratings is None:   # read once per drain process, when first needed
                self._plex_ratings = plex_origin.read(self._ctx.data_dir)
            want = plex_origin.without_plex_rating(want, scene, self._plex_ratings)
        return want

    def _unchanged(self, job: Job, record: SyncRecord, want: fields.Wanted, updated_at: str,
                   scene: Mapping[str, Any]) -> bool:
        """Nothing to ask Plex: Stash not newer than the record, same values and screenshot,
        and the recorded item still the scene's (reconcile and recover jobs always look)."""
        return (job.source not in ALWAYS_LOOK
                and not record.behind(updated_at)
                and record.values_hash == want.values_hash
                and record.poster_key == want.poster_url
                and not set(want.retired) & set(record.pushed_fields)
                and self._still_own(record, scene))

    def _write(self, job: Job, item: PlexItem, confidence: str, plan: _Plan,
               previous: SyncRecord | None, read: _Read) -> Outcome:
        """Images, then ONE edit with only what differs; the outcome and the new record.
        `previous`: the last sync's record when it wrote to this same item."""
        pictures = self._images(plan.want, item, previous)
        edit = diff(plan.want, item, plan.collections_added, lock_images=pictures.managed(),
                    owned=plan.owned, values=plan.values)
        if edit:
            self.plex().edit(item.section_id, item.rating_key, edit.params)
        if pictures.note:
            log.debug(f"scene {job.scene_id}: {pictures.note}")
        for warning in pictures.warnings:
            log.warning(f"scene {job.scene_id}: {warning}")
        new_record = self._record(job, item, confidence, plan.want, read, pictures, edit)
        wrote = bool(edit) or bool(pictures.uploaded)
        what = ", ".join([*edit.changed, *pictures.uploaded]) or "locks only"
        return Outcome(job, OutcomeKind.SYNCED if wrote else OutcomeKind.UNCHANGED,
                       record=new_record, confidence=confidence, warnings=pictures.warnings,
                       detail=f"updated {what}" if wrote else "Plex already matched Stash")

    def _images(self, want: fields.Wanted, item: PlexItem,
                previous: SyncRecord | None) -> images.ImageResult:
        """Poster and art; `previous` is the last sync of this same item, if any."""
        prev = (images.Previous(previous.poster_key, previous.poster_hash, previous.art_hash,
                                previous.poster_id)
                if previous is not None else images.Previous())
        plex = self.plex()
        rk = item.rating_key
        # whose poster and art Plex shows (docs/design.md#ownership): only someone else's stay
        present = ["art"] if item.has_art and not images.uploaded(prev.art_hash) else []
        return images.sync_images(
            want, prev, rk, self._ctx.stash.download, plex.upload_image, plex_has=present,
            read_back=lambda: plex.selected_poster(rk),
            whose=lambda: images.users_poster(prev, item.has_poster,
                                              lambda: plex.selected_poster(rk)))

    def _record(self, job: Job, item: PlexItem, confidence: str, want: fields.Wanted,
                read: _Read, pictures: images.ImageResult, edit: Edit) -> SyncRecord:
        return SyncRecord(
            scene_id=job.scene_id, rating_key=item.rating_key, section_id=item.section_id,
            stash_updated_at=read.updated_at, fetched_at=read.fetched_at,
            values_hash=want.values_hash, synced_at=self._ctx.clock(), poster_key=pictures.key,
            poster_hash=pictures.poster_hash, art_hash=pictures.art_hash,
            poster_id=pictures.poster_id,
            collections_added=edit.collections_added, confidence=confidence,
            stash_files=read.files,
            pushed_fields=edit.pushed, field_digests=edit.field_digests,
            pushed_values=edit.pushed_values,
        )

    def _locate(self, job: Job, files: list[matcher.SceneFile],
                record: SyncRecord | None) -> tuple[PlexItem, str] | Outcome:
        """The Plex item to write, read in full, or the outcome that ends the job."""
        self._claims = Claims()
        plex = self.plex()
        if record is not None:
            try:
                item = plex.fetch_item(record.rating_key)
            except PlexNotFound:
                item = None
            if item is not None and self._holds(item, files):
                return item, matcher.Confidence.HIGH.value
        # Recover re-checks a Conflict (or any failure) against a listing read now
        index = self._link.listed() if job.source is JobSource.RECOVER else self.index()
        for attempt in range(2):
            result, located = self._ownership.match(job.scene_id, files, index,
                                                    index.locations)
            missed = isinstance(result, matcher.NotInPlex) or (
                isinstance(result, matcher.Match) and result.confidence is matcher.Confidence.LOW)
            # a file Plex does not have yet concerns its own section; a LOW guess, any of them
            concerns = result.section_id if isinstance(result, matcher.NotInPlex) else None
            if missed and attempt == 0 and index.refresh_on_miss(concerns):
                continue
            if not isinstance(result, matcher.Match):
                return self._unmatched(job, result, index)
            if result.confidence is matcher.Confidence.LOW:
                if self._settings.strict_matching:
                    error = LowConfidence(
                        f"scene {job.scene_id}: no exact Plex match; {len(result.candidates)} "
                        "candidate(s) share its file name and size/duration does not decide "
                        "(strict_matching is on)", result.candidates)
                    return Outcome(job, OutcomeKind.FAILED, error=error, detail=str(error),
                                   candidates=result.candidates, confidence="LOW")
                log.info(f"scene {job.scene_id}: LOW-confidence match, syncing the best of "
                         f"{len(result.candidates)} candidates: {quote_path(result.plex_path)}")
            try:
                item = plex.fetch_item(result.rating_key)
            except PlexNotFound:
                if attempt == 0 and index.refresh_on_miss(result.section_id):
                    continue
                raise
            if not _has_file(item, result.plex_path):
                # the index is older than Plex (Split Apart, a re-added file): never write
                # to the stale item; read the listing once and match again
                if attempt == 0 and self._relist(index):
                    continue
                raise PlexNotFound(f"scene {job.scene_id}: Plex item {item.rating_key} no "
                                   f"longer holds {quote_path(result.plex_path)}")
            self._claims = self._ownership.guard(job.scene_id, result, item,
                                                 self._records_on_item,
                                                 [f.path for f in files], self._ctx.clock())
            if located is not None and not result.exact:
                log.info(f"scene {job.scene_id}: matched {quote_path(result.plex_path)} "
                         f"(ratingKey {item.rating_key}) by basename, {result.confidence.value}: "
                         f"{located.why()}")
            return item, result.confidence.value
        raise PlexNotFound(f"scene {job.scene_id}: its Plex item vanished while syncing")

    def _relist(self, index: LibraryIndex) -> bool:
        """Read the listing of the sections not yet listed in this drain; False if none."""
        if len(index.listed) >= len(index.sections):
            return False
        index.ensure_listed()
        return True

    def _holds(self, item: PlexItem, files: list[matcher.SceneFile]) -> bool:
        """Whether the recorded item still is this scene's: in a configured section and holding
        one of the scene's files at exactly its mapped path (anything less, a shared basename
        say, goes through the matcher and its size/duration rules)."""
        sections = self._link.sections
        if sections is not None and item.section_id not in {s.id for s in sections}:
            return False
        mapped = {FsPath.parse(self._settings.path_map.to_plex(f.path)).key() for f in files}
        return any(FsPath.parse(p).key() in mapped for p in item.files)

    def _still_own(self, record: SyncRecord, scene: Mapping[str, Any]) -> bool:
        """The unchanged shortcut trusts the recorded item only while a listing read in this
        drain (one per drain: no item request) still resolves the scene's files to it; an
        item Plex re-added under a new ratingKey, or gone, is looked at again."""
        index = self._link.listed()
        if record.section_id not in index.listed:
            return False
        return trusted(record, fields.scene_files(scene), self._settings.path_map, index,
                       index.locations)

    def _unmatched(self, job: Job, result: matcher.NotInPlex | matcher.OutOfScope,
                   index: LibraryIndex) -> Outcome:
        if isinstance(result, matcher.OutOfScope):
            return Outcome(job, OutcomeKind.OUT_OF_SCOPE,
                           detail="its files lie outside every configured Plex library")
        note = ""
        if self._settings.scan_missing and index.claim_scan(result.folder):
            try:
                self.plex().scan_folder(result.section_id, result.folder)
                index.note_scan(result.section_id)
                note = f"; asked Plex to scan {quote_path(result.folder)}"
            except (PlexAuth, PlexServerDown):
                raise
            except PlexSyncError as exc:
                log.warning(f"could not ask Plex to scan {quote_path(result.folder)}: {exc}")
        error = PlexNotFound(f"scene {job.scene_id}: Plex has no item for "
                             f"{quote_path(result.plex_path)} yet{note}")
        return _failed(job, error)


class _Read(NamedTuple):
    """When and what of Stash this sync read: the scene's `updated_at`, the fetch time."""

    updated_at: str
    fetched_at: float
    files: tuple[str, ...]         # the scene's Stash file paths


class _Plan(NamedTuple):
    """What to write to the item: the wanted values, the fields PlexSync may clear there
    (its own, plus another scene's it is undoing), and the collections PlexSync added."""

    want: fields.Wanted
    owned: dict[str, str]          # field → digest of PlexSync's value there (sync/owned.py)
    values: dict[str, str]         # field → that value as text
    collections_added: tuple[str, ...]


def _failed(job: Job, error: PlexSyncError) -> Outcome:
    candidates = error.candidates if isinstance(error, LowConfidence) else ()
    return Outcome(job, OutcomeKind.FAILED, error=error, detail=str(error), candidates=candidates)



def _has_file(item: PlexItem, plex_path: str) -> bool:
    """Whether the item read in full still holds the file the index matched."""
    wanted = FsPath.parse(plex_path).key()
    return any(FsPath.parse(p).key() == wanted for p in item.files)
