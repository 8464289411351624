"""Stash restarting mid-drain: seconds from Stash's return to an empty queue.

Everything runs as in production, against the fakes in a child process
(`fakes.stash_restart_world`): `plexsync.py` started as Stash starts it, Stash's one-at-a-time
plugin job runner for every runPluginTask request, the real wake-up timer and its real Stash
retry schedule (5 s, 10 s, 20 s, 40 s, then every 60 s).

One run:
1. Every scene is queued and Process Queue runs; once a fifth of the edits reached Plex, Stash
   goes away (connection refused, as during a restart). The drain stops (`stash_down`),
   charging no job, and arms the wake-up timer, which finds Stash away and backs off.
2. `DOWN` seconds later Stash comes back: T0. The floor is the timer's next try, read from
   `wake-timer.json` at T0: nothing can happen before the timer asks Stash again.
3. From then on nothing but the product acts: the timer asks Stash for Process Queue and the
   drain empties the queue. The run fails loudly unless the queue empties with no job
   dead-lettered and no attempt charged.

Figure: T0 to an empty queue, beside the floor (the timer's next try).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import tempfile
import time
from typing import Any

from benchmarks.common import Figure, limit_key

DOWN = 8.0     # seconds Stash stays away: the timer's backoff is past its first step by then
POLL = 0.05
FIGURES = [
    Figure("stash.back_s", "Stash restart: Stash back to an empty queue", "s",
           bound="the wake-up timer's next try at Stash (5 s → 60 s backoff)"),
]


def _wait(what: str, done: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := done()):
        if time.monotonic() > deadline:
            raise RuntimeError(f"stash benchmark: {what} did not happen within {timeout:.0f} s")
        time.sleep(POLL)
    return result


def _queue(db: sqlite3.Connection) -> tuple[int, int, int]:
    """(jobs still queued, dead letters, attempts charged)."""
    jobs, charged = db.execute("SELECT count(*), COALESCE(SUM(attempts), 0) FROM jobs").fetchone()
    dead = db.execute("SELECT count(*) FROM dead_letters").fetchone()[0]
    return int(jobs), int(dead), int(charged)


def _one(host: Any, data_dir: str, scenes: int) -> dict[str, float]:
    from plexsync.core import datadir
    from plexsync.timer import state as timer_state

    first = host.call("restart_mid_drain", scenes // 5)
    if (first.get("output") or {}).get("stopped") != "stash_down":
        raise RuntimeError(f"stash benchmark: the drain did not stop for Stash: {first}")
    went = time.time()
    _wait("the wake-up timer arming", lambda: timer_state.timer_status(data_dir, time.time()), 10)
    time.sleep(max(0.0, went + DOWN - time.time()))
    armed = timer_state.timer_status(data_dir, time.time())
    if armed is None:
        raise RuntimeError("stash benchmark: no wake-up timer lives while work is due")
    t0 = host.call("stash_up")
    floor = max(0.0, float(armed["armed_until"]) - t0)
    db = sqlite3.connect(os.path.join(data_dir, datadir.DB_NAME))   # reads only
    try:
        _wait("an empty queue", lambda: _queue(db)[0] == 0, floor + 120)
        emptied = time.time()
        _, dead, _ = _queue(db)
    finally:
        db.close()
    _wait("the Process Queue ending", lambda: host.call("pending_runs") == 0, 60)
    if dead:
        raise RuntimeError(f"stash benchmark: {dead} job(s) dead-lettered")
    runs = host.call("runs")
    if [r["mode"] for r in runs] != ["process_queue"] or runs[0]["returncode"] != 0:
        raise RuntimeError(f"stash benchmark: Stash ran {runs} (want the timer's one drain)")
    return {"stash.back_s": emptied - t0, limit_key("stash.back_s"): floor}


def _stop_timer(data_dir: str) -> None:
    from plexsync.timer import state

    current = state.read_state(data_dir)
    pid = current.get("pid")
    if isinstance(pid, int) and state.timer_alive(data_dir, current, time.time()):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGTERM)


def measure(quick: bool) -> dict[str, float]:
    from benchmarks.fakes import FakeHost

    scenes = 100 if quick else 300
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = os.path.join(tmp, "data")
        os.makedirs(data_dir)
        try:
            with FakeHost("benchmarks.fakes:stash_restart_world", scenes=scenes,
                          data_dir=data_dir) as host:
                return _one(host, data_dir, scenes)
        finally:
            _stop_timer(data_dir)
