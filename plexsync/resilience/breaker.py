"""The circuit breaker (docs/outages.md): its transitions in one table (`TRANSITIONS`).

closed ──5 consecutive outage failures──▶ open ──probe due, one taker──▶ half_open
  ▲                                         ▲                               │
  └────────────── good probe ───────────────┼───────────── bad probe ───────┘

Invariants and failure behaviour:
- Only outage failures count: `PlexServerDown` with `outage=True` (the processor saw Plex
  itself fail its health probe, or a probe here failed). NotFound, LowConfidence, 4xx, 401
  never reach `failure()`; callers filter with `counts_as_failure`.
- Every operation is one read-modify-write of `breaker.json` under its lock (state.py), so
  the state is shared by every process and survives restarts. Transitions record the
  outage in the same write: its start when opening, its end when closing. Exactly once.
- Exactly one probe at a time: `begin_probe` moves open → half_open for one owner only; the
  others see half_open and do not probe. A prober that dies leaves half_open behind: anyone
  may take the probe over as soon as its pid is gone, or after `PROBE_STALE` s at the latest.
- Probe backoff: 5 s, 10 s, 20 s, 40 s, then 60 s (cap) between probes while open.
- Listeners (`BreakerListener`) get `state_change(old, new, state)` after the write, outside the
  lock: logging, arming the wake-up timer and other side effects live there.
- Standard library only (the timer process uses it too); its lock is `state.lock`.
"""

from __future__ import annotations

import os
from enum import Enum

from plexsync.resilience import history
from plexsync.resilience import state as files
from plexsync.resilience.state import Circuit

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from contextlib import AbstractContextManager
    from typing import Any, Protocol

    class BreakerListener(Protocol):
        def state_change(self, old: str, new: str, state: dict[str, Any]) -> None: ...

FAILURE_THRESHOLD = 5
PROBE_BASE = files.PROBE_BASE
PROBE_CAP = files.PROBE_CAP
PROBE_STALE = files.PROBE_STALE

CLOSED, OPEN, HALF_OPEN = Circuit.CLOSED, Circuit.OPEN, Circuit.HALF_OPEN


def next_delay(previous: float) -> float:
    """The backoff step after `previous` (0 = the first probe after opening)."""
    return PROBE_BASE if previous <= 0 else min(PROBE_CAP, previous * 2)


class Event(Enum):
    FAILURE = "failure"   # an outage failure, or a failed probe
    SUCCESS = "success"   # Plex answered a real request, or a good probe


def _count_failure(s: dict[str, Any], now: float) -> Circuit:
    s["failures"] = int(s["failures"]) + 1
    if s["failures"] < FAILURE_THRESHOLD:
        return CLOSED
    s.update(opened_at=now, jobs_affected=0)
    _schedule_probe(s, now, 0.0)
    return OPEN


def _reset(s: dict[str, Any], now: float) -> Circuit:
    s["failures"] = 0
    return CLOSED


def _stay_open(s: dict[str, Any], now: float) -> Circuit:
    return OPEN   # failures while open change nothing: the probe schedule decides


def _reopen(s: dict[str, Any], now: float) -> Circuit:
    _schedule_probe(s, now, float(s["probe_delay"]))
    return OPEN


def _schedule_probe(s: dict[str, Any], now: float, previous: float) -> None:
    delay = next_delay(previous)
    s.update(probe_delay=delay, next_probe_at=now + delay, probe_owner=None,
             probe_started_at=None)


def _close(s: dict[str, Any], now: float) -> Circuit:
    if s.get("opened_at") is not None:
        history.append(s, float(s["opened_at"]), now, int(s.get("jobs_affected") or 0))
        s["recovered_at"] = now
    s.update(failures=0, opened_at=None, next_probe_at=None, probe_delay=0.0, probe_owner=None,
             probe_started_at=None, jobs_affected=0)
    return CLOSED


# Every transition, in one place: (state, event) -> the change it makes, returning the new state.
TRANSITIONS: dict[tuple[Circuit, Event], Callable[[dict[str, Any], float], Circuit]] = {
    (CLOSED, Event.FAILURE): _count_failure,
    (CLOSED, Event.SUCCESS): _reset,
    (OPEN, Event.FAILURE): _stay_open,
    (OPEN, Event.SUCCESS): _close,
    (HALF_OPEN, Event.FAILURE): _reopen,
    (HALF_OPEN, Event.SUCCESS): _close,
}


def apply(s: dict[str, Any], event: Event, now: float) -> Circuit:
    """One transition of the table on the state dict `s` (mutated); returns the new state."""
    return TRANSITIONS[(Circuit(s["state"]), event)](s, now)


def may_probe(s: dict[str, Any], now: float) -> bool:
    """Open: once the next probe is due. Half-open: once its prober is gone (pid) or stale."""
    if s["state"] == OPEN:
        return now >= float(s["next_probe_at"] or 0)
    return s["state"] == HALF_OPEN and not files.prober_alive(s, now)


class Breaker:
    """The shared breaker of one data directory."""

    def __init__(
        self,
        data_dir: str,
        *,
        lock: Callable[[str], AbstractContextManager[object]] = files.lock,
        warn: Callable[[str], None] | None = None,
        listeners: list[BreakerListener] | None = None,
        owner: str | None = None,
    ) -> None:
        self.data_dir = data_dir
        self._lock = lock
        self._warn = warn
        self.listeners: list[BreakerListener] = list(listeners or [])
        self.owner = owner or f"{os.getpid()}-{os.urandom(3).hex()}"

    # ------------------------------------------------------------------ reads
    def peek(self, now: float) -> dict[str, Any]:
        """The state without the lock (never writes; a damaged file reads as closed)."""
        return files.read(self.data_dir, now)[0]

    def repair(self, now: float) -> None:
        """A damaged file is rewritten now (one warning, by whoever gets the lock first); a
        missing one is written: PlexSync watches Plex from its first run (availability)."""
        if files.read(self.data_dir, now)[1] or not os.path.exists(files.path(self.data_dir)):
            self._transact(now, lambda s: str(s["state"]))

    # ------------------------------------------------------------------ transitions
    def failure(self, now: float, *, plex_url: str = "", jobs: int = 0) -> dict[str, Any]:
        """One outage failure (a request and the health probe after it both failed)."""
        def change(s: dict[str, Any]) -> str:
            if plex_url:
                s["plex_url"] = plex_url
            new = apply(s, Event.FAILURE, now)
            if new == OPEN:
                s["jobs_affected"] = max(int(s["jobs_affected"]), jobs)
            return new
        return self._transact(now, change)

    def trip(self, now: float, *, plex_url: str = "", jobs: int = 0) -> dict[str, Any]:
        """Open a closed breaker at once (the drain saw a run of unanswered requests on
        different items: Plex hangs while its /identity still answers)."""
        def change(s: dict[str, Any]) -> str:
            if s["state"] != CLOSED:
                return str(s["state"])
            if plex_url:
                s["plex_url"] = plex_url
            s["failures"] = FAILURE_THRESHOLD - 1
            new = apply(s, Event.FAILURE, now)
            s["jobs_affected"] = jobs
            return new
        return self._transact(now, change)

    def success(self, now: float) -> dict[str, Any]:
        """Plex answered a real request: closes a half-open breaker, resets the count."""
        def change(s: dict[str, Any]) -> str:
            if s["state"] == CLOSED and not s["failures"]:
                return CLOSED
            return apply(s, Event.SUCCESS, now)
        return self._transact(now, change)

    def note_jobs(self, now: float, jobs: int) -> None:
        """The ongoing outage holds up `jobs` jobs (kept as the maximum seen)."""
        def change(s: dict[str, Any]) -> str:
            if s["state"] != CLOSED:
                s["jobs_affected"] = max(int(s["jobs_affected"]), jobs)
            return str(s["state"])
        self._transact(now, change)

    def begin_probe(self, now: float) -> bool:
        """Take the one probe if it is due: True = this owner probes now and must call
        `end_probe`. Across processes only one caller gets True until the probe ends."""
        taken = False

        def change(s: dict[str, Any]) -> str:
            nonlocal taken
            if not may_probe(s, now):
                return str(s["state"])
            taken = True
            s.update(probe_owner=self.owner, probe_started_at=now)
            return HALF_OPEN
        self._transact(now, change)
        return taken

    def end_probe(self, now: float, ok: bool) -> dict[str, Any]:
        """The probe's answer: ok closes the breaker (the outage ends), else back to open."""
        def change(s: dict[str, Any]) -> str:
            if s["state"] != HALF_OPEN or s.get("probe_owner") != self.owner:
                return str(s["state"])   # someone else took over a stale probe meanwhile
            return apply(s, Event.SUCCESS if ok else Event.FAILURE, now)
        return self._transact(now, change)

    # ------------------------------------------------------------------ plumbing
    def _transact(self, now: float, change: Callable[[dict[str, Any]], str]) -> dict[str, Any]:
        """`change` mutates the state under the lock and returns the new state's name."""
        with self._lock(self.data_dir):
            s, problem = files.read(self.data_dir, now, clamped=False)
            if problem:
                self._warning(problem)
            old = str(s["state"])
            snapshot = dict(s)
            files.clamp(s, now)   # written back below when the wall clock stepped
            new = change(s)
            s["state"] = new
            if problem or s != snapshot or not os.path.exists(files.path(self.data_dir)):
                files.write(self.data_dir, s)
        if new != old:
            for listener in self.listeners:
                listener.state_change(old, new, s)
        return s

    def _warning(self, problem: str) -> None:
        message = (f"The circuit breaker file {files.FILE} was unreadable ({problem}); "
                   "treated as closed and rewritten.")
        if self._warn is not None:
            self._warn(message)


def counts_as_failure(error: BaseException) -> bool:
    """Only an outage-class PlexServerDown counts (never NotFound, LowConfidence, 4xx, 401)."""
    from plexsync.errors import ErrorClass, PlexSyncError

    return (isinstance(error, PlexSyncError)
            and error.error_class is ErrorClass.PLEX_SERVER_DOWN and error.outage)
