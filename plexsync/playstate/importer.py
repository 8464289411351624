"""One pass of the Plex → Stash play-state import (docs/play-state.md).

Order, and why: every Plex read first (the history since the last pass, then per configured
section the items in progress and, with `import_ratings`, the items rated since the last pass),
then the Stash writes, then the high-water marks. So a Plex failure anywhere writes nothing,
and a Stash failure halfway leaves the marks where they were: the next pass reads the same
plays again, and a play already in the scene's `play_history` at the same second is never
added twice. Nothing here writes to Plex.

What counts:
- plays: rows of `/status/sessions/history/all` of the server owner's account (`OWNER_ACCOUNT`;
  other accounts' plays are skipped even if Plex sends them) on items with a sync record (the
  item PlexSync matched to a scene). Each becomes one `sceneAddPlay` time.
- resume points: an in-progress item's `viewOffset` becomes `resume_time` when it moved since
  the last pass and differs by a second or more (an unchanged Plex point is not imported again,
  so one set in Stash meanwhile stands); an item played to the end in this pass, or one that
  left Plex's in-progress list while Stash still holds the point the import set, clears it.
- ratings (`import_ratings`): an item rated since the last pass (`lastRatedAt`, Plex's clock;
  the items at the mark that the last pass saw are not counted again) whose `userRating` × 10
  differs from the scene's `rating100`. A rating PlexSync wrote equals the scene's, so it is never
  imported back; a scene with a queued, running or dead-lettered job is left alone (its Stash
  value is newer than Plex's, or not yet in Plex).
Requests per pass: 2 to connect (`GET /`, `GET /library/sections`), ceil(plays / 100) history
pages (at least 1), and 1 or 2 filtered listings per section: they grow with new plays and
in-progress items, never with the library.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from plexsync.core.log import log
from plexsync.core.settings import Settings
from plexsync.playstate import schedule
from plexsync.plex.client import PlexClient
from plexsync.plex.model import ItemPlayState, Play, PlayStatePage
from plexsync.queue.job_queue import JobQueue
from plexsync.stash.api import StashClient
from plexsync.sync import plex_origin

OWNER_ACCOUNT = 1    # the server owner's account on the server itself (plex_token's owner)
PAGE_SIZE = 100
RESUME_SLACK = 1.0   # seconds: a resume point this close to Stash's is the same


@dataclass
class Summary:
    """A completed pass, as the queue meta, Status, the page and Health Check show it."""

    started_at: float
    finished_at: float = 0.0
    trigger: str = "task"                 # "task" | "auto"
    plays: int = 0                        # play-history entries added to Stash
    resume_points: int = 0                # resume points set or cleared
    ratings: int = 0                      # ratings imported
    scenes: int = 0                       # scenes changed
    unmatched_plays: int = 0              # plays of Plex items no scene is matched to
    other_accounts: int = 0               # plays of other accounts, skipped
    plex_requests: int = 0
    changed: list[int] = field(default_factory=list)   # scene ids (first 20)

    def as_output(self) -> dict[str, Any]:
        out = asdict(self)
        out["changed"] = self.changed[:20]
        return out


class PlayImport:
    def __init__(self, plex: PlexClient, stash: StashClient, store: JobQueue,
                 settings: Settings, data_dir: str,
                 clock: Callable[[], float] = time.time) -> None:
        self.data_dir = data_dir
        self.plex = plex
        self.stash = stash
        self.store = store
        self.settings = settings
        self.clock = clock
        self.requests = 0

    def run(self, trigger: str = "task") -> Summary:
        summary = Summary(started_at=self.clock(), trigger=trigger)
        meta = self.store.read_meta()
        since = schedule.high_water(meta, schedule.VIEWED_KEY)
        rated_since = schedule.high_water(meta, schedule.RATED_KEY)
        resumed = _int_map(meta.get(schedule.RESUME_KEY))       # item → offset imported last
        rated_edge = set(_int_list(meta.get(schedule.RATED_EDGE_KEY)))
        sections = self.plex.configured_sections()
        self.requests += 2   # GET / and GET /library/sections (connect, section list)
        # --- every Plex read first
        plays = []
        for play in self._history(since):
            if play.account_id != OWNER_ACCOUNT:
                summary.other_accounts += 1
            else:
                plays.append(play)
        progress: dict[int, int] = {}
        listed_ratings: dict[int, ItemPlayState] = {}
        for section in sections:
            for item in self._listing(section.id, "inProgress=1"):
                if item.view_offset_ms > 0:
                    progress[item.rating_key] = item.view_offset_ms
            if self.settings.import_ratings:
                for item in self._listing(section.id, f"lastRatedAt>>={rated_since}"):
                    listed_ratings[item.rating_key] = item
        # a rating at the mark that the last pass already saw is not new (`>>=` repeats it)
        rated = {k: i for k, i in listed_ratings.items()
                 if not (i.rated_at == rated_since and k in rated_edge)}
        # --- which scenes (PlexSync's own matches only)
        keys = {p.rating_key for p in plays} | set(progress) | set(rated) | set(resumed)
        scene_of = self._scenes_for(keys)
        summary.unmatched_plays = sum(1 for p in plays if p.rating_key not in scene_of)
        current = self.stash.play_state(sorted(set(scene_of.values()))) if scene_of else {}
        # --- the Stash writes
        changed: set[int] = set()
        played = self._plays(plays, scene_of, current, summary, changed)
        self._resume_points(progress, resumed, played, scene_of, current, summary, changed)
        if rated:
            summary.ratings = self._ratings(rated, scene_of, current, changed)
        # --- only now do the marks move (Stash has everything)
        newest_play = max((p.viewed_at for p in plays), default=since)
        newest_rating = max((r.rated_at for r in listed_ratings.values()), default=rated_since)
        newest_rating = max(newest_rating, rated_since)
        edge = sorted(k for k, i in listed_ratings.items() if i.rated_at == newest_rating)
        summary.finished_at = self.clock()
        summary.scenes = len(changed)
        summary.changed = sorted(changed)[:20]
        summary.plex_requests = self.requests
        record = json.dumps(summary.as_output(), sort_keys=True)
        self.store.update_meta(lambda _m, _n: {
            schedule.VIEWED_KEY: str(max(newest_play, since)),
            schedule.RATED_KEY: str(newest_rating),
            schedule.RATED_EDGE_KEY: json.dumps(edge),
            schedule.RESUME_KEY: json.dumps({str(k): v for k, v in sorted(progress.items())
                                             if k in scene_of}),
            schedule.LAST_KEY: record,
        })
        return summary

    def _plays(self, plays: list[Play], scene_of: dict[int, int],
               current: dict[int, dict[str, Any]], summary: Summary,
               changed: set[int]) -> set[int]:
        """`sceneAddPlay` for the plays Stash does not have at that second; the scenes with
        a play in this pass."""
        played: dict[int, set[int]] = {}
        for play in plays:
            if play.rating_key in scene_of:
                played.setdefault(scene_of[play.rating_key], set()).add(play.viewed_at)
        for scene_id, times in sorted(played.items()):
            scene = current.get(scene_id)
            if scene is None:
                continue
            have = {_epoch(t) for t in scene.get("play_history") or []}
            new = sorted(t for t in times if t not in have)
            if new:
                self.stash.add_plays(scene_id, [_rfc3339(t) for t in new])
                summary.plays += len(new)
                changed.add(scene_id)
        return set(played)

    def _resume_points(self, progress: dict[int, int], resumed: dict[int, int],
                       played: set[int], scene_of: dict[int, int],
                       current: dict[int, dict[str, Any]], summary: Summary,
                       changed: set[int]) -> None:
        """Plex's resume point where it moved since the last pass (an unchanged one is not
        re-imported, so a point set in Stash meanwhile stands); cleared when the item was
        finished in this pass, or left Plex's in-progress list while Stash still holds the
        point the import set."""
        for rating_key, scene_id in sorted(scene_of.items()):
            scene = current.get(scene_id)
            if scene is None:
                continue
            resume = float(scene.get("resume_time") or 0.0)
            before = resumed.get(rating_key)
            if rating_key in progress:
                if before == progress[rating_key]:
                    continue
                wanted = progress[rating_key] / 1000.0
            elif scene_id in played or before is not None:
                ours = before is not None and abs(resume - before / 1000.0) < RESUME_SLACK
                if resume <= 0 or not (scene_id in played or ours):
                    continue
                wanted = 0.0
            else:
                continue
            if abs(resume - wanted) >= RESUME_SLACK:
                self.stash.save_resume_time(scene_id, wanted)
                summary.resume_points += 1
                changed.add(scene_id)

    def _ratings(self, rated: dict[int, ItemPlayState], scene_of: dict[int, int],
                 current: dict[int, dict[str, Any]], changed: set[int]) -> int:
        busy = self.store.queued_or_dead([scene_of[k] for k in rated if k in scene_of])
        count = 0
        for rating_key, item in sorted(rated.items()):
            scene_id = scene_of.get(rating_key)
            scene = current.get(scene_id) if scene_id is not None else None
            if scene_id is None or scene is None or item.rating is None or item.rating <= 0:
                continue
            wanted = max(1, min(100, round(item.rating * 10)))
            if scene.get("rating100") == wanted:
                continue   # the same (also every rating PlexSync wrote itself)
            if scene_id in busy:
                log.debug(f"scene {scene_id}: Plex rating not imported, the scene has a job "
                          "in the queue or the dead-letter queue")
                continue
            plex_origin.note(self.data_dir, {scene_id: wanted})   # before Stash's hook runs
            self.stash.set_rating(scene_id, wanted)
            count += 1
            changed.add(scene_id)
        return count

    def _history(self, since: int) -> Iterator[Play]:
        start = 0
        while True:
            page = self.plex.history_page(since, OWNER_ACCOUNT, start, PAGE_SIZE)
            self.requests += 1
            yield from page.plays
            start += page.rows
            if not page.rows or start >= page.total:
                return

    def _listing(self, section_id: int, criterion: str) -> Iterator[ItemPlayState]:
        start = 0
        while True:
            page: PlayStatePage = self.plex.play_state_page(section_id, criterion, start,
                                                            PAGE_SIZE)
            self.requests += 1
            yield from page.items
            start += page.rows
            if not page.rows or start >= page.total:
                return

    def _scenes_for(self, rating_keys: set[int]) -> dict[int, int]:
        """Plex item → the scene PlexSync matched to it (its sync record), where one is."""
        found: dict[int, int] = {}
        for rating_key in sorted(rating_keys):
            held = [r for r in self.store.records_on_item(rating_key) if not r.displaced]
            if len(held) == 1:
                found[rating_key] = held[0].scene_id
        return found


def _int_map(text: str | None) -> dict[int, int]:
    try:
        raw = json.loads(text or "{}")
        return {int(k): int(v) for k, v in raw.items()} if isinstance(raw, dict) else {}
    except (ValueError, TypeError, AttributeError):
        return {}


def _int_list(text: str | None) -> list[int]:
    try:
        raw = json.loads(text or "[]")
        return [int(v) for v in raw] if isinstance(raw, list) else []
    except (ValueError, TypeError):
        return []


def _rfc3339(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _epoch(text: str) -> int:
    try:
        moment = datetime.fromisoformat(str(text))
    except ValueError:
        return -1
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())
