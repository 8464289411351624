"""Import Plex Play State: the task, and the automatic import every 15 minutes.

`run_import_play_state` runs one pass (plexsync/playstate/importer.py) when asked, whatever
`import_play_state` says (running the task is asking). `auto_import(ctx)` is called by the
router after every other task: with `import_play_state` on and an import due
(playstate/schedule.py) it runs one; when one is due later it keeps the queue meta
`IMPORT_DUE_KEY` and arms the wake-up timer for then (the timer asks Stash for Process Queue,
whose run does the import), as automatic reconciliation does.

Failure rules are the sync's: while the outage breaker is open (and no probe succeeds) no pass
starts; a pass that meets Plex down counts one breaker failure and writes nothing; a Stash
failure halfway moves no mark. Either way nothing is lost: the next pass, 15 minutes after
this attempt, reads the same plays again.
"""

from __future__ import annotations

import time
from typing import Any

from plexsync.core.context import TaskContext
from plexsync.core.log import log
from plexsync.errors import PlexServerDown, StashError
from plexsync.playstate import schedule
from plexsync.queue.job_queue import JobQueue
from plexsync.resilience import gate
from plexsync.timer.state import IMPORT_DUE_KEY
from plexsync.timer.wake import arm_timer

ATTEMPT_KEY = "play_import_attempt_at"   # queue meta: when the last pass started (any outcome)


def run_import_play_state(ctx: TaskContext) -> dict[str, Any]:
    if not ctx.settings.import_play_state:
        log.info("Import Plex Play State runs because you asked; it does not repeat on its own "
                 "while import_play_state is off.")
    return import_once(ctx, "task")


def import_once(ctx: TaskContext, trigger: str) -> dict[str, Any]:
    """One pass through the breaker (see the module docstring); its output."""
    ctx.settings.require_plex()
    now = ctx.clock()
    _note_attempt(ctx, now)
    breaker = gate.breaker_for(ctx)
    breaker.repair(now)
    if breaker.peek(now)["state"] != "closed" and not gate.run_probe(breaker, ctx):
        state = breaker.peek(ctx.clock())
        log.warning(f"Plex is down (since {_at(state.get('opened_at'))}); the play-state import "
                    f"waits until {_at(now + schedule.INTERVAL)}. Nothing is lost: it reads "
                    "every play since the last import then.")
        return {"skipped": "circuit_open", "next_run": _at(now + schedule.INTERVAL)}
    from plexsync.playstate.importer import PlayImport
    from plexsync.plex.client import PlexClient

    store = JobQueue.open(ctx.data_dir)
    try:
        plex = PlexClient(ctx.settings, ctx.data_dir)
        try:
            summary = PlayImport(plex, ctx.stash, store, ctx.settings, ctx.data_dir,
                                 ctx.clock).run(trigger)
        except PlexServerDown as exc:
            breaker.failure(ctx.clock(), plex_url=ctx.settings.plex_url)
            raise PlexServerDown(f"Play-state import stopped, nothing was imported: {exc} The "
                                 "next import (at "
                                 f"{_at(now + schedule.INTERVAL)}) reads the same plays again.") \
                from None
        except StashError as exc:
            raise StashError(f"Play-state import stopped halfway: {exc}; what Stash took is "
                             "kept, and the next import (at "
                             f"{_at(now + schedule.INTERVAL)}) adds the rest, none twice.") \
                from None
    finally:
        store.close()
    out = summary.as_output()
    out["next_run"] = _at(now + schedule.INTERVAL) if ctx.settings.import_play_state else None
    log.info(f"Play-state import: {summary.plays} play(s), {summary.resume_points} resume "
             f"point(s), {summary.ratings} rating(s) imported into {summary.scenes} scene(s) "
             f"({summary.plex_requests} Plex requests"
             + (f"; {summary.unmatched_plays} play(s) of Plex items no scene is matched to "
                "skipped" if summary.unmatched_plays else "")
             + ").")
    return out


def auto_import(ctx: TaskContext) -> dict[str, Any] | None:
    """Run the automatic import if one is due; returns its output, else None (module doc)."""
    enabled = ctx.settings.import_play_state and bool(ctx.settings.plex_url)
    store = JobQueue.open(ctx.data_dir)
    try:
        meta = store.read_meta()
        now = ctx.clock()
        last = meta.get(ATTEMPT_KEY)
        decision = schedule.due(enabled, float(last) if last else None, now)
        wanted = None if decision.next_at is None else repr(decision.next_at)
        if not decision.now and meta.get(IMPORT_DUE_KEY) != wanted:
            store.update_meta(lambda _m, _n: {IMPORT_DUE_KEY: wanted})
    finally:
        store.close()
    if not decision.now:
        if decision.next_at is not None:
            arm_timer(ctx, decision.next_at)
        return None
    return import_once(ctx, "auto")


def _note_attempt(ctx: TaskContext, now: float) -> None:
    """The next pass is due one interval after this attempt, whatever its outcome."""
    enabled = ctx.settings.import_play_state
    next_at = now + schedule.INTERVAL
    store = JobQueue.open(ctx.data_dir)
    try:
        store.update_meta(lambda _m, _n: {ATTEMPT_KEY: repr(now),
                                          IMPORT_DUE_KEY: repr(next_at) if enabled else None})
    finally:
        store.close()
    if enabled:
        arm_timer(ctx, next_at)


def _at(epoch: Any) -> str:
    if epoch is None:
        return "?"
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(float(epoch)))

