"""Data directories in known states for the PlexSync page (ui/plexsync.js) and its status
operation (plexsync/tasks/page.py): a mixed state and an outage, written through the queue's
own API so the rows are exactly what a drain would leave.

Reconciliation runs and outages are written through their subsystems' own writers
(`JobQueue.add_reconcile_run`, `plexsync.resilience.state.write`). `Seeded.missing` names a
subsystem a seeder could not write (none today), so a test can tell "rendered empty because
there is no data" from "rendered empty by mistake".
"""

from __future__ import annotations

from dataclasses import dataclass, field

from plexsync.errors import ErrorClass, PlexServerDown, StashError
from plexsync.queue.enums import JobSource, SettleAction
from plexsync.queue.job_queue import JobQueue
from plexsync.queue.model import Outcome, OutcomeKind, SyncRecord
from plexsync.reconcile.gap_types import GapType
from plexsync.resilience import history as outage_history
from plexsync.resilience import state as breaker_state

OWNER = "page-state-seed"
HOUR = 3600.0

# Scene ids by role, and the titles the browser tests' Stash library gives them.
SYNCED = (101, 102, 103, 104, 105)
PENDING = (201, 202)
RETRYING = (301, 302, 303)
DEAD: dict[int, tuple[ErrorClass, str, tuple[str, ...]]] = {
    401: (ErrorClass.PLEX_NOT_FOUND, "No Plex item has the file /media/videos/a.mp4 yet.", ()),
    402: (ErrorClass.PLEX_NOT_FOUND, "No Plex item has the file /media/videos/b.mp4 yet.", ()),
    403: (ErrorClass.LOW_CONFIDENCE, "Only uncertain matches for /media/videos/c.mp4.",
          ("/media/videos/c (1).mp4", "/media/other/c.mp4")),
    404: (ErrorClass.LOW_CONFIDENCE, "Only uncertain matches for /media/videos/d.mp4.",
          ("/media/videos/d-copy.mp4",)),
    405: (ErrorClass.PLEX_BAD_REQUEST, "Plex rejected the edit (400 Bad Request).", ()),
}
TITLES = {**{i: f"Synced scene {i}" for i in SYNCED},
          **{i: f"Dead scene {i}" for i in DEAD if i != 405}}   # 405 has no title: basename


@dataclass
class Seeded:
    now: float
    missing: list[str] = field(default_factory=list)   # subsystems absent from this checkout


def _record(scene_id: int, at: float) -> SyncRecord:
    return SyncRecord(scene_id=scene_id, rating_key=1000 + scene_id, section_id=1,
                      stash_updated_at="2026-01-01T00:00:00Z", fetched_at=at,
                      values_hash=f"h{scene_id}", synced_at=at)


def seed_queue(data_dir: str, now: float) -> None:
    """Synced, pending, retrying and dead-lettered scenes (see the constants above)."""
    clock = [now - 2 * HOUR]
    queue = JobQueue.open(data_dir, clock=lambda: clock[0])
    try:
        for scene_id in (*SYNCED, *RETRYING, *DEAD):
            queue.enqueue(scene_id, source=JobSource.HOOK)
        jobs = {job.scene_id: job for job in queue.claim(100, 600, OWNER)}
        for i, scene_id in enumerate(SYNCED):
            clock[0] = now - HOUR + i * 60
            queue.apply(Outcome(jobs[scene_id], OutcomeKind.SYNCED,
                                record=_record(scene_id, clock[0]), confidence="HIGH"), OWNER)
        clock[0] = now - 30
        queue.apply(Outcome(jobs[301], OutcomeKind.FAILED,
                            error=PlexServerDown("Plex did not answer (connection refused).")),
                    OWNER)
        queue.apply(Outcome(jobs[302], OutcomeKind.FAILED,
                            error=PlexServerDown("Plex did not answer (connection refused).")),
                    OWNER)
        queue.apply(Outcome(jobs[303], OutcomeKind.FAILED,
                            error=StashError("Stash answered 502.")), OWNER)
        for i, (scene_id, (cls, message, candidates)) in enumerate(DEAD.items()):
            clock[0] = now - 600 + i * 60
            queue.settle(jobs[scene_id].id, OWNER, SettleAction.DEAD,
                         error={"error_class": cls.value, "message": message,
                                "candidates": list(candidates)},
                         stats={"processed": 1, "failed": 1, "dead_lettered": 1})
        clock[0] = now
        for scene_id in PENDING:
            queue.enqueue(scene_id, source=JobSource.HOOK)
    finally:
        queue.close()


def seed_reconcile(data_dir: str, now: float) -> bool:
    """Two reconciliation runs through the store's own writer; returns True (the subsystem is
    in this checkout)."""
    store = JobQueue.open(data_dir)
    try:
        store.add_reconcile_run({
            "started_at": now - 26 * HOUR, "finished_at": now - 26 * HOUR + 40, "scope": "all",
            "trigger": "auto", "scanned": 1200, "enqueued": 4, "seconds": 40.0,
            "gaps": {GapType.STALE.value: 1, GapType.EMPTY.value: 3, GapType.MISSING.value: 0}})
        store.add_reconcile_run({
            "started_at": now - 2 * HOUR, "finished_at": now - 2 * HOUR + 12, "scope": "24h",
            "trigger": "task", "scanned": 57, "enqueued": 3, "seconds": 12.5,
            "gaps": {GapType.STALE.value: 2, GapType.EMPTY.value: 0, GapType.MISSING.value: 1}})
        return True
    finally:
        store.close()


def seed_outages(data_dir: str, now: float, *, down: bool) -> bool:
    """Three finished outages in a day of watching (and, with `down`, an open circuit since
    5 minutes ago with 3 jobs waiting), through the breaker's own writer; returns True."""
    state = breaker_state.fresh(now - 24 * HOUR)
    for start, length, jobs in ((now - 20 * HOUR, 600, 4), (now - 9 * HOUR, 1800, 12),
                                (now - 3 * HOUR, 120, 1)):
        outage_history.append(state, start, start + length, jobs)
    if down:
        state.update({"state": "open", "opened_at": now - 300, "jobs_affected": 3,
                      "next_probe_at": now + 60, "probe_delay": 60.0})
    breaker_state.write(data_dir, state)
    return True


def seed_mixed(data_dir: str, now: float, *, plex_down: bool = False) -> Seeded:
    seeded = Seeded(now)
    seed_queue(data_dir, now)
    if not seed_reconcile(data_dir, now):
        seeded.missing.append("reconcile")
    if not seed_outages(data_dir, now, down=plex_down):
        seeded.missing.append("outages")
    return seeded
