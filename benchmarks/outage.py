"""Outage recovery: seconds from Plex's return to an empty queue, for 1,000 queued scenes,
through the circuit breaker, its probe and the post-recovery ramp (plexsync/resilience/).

Everything runs as in production, against the fakes in a child process
(`fakes.outage_world`): `plexsync.py` processes started by Stash's one-at-a-time plugin job
runner (testkit/stash_jobs.py) for every runPluginTask request, the real wake-up timer, and the
product's real probe schedule (5 s, 10 s, 20 s, 40 s, then every 60 s: the test suite's
`PLEXSYNC_PROBE_*` shortcuts are removed from the environment).

One run:
1. Set-up (not measured): every scene is synced once while Plex is up.
2. Plex goes away (connection refused, as during a restart). Every scene is edited in Stash and
   queued; the last edit's hook (a real hook process) asks Stash for Process Queue, which
   meets the outage: five failures in a row open the breaker, the drain stops and arms the
   wake-up timer for the first probe.
3. Once that drain has ended, Plex comes back: T0. From then on nothing but the product acts:
   the timer's probe closes the breaker (the recovery), the timer asks Stash for Process
   Queue, and the drain sends the backlog through the token bucket's ramp.
4. The queue is watched (read-only) until it holds no job. The run fails loudly, and reports
   nothing, unless every scene's Plex item has its new title, no job is dead-lettered, the
   breaker is closed with exactly this outage recorded, and Process Queue ran only twice (the
   hook's, stopped by the outage, and the timer's).

Figures, each beside its floor:
- detection, T0 to the breaker's recovery: the floor is the breaker's next scheduled probe
  (`next_probe_at` in breaker.json at T0). Plex here comes back just after the breaker opened,
  so that is its first probe, 5 s away; after a longer outage the wait is up to the 60 s cap.
- the ramp, recovery to an empty queue: the floor is `ramp_floor(N)`, the time the token
  bucket (resilience/bucket.py) needs to admit N jobs, its rate rising from START_RATE to
  FULL_RATE over RAMP_SECONDS from the recovery (about 124 s for 1,000 jobs, 18 s for 100).
- the total, T0 to an empty queue: the sum of both floors.
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import sqlite3
import tempfile
import time
from typing import Any

from benchmarks.common import Figure, limit_key
from benchmarks.fakes import FakeHost
from plexsync.resilience.breaker import PROBE_BASE, PROBE_CAP
from plexsync.resilience.bucket import FULL_RATE, RAMP_SECONDS, START_RATE

_RAMP = f"{START_RATE:g} → {FULL_RATE:g} jobs/s over {RAMP_SECONDS:g} s"
FIGURES = [
    Figure("outage.detect_s", "outage: Plex back to the breaker's recovery", "s",
           bound=f"the next scheduled probe (here the first, {PROBE_BASE:g} s; up to "
                 f"{PROBE_CAP:g} s into a long outage)"),
    Figure("outage.ramp_s", "outage: recovery to an empty queue (1,000 scenes)", "s",
           bound=f"the ramp admitting the N jobs ({_RAMP}, bucket.py)"),
    Figure("outage.recovery_s", "outage: Plex back to an empty queue (1,000 scenes)", "s",
           bound="the next probe + the ramp for the N jobs"),
]
POLL = 0.05


def ramp_floor(jobs: int) -> float:
    """Seconds from a recovery until the token bucket has admitted `jobs` jobs at the earliest.

    The bucket (plexsync.resilience.bucket) starts holding one token and refills at
    rate(t) = START + (FULL - START) * t / RAMP for t < RAMP, without limit after that; job k
    goes out once the refill since the recovery reaches k - 1 tokens. Solves
    START * t + (FULL - START) * t**2 / (2 * RAMP) = jobs - 1 for t, capped at RAMP."""
    tokens = max(0, jobs - 1)
    if tokens == 0:
        return 0.0
    if tokens >= (START_RATE + FULL_RATE) / 2 * RAMP_SECONDS:
        return RAMP_SECONDS     # the rest goes out unpaced once the ramp is over
    slope = (FULL_RATE - START_RATE) / RAMP_SECONDS   # d(rate)/dt
    if slope == 0:
        return tokens / START_RATE
    return (-START_RATE + math.sqrt(START_RATE ** 2 + 2 * slope * tokens)) / slope


def _wait(what: str, done: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := done()):
        if time.monotonic() > deadline:
            raise RuntimeError(f"outage benchmark: {what} did not happen within {timeout:.0f} s")
        time.sleep(POLL)
    return result


def _queue_counts(db: sqlite3.Connection) -> tuple[int, int]:
    """(jobs still queued in any state, dead letters)."""
    jobs = db.execute("SELECT count(*) FROM jobs").fetchone()[0]
    dead = db.execute("SELECT count(*) FROM dead_letters").fetchone()[0]
    return int(jobs), int(dead)


def _stop_timer(data_dir: str) -> None:
    """A failed run may leave the wake-up timer this run started asleep: end it by its pid."""
    from plexsync.timer import state

    pid = state.read_state(data_dir).get("pid")
    if isinstance(pid, int) and state.timer_alive(data_dir, state.read_state(data_dir),
                                                  time.time()):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGTERM)


def _check(report: dict[str, Any], breaker: dict[str, Any], scenes: int, t0: float) -> None:
    """Fail loudly unless the recovery was complete and the product's own."""
    problems: list[str] = []
    if report["wrong"]:
        problems.append(f"{len(report['wrong'])} Plex item(s) lack their value, e.g. "
                        f"{report['wrong'][:3]}")
    if len(report["edits_since"]) < scenes:
        problems.append(f"{len(report['edits_since'])} Plex edits after T0 for {scenes} scenes")
    if breaker["state"] != "closed" or len(breaker.get("outages") or []) != 1:
        problems.append(f"breaker {breaker['state']} with {len(breaker.get('outages') or [])} "
                        "outage(s) recorded (want closed, 1)")
    runs = report["runs"]
    modes = [r["mode"] for r in runs]
    if modes != ["process_queue", "process_queue"]:
        problems.append(f"Stash ran {modes} (want the hook's Process Queue, then the timer's)")
    elif not (runs[1]["requested_at"] >= t0 and runs[1]["returncode"] == 0):
        problems.append(f"the recovery's Process Queue: {runs[1]['answer']} "
                        f"{runs[1]['stderr_tail']}")
    if problems:
        raise RuntimeError("outage benchmark: " + "; ".join(problems))


def _one(host: FakeHost, data_dir: str, scenes: int) -> dict[str, float]:
    from plexsync.core import datadir
    from plexsync.resilience import state as breaker_file
    from plexsync.timer import state as timer_state

    synced = host.call("first_sync")
    if synced.get("error") or synced["output"].get("synced") != scenes:
        raise RuntimeError(f"outage benchmark: the set-up sync did not sync {scenes} scenes: "
                           f"{synced}")
    hook = host.call("outage")
    if hook.get("output", {}).get("drain") != "requested":
        raise RuntimeError(f"outage benchmark: the hook did not ask for Process Queue: {hook}")
    _wait("the breaker opening", lambda: breaker_file.read(data_dir, time.time())[0]["state"]
          == "open", 120)
    _wait("the outage's Process Queue ending", lambda: host.call("pending_runs") == 0, 60)
    first = host.call("runs")
    if [r["answer"].get("output", {}).get("stopped") for r in first] != ["plex_down"]:
        raise RuntimeError(f"outage benchmark: the outage's Process Queue: {first}")
    _wait("the wake-up timer arming for the probe",
          lambda: timer_state.timer_status(data_dir, time.time()) is not None, 10)

    next_probe = float(breaker_file.read(data_dir, time.time())[0]["next_probe_at"])
    t0 = host.call("plex_up")
    db = sqlite3.connect(os.path.join(data_dir, datadir.DB_NAME))   # reads only
    try:
        timeout = max(0.0, next_probe - t0) + 3 * ramp_floor(scenes) + 120
        _wait("an empty queue", lambda: _queue_counts(db)[0] == 0, timeout)
        emptied = time.time()
        dead = _queue_counts(db)[1]
    finally:
        db.close()
    _wait("the recovery's Process Queue ending", lambda: host.call("pending_runs") == 0, 60)
    breaker = breaker_file.read(data_dir, time.time())[0]
    _check(host.call("report", t0), breaker, scenes, t0)
    if dead:
        raise RuntimeError(f"outage benchmark: {dead} job(s) dead-lettered")
    recovered = float(breaker["recovered_at"])
    detect_floor = max(0.0, next_probe - t0)
    return {
        "outage.detect_s": recovered - t0,
        limit_key("outage.detect_s"): detect_floor,
        "outage.ramp_s": emptied - recovered,
        limit_key("outage.ramp_s"): ramp_floor(scenes),
        "outage.recovery_s": emptied - t0,
        limit_key("outage.recovery_s"): detect_floor + ramp_floor(scenes),
    }


def measure(quick: bool) -> dict[str, float]:
    scenes = 100 if quick else 1_000
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = os.path.join(tmp, "data")
        os.makedirs(data_dir)
        try:
            with FakeHost("benchmarks.fakes:outage_world", scenes=scenes,
                          data_dir=data_dir) as host:
                return _one(host, data_dir, scenes)
        finally:
            _stop_timer(data_dir)
