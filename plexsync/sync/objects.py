"""Object jobs → scene jobs (docs/design.md#object-jobs).

A performer, tag, studio or group renamed, merged or deleted in Stash changes no scene's
`updated_at`, yet its name is on the Plex items of its scenes. The hook queues one object job
per object; the drain calls `ObjectExpander.run` before each batch, which turns every due object
job into one hook event per affected scene (urgent, as the edit of a scene would be), and the
normal sync then writes only what changed, in one edit per item.

Affected scenes:
- renamed (UPDATE): Stash's scenes with the object (paged `findScenes` by its id, `PAGE` per
  page, id order), plus the scenes PlexSync last wrote with it (`scene_objects`);
- tags merged into it (MERGE): the same for the destination, plus the scenes PlexSync last wrote
  with any merged tag (Stash relinked them and deleted those tags);
- deleted (DESTROY): Stash no longer links them, so only PlexSync's own records. Their events
  carry the object's input as a clear (`tag_ids`...), so a scene left with no tag loses the
  label PlexSync wrote, and only where PlexSync owns it (fields.wanted: ownership by value).

Failure: a Stash error leaves the object job in place, due again after a backoff
(`RETRY_AFTER`), with one warning; scene jobs already folded stay. Anything else propagates.
The job is deleted only at the version it expanded: an edit that arrived meanwhile makes the
next call expand it again. Each call expands every due job at most once, so a stream of edits
never starves the scene jobs.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from plexsync.core.log import log
from plexsync.errors import StashError
from plexsync.queue.enums import ObjectAction, ObjectKind
from plexsync.queue.job_queue import JobQueue
from plexsync.queue.model import ObjectJob

PAGE = 250
RETRY_AFTER = (30.0, 120.0, 600.0, 1800.0, 3600.0)   # by attempts so far; the last repeats
# Per kind: the SceneFilterType criterion, and the scene input a deletion empties.
FILTER_KEY = {ObjectKind.PERFORMER: "performers", ObjectKind.TAG: "tags",
              ObjectKind.STUDIO: "studios", ObjectKind.GROUP: "groups"}
CLEARS = {ObjectKind.PERFORMER: "performer_ids", ObjectKind.TAG: "tag_ids",
          ObjectKind.STUDIO: "studio_id", ObjectKind.GROUP: "groups"}


class ScenePages(Protocol):
    """What the expander asks of Stash (`stash.api.StashClient.scene_id_page`)."""

    def scene_id_page(self, scene_filter: Mapping[str, Any] | None, page: int,
                      per_page: int) -> tuple[int, list[dict[str, Any]]]: ...


def scene_objects(scene: Mapping[str, Any]) -> frozenset[tuple[str, int, str]]:
    """(kind, id, name) of the scene's performers, tags, studio and groups, as Stash returned
    them."""
    found: set[tuple[str, int, str]] = set()

    def add(kind: ObjectKind, obj: object) -> None:
        if isinstance(obj, Mapping):
            with contextlib.suppress(KeyError, TypeError, ValueError):
                found.add((kind.value, int(obj["id"]), str(obj.get("name") or "")))

    add(ObjectKind.STUDIO, scene.get("studio"))
    for kind, key in ((ObjectKind.PERFORMER, "performers"), (ObjectKind.TAG, "tags")):
        for obj in _list(scene.get(key)):
            add(kind, obj)
    for entry in _list(scene.get("groups")):
        add(ObjectKind.GROUP, entry.get("group") if isinstance(entry, Mapping) else None)
    return frozenset(found)


def stash_filter(kind: ObjectKind, object_id: int) -> dict[str, Any]:
    """Scenes linked to the object itself (depth 0: not a child tag's or sub-studio's)."""
    criterion: dict[str, Any] = {"value": [str(object_id)], "modifier": "INCLUDES"}
    if kind is not ObjectKind.PERFORMER:   # a MultiCriterionInput has no depth
        criterion["depth"] = 0
    return {FILTER_KEY[kind]: criterion}


class ObjectExpander:
    """Expands due object jobs into scene jobs; call `run` while holding the drain lock."""

    def __init__(self, store: JobQueue, stash: ScenePages, clock: Callable[[], float], *,
                 page: int = PAGE) -> None:
        self.store = store
        self.stash = stash
        self.clock = clock
        self.page = page

    def run(self) -> int:
        """Expand every object job due now, each once; returns how many scene events it
        queued."""
        seen: set[tuple[str, int]] = set()
        queued = 0
        while (job := self.store.object_job_due(self.clock())) is not None:
            key = (job.kind.value, job.object_id)
            if key in seen:
                break   # edited again while we expanded it: the next call does it again
            seen.add(key)
            queued += self._expand(job)
        return queued

    def _expand(self, job: ObjectJob) -> int:
        cleared = (CLEARS[job.kind],) if job.action is ObjectAction.DESTROY else ()
        done: set[int] = set()

        def fold(scene_ids: Iterable[int]) -> None:
            fresh = [i for i in dict.fromkeys(scene_ids) if i not in done]
            for start in range(0, len(fresh), self.page):
                self.store.fold_scene_events(fresh[start:start + self.page], job.event_at,
                                             cleared, self.clock())
            done.update(fresh)

        try:
            if job.action is not ObjectAction.DESTROY:
                self._from_stash(job, fold)
        except StashError as exc:
            delay = RETRY_AFTER[min(job.attempts, len(RETRY_AFTER) - 1)]
            self.store.object_job_retry(job, self.clock() + delay)
            log.warning(f"{_name(job)} changed, but asking Stash for its scenes failed ({exc}); "
                        f"{len(done)} scene(s) queued so far, trying again in {delay:.0f} s.")
            return len(done)
        fold(self.store.scenes_of_objects(job.kind, [job.object_id]))
        if job.merged_ids:
            fold(self.store.scenes_of_objects(job.kind, job.merged_ids))
        again = not self.store.object_job_done(job)
        log.info(f"{_name(job)} {_VERB[job.action]}: {len(done)} scene(s) queued for Plex"
                 + ("; edited again meanwhile, so it is looked at once more" if again else ""))
        return len(done)

    def _from_stash(self, job: ObjectJob, fold: Callable[[Iterable[int]], None]) -> None:
        """Page through Stash's scenes with the object, folding each page as it arrives."""
        scene_filter = stash_filter(job.kind, job.object_id)
        page = 1
        while True:
            total, scenes = self.stash.scene_id_page(scene_filter, page, self.page)
            fold(int(s["id"]) for s in scenes)
            if not scenes or page * self.page >= total:
                return
            page += 1


_VERB = {ObjectAction.UPDATE: "was renamed or saved", ObjectAction.MERGE: "had tags merged into it",
         ObjectAction.DESTROY: "was deleted"}


def _name(job: ObjectJob) -> str:
    return f"{job.kind.value.capitalize()} {job.object_id}"


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []
