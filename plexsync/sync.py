"""The sync `Processor`: a claimed batch of jobs → one outcome per job (SPEC §5–§7).

Per batch: jobs whose event is older than the data last synced (`jobs.superseded`) are
SKIPPED before anything is asked; the rest cost ONE Stash query. Per job, in order:
- scene gone from Stash → SKIPPED; empty metadata (quality gate) → SKIPPED;
- Stash `updated_at` not newer than the record's, same values hash and same screenshot key →
  UNCHANGED with no Plex request at all (reconcile and recover jobs always look at Plex);
- the Plex item: the record's ratingKey when the item still holds one of the scene's files
  (no index needed), else the index + matcher: OUT_OF_SCOPE; PlexNotFound (and, with
  `scan_missing`, one folder scan per 10 minutes); LowConfidence under `strict_matching`
  (FAILED with candidates), or the best candidate otherwise (logged);
- ONE `GET /library/metadata/{rk}`, the images (only when changed), then ONE edit PUT with
  only what differs → SYNCED (something was written) or UNCHANGED, with a new SyncRecord.

Plex is connected lazily: a batch that needs no Plex request makes none. A single job's
failure is yielded as FAILED (non-PlexSync exceptions become `Internal`); `PlexAuth` and
`PlexServerDown` abort the batch, and so does `ConfigError` (an unknown `plex_library`), since
no job of the batch could succeed.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from plexsync import fields, images, matcher
from plexsync.diff import diff
from plexsync.errors import (
    ConfigError,
    Internal,
    LowConfidence,
    PlexAuth,
    PlexNotFound,
    PlexServerDown,
    PlexSyncError,
)
from plexsync.index import LibraryIndex
from plexsync.jobs import (
    Batch,
    Job,
    JobSource,
    Outcome,
    OutcomeKind,
    Processor,
    SyncRecord,
    superseded,
)
from plexsync.log import log, quote_path
from plexsync.plex import PlexClient, PlexItem, Section
from plexsync.tasks import TaskContext

ALWAYS_LOOK = frozenset({JobSource.RECONCILE, JobSource.RECOVER})


def build_processor(ctx: TaskContext) -> Processor:
    """The drain's entry point (imported lazily by drain.py)."""
    return SyncProcessor(ctx)


class SyncProcessor:
    def __init__(self, ctx: TaskContext, plex: PlexClient | None = None) -> None:
        self._ctx = ctx
        self._settings = ctx.settings
        self._plex = plex
        self._sections: list[Section] | None = None
        self._index: LibraryIndex | None = None

    # ------------------------------------------------------------------ lazy Plex
    def plex(self) -> PlexClient:
        if self._plex is None:
            self._plex = PlexClient(self._settings, self._ctx.data_dir)
        if self._sections is None:
            self._plex.connect()
            self._sections = self._plex.configured_sections()
        return self._plex

    def index(self) -> LibraryIndex:
        if self._index is None:
            plex = self.plex()
            assert self._sections is not None
            self._index = LibraryIndex(self._ctx.data_dir, plex, self._sections,
                                       clock=self._ctx.clock)
            self._index.ensure_fresh()
        return self._index

    # ------------------------------------------------------------------ the batch
    def process(self, batch: Batch) -> Iterator[Outcome]:
        pending: list[Job] = []
        for job in batch.jobs:
            record = batch.records.get(job.scene_id)
            if superseded(job, record):
                yield Outcome(job, OutcomeKind.SKIPPED,
                              detail="late event: newer Stash data was already synced")
            else:
                pending.append(job)
        if not pending:
            return
        fetched_at = self._ctx.clock()
        try:
            scenes = self._ctx.stash.scenes_by_id([j.scene_id for j in pending])
        except PlexSyncError as exc:
            for job in pending:
                yield Outcome(job, OutcomeKind.FAILED, error=exc, detail=str(exc))
            return
        for job in pending:
            started = time.monotonic()
            try:
                outcome = self._one(job, scenes.get(job.scene_id),
                                    batch.records.get(job.scene_id), fetched_at)
            except (PlexAuth, PlexServerDown, ConfigError):
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
        if scene is None:
            return Outcome(job, OutcomeKind.SKIPPED, detail="the scene no longer exists in Stash")
        want = fields.wanted(scene, self._settings, job.cleared_fields)
        if want.skip_reason:
            return Outcome(job, OutcomeKind.SKIPPED, detail=want.skip_reason)
        values_hash = want.values_hash
        updated_at = str(scene.get("updated_at") or "")
        if (record is not None and job.source not in ALWAYS_LOOK
                and not _newer(updated_at, record.stash_updated_at)
                and record.values_hash == values_hash and record.poster_key == want.poster_url):
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
        same_item = record is not None and record.rating_key == item.rating_key
        prev = (images.Previous(record.poster_key, record.poster_hash, record.art_hash)
                if record is not None and same_item else images.Previous())
        pictures = images.sync_images(want, prev, item.rating_key, self._ctx.stash.download,
                                      self.plex().upload_image)
        edit = diff(want, item, record.collections_added if record and same_item else (),
                    lock_images=pictures.managed())
        if edit:
            self.plex().edit(item.section_id, item.rating_key, edit.params)
        for warning in pictures.warnings:
            log.warning(f"scene {job.scene_id}: {warning}")
        wrote = bool(edit) or bool(pictures.uploaded)
        new_record = SyncRecord(
            scene_id=job.scene_id, rating_key=item.rating_key, section_id=item.section_id,
            stash_updated_at=updated_at, fetched_at=fetched_at, values_hash=values_hash,
            synced_at=self._ctx.clock(), poster_key=pictures.key,
            poster_hash=pictures.poster_hash, art_hash=pictures.art_hash,
            collections_added=edit.collections_added, confidence=confidence,
        )
        what = ", ".join([*edit.changed, *pictures.uploaded]) or "locks only"
        return Outcome(job, OutcomeKind.SYNCED if wrote else OutcomeKind.UNCHANGED,
                       record=new_record, confidence=confidence, warnings=pictures.warnings,
                       detail=f"updated {what}" if wrote else "Plex already matched Stash")

    def _locate(self, job: Job, files: list[matcher.SceneFile],
                record: SyncRecord | None) -> tuple[PlexItem, str] | Outcome:
        """The Plex item to write, read in full, or the outcome that ends the job."""
        plex = self.plex()
        if record is not None:
            try:
                item = plex.fetch_item(record.rating_key)
            except PlexNotFound:
                item = None
            if item is not None and self._holds(item, files):
                return item, record.confidence
        index = self.index()
        for attempt in range(2):
            result = matcher.match(files, self._settings.path_map, index, index.locations)
            missed = isinstance(result, matcher.NotInPlex) or (
                isinstance(result, matcher.Match) and result.confidence is matcher.Confidence.LOW)
            if missed and attempt == 0 and index.refresh_on_miss():
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
                return plex.fetch_item(result.rating_key), result.confidence.value
            except PlexNotFound:
                if attempt == 0 and index.refresh_on_miss():
                    continue
                raise
        raise PlexNotFound(f"scene {job.scene_id}: its Plex item vanished while syncing")

    def _holds(self, item: PlexItem, files: list[matcher.SceneFile]) -> bool:
        """Whether the recorded item still is this scene's: same section set, one same file."""
        if self._sections is not None and item.section_id not in {s.id for s in self._sections}:
            return False
        mapped = {self._settings.path_map.to_plex(f.path) for f in files}
        if mapped & set(item.files):
            return True
        names = {matcher.fold(matcher.basename(p)) for p in mapped}
        return any(matcher.fold(matcher.basename(p)) in names for p in item.files)

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


def _failed(job: Job, error: PlexSyncError) -> Outcome:
    candidates = error.candidates if isinstance(error, LowConfidence) else ()
    return Outcome(job, OutcomeKind.FAILED, error=error, detail=str(error), candidates=candidates)


def _newer(updated_at: str, synced: str) -> bool:
    """Whether Stash's `updated_at` is later than the one synced (unknown → newer)."""
    if not synced or not updated_at:
        return True
    try:
        return datetime.fromisoformat(updated_at) > datetime.fromisoformat(synced)
    except (ValueError, TypeError):
        return updated_at != synced
