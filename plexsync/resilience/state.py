"""The breaker file `<data_dir>/breaker.json`: breaker state plus the last 30 outages.

Invariants and failure behaviour:
- One file holds both the breaker and the outage history, so a state change and its outage
  record are one atomic write (temp file, fsync, rename): an outage is recorded exactly once
  whichever process (task, timer) makes the transition.
- Every read-modify-write happens under `breaker.json.lock`, an advisory whole-file lock
  (`flock` on POSIX, `msvcrt.locking` on Windows), taken through `core.lockfile` by tasks and
  the timer alike (`lock`): one mechanism, standard library only (`filelock` costs ~150 ms of
  imports, too much for the background timer).
- A missing file is a closed breaker with no history. An empty, truncated or garbage file is
  treated the same, logged once (one warning, by the process that found it under the lock)
  and rewritten at once, so nobody else warns about it again.
- Times are clamped when read (`clamp`): after the wall clock steps back, the next probe is
  still at most `PROBE_CAP` away and no start time lies in the future.
- Standard library + core.fastjson (and core.datadir, the one atomic writer and reader) only:
  the timer process imports this.
"""

from __future__ import annotations

import os
from enum import StrEnum

from plexsync.core import datadir
from plexsync.core import fastjson as json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from contextlib import AbstractContextManager
    from typing import Any

class Circuit(StrEnum):
    """The breaker's state, as `breaker.json` spells it."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


FILE = "breaker.json"
LOCK = "breaker.json.lock"
LOCK_WAIT = 10.0
VERSION = 1
PROBE_STALE = 30.0     # a half-open probe this old lost its prober (breaker.py takes it over)
PROBE_BASE = float(os.environ.get("PLEXSYNC_PROBE_BASE", "5"))   # tests shorten the schedule
PROBE_CAP = float(os.environ.get("PLEXSYNC_PROBE_CAP", "60"))


def path(data_dir: str) -> str:
    return os.path.join(data_dir, FILE)


def fresh(now: float) -> dict[str, Any]:
    """A closed breaker that has watched Plex since `now`, with no outage recorded."""
    return {
        "version": VERSION,
        "state": Circuit.CLOSED.value,
        "failures": 0,
        "opened_at": None,         # start of the ongoing outage
        "next_probe_at": None,     # when open: the next probe is due then
        "probe_delay": 0.0,        # the backoff step that produced next_probe_at
        "probe_owner": None,       # when half-open: who is probing
        "probe_started_at": None,
        "recovered_at": None,      # last close after an outage: the ramp starts here
        "plex_url": "",            # where the timer probes (no token: /identity needs none)
        "jobs_affected": 0,        # of the ongoing outage
        "watched_since": now,      # start of the availability window
        "outages": [],             # oldest first: {start, end, duration_s, jobs_affected}
    }


def parse(raw: bytes, now: float) -> tuple[dict[str, Any], str]:
    """The state in `raw`, or (a fresh state, why the file was unusable)."""
    if not raw.strip():
        return fresh(now), "empty"
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return fresh(now), "truncated or not JSON"
    if not isinstance(doc, dict) or doc.get("state") not in tuple(Circuit):
        return fresh(now), "not a breaker state"
    state = fresh(now)
    for key, default in list(state.items()):
        value = doc.get(key, default)
        if default is not None and value is not None and not isinstance(value, type(default)) \
                and not (isinstance(default, float) and isinstance(value, int)):
            return fresh(now), f"field {key!r} has the wrong type"
        state[key] = value
    for key in ("opened_at", "next_probe_at", "probe_started_at", "recovered_at"):
        if state[key] is not None and not _number(state[key]):
            return fresh(now), f"field {key!r} has the wrong type"
    if not all(isinstance(o, dict) and all(_number(o.get(k)) for k in _OUTAGE_KEYS)
               for o in state["outages"]):
        return fresh(now), "outage history malformed"
    return state, ""


_OUTAGE_KEYS = ("start", "end", "duration_s", "jobs_affected")


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def read(data_dir: str, now: float, *, clamped: bool = True) -> tuple[dict[str, Any], str]:
    """Read without the lock (a rename makes the file whole or absent); problem or "".

    Through `datadir.read_bytes`: a file that cannot be read at all (a folder in its place, no
    permission) is moved aside with one warning and reads as missing (closed, no history).
    The times are clamped to `now` (`clamp`)."""
    raw = datadir.read_bytes(path(data_dir))
    if raw is None:
        return fresh(now), ""
    state, problem = parse(raw, now)
    if clamped:
        clamp(state, now)
    return state, problem


def clamp(state: dict[str, Any], now: float) -> None:
    """Make the times true whatever the wall clock did since they were written (a step back
    of an hour, a bad RTC at boot): nothing happened in the future, so a start time later than
    `now` becomes `now`, and the next probe is never more than `PROBE_CAP` away."""
    for key in ("opened_at", "probe_started_at", "recovered_at", "watched_since"):
        if state.get(key) is not None and float(state[key]) > now:
            state[key] = now
    due = state.get("next_probe_at")
    if due is not None and float(due) > now + PROBE_CAP:
        state["next_probe_at"] = now + min(PROBE_CAP, float(state.get("probe_delay") or 0)
                                           or PROBE_CAP)


def probe_pending(data_dir: str, now: float) -> bool:
    """The hook's check: the breaker is open and its next probe is still ahead. One small
    file read; a missing or damaged file is False (the hook then behaves as with no outage)."""
    state, problem = read(data_dir, now)
    if problem or state["state"] == Circuit.CLOSED:
        return False
    if state["state"] == Circuit.HALF_OPEN:   # unless its prober died: the drain takes it over
        return prober_alive(state, now)
    return now < float(state.get("next_probe_at") or 0)


def prober_alive(state: dict[str, Any], now: float) -> bool:
    """Whether a half-open probe still has its prober: started less than `PROBE_STALE` ago by
    a process that still exists (the owner is `<pid>-<random>`, on this machine). A prober
    killed mid-probe (Stash stops tasks with SIGKILL) is gone at once, not after the stale
    period."""
    started = state.get("probe_started_at")
    if started is None or now - float(started) >= PROBE_STALE:
        return False
    pid = str(state.get("probe_owner") or "").split("-", 1)[0]
    if not pid.isdigit() or os.name == "nt":
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except OSError:   # it exists but is someone else's (PermissionError)
        return True
    return True


def write(data_dir: str, state: dict[str, Any]) -> None:
    """Atomically replace the file, owner-only (`core.datadir.write_atomic`)."""
    from plexsync.core.datadir import write_atomic

    write_atomic(path(data_dir), json.dumps(state).encode("utf-8"))


def lock(data_dir: str) -> AbstractContextManager[object]:
    """THE lock of `breaker.json`, for tasks and the timer alike: `core.lockfile` (the
    standard library's `flock` / `msvcrt.locking`) on `breaker.json.lock`."""
    import contextlib

    from plexsync.core import lockfile

    @contextlib.contextmanager
    def held() -> Iterator[object]:
        fd = lockfile.lock(os.path.join(data_dir, LOCK), LOCK_WAIT)
        if fd is None:
            raise TimeoutError(f"{LOCK} stayed locked for {LOCK_WAIT:.0f} s")
        try:
            yield fd
        finally:
            lockfile.unlock(fd)

    return held()


