"""The breaker file `<data_dir>/breaker.json`: breaker state plus the last 30 outages.

Invariants and failure behaviour:
- One file holds both the breaker and the outage history, so a state change and its outage
  record are one atomic write (temp file, fsync, rename): an outage is recorded exactly once
  whichever process (task, timer) makes the transition.
- Every read-modify-write happens under `breaker.json.lock`, an advisory whole-file lock
  (`flock` on POSIX, `msvcrt.locking` on Windows). Tasks take it with `filelock`, the timer with
  the standard-library `timer.lockfile`; both lock the same file the same way, so they exclude
  each other (`filelock` costs ~150 ms of imports, too much for the background timer).
- A missing file is a closed breaker with no history. An empty, truncated or garbage file is
  treated the same, logged once (one warning, by the process that found it under the lock)
  and rewritten at once, so nobody else warns about it again.
- Standard library + core.fastjson (and core.datadir, the one atomic writer) only: the timer
  process imports this.
"""

from __future__ import annotations

import os

from plexsync.core import fastjson as json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from contextlib import AbstractContextManager
    from typing import Any

FILE = "breaker.json"
LOCK = "breaker.json.lock"
LOCK_WAIT = 10.0
VERSION = 1
PROBE_STALE = 30.0     # a half-open probe this old lost its prober (breaker.py takes it over)


def path(data_dir: str) -> str:
    return os.path.join(data_dir, FILE)


def fresh(now: float) -> dict[str, Any]:
    """A closed breaker that has watched Plex since `now`, with no outage recorded."""
    return {
        "version": VERSION,
        "state": "closed",
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
    if not isinstance(doc, dict) or doc.get("state") not in ("closed", "open", "half_open"):
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


def read(data_dir: str, now: float) -> tuple[dict[str, Any], str]:
    """Read without the lock (a rename makes the file whole or absent); problem or ""."""
    try:
        with open(path(data_dir), "rb") as file:
            raw = file.read()
    except FileNotFoundError:
        return fresh(now), ""
    return parse(raw, now)


def probe_pending(data_dir: str, now: float) -> bool:
    """The hook's check: the breaker is open and its next probe is still ahead. One small
    file read; a missing or damaged file is False (the hook then behaves as with no outage)."""
    state, problem = read(data_dir, now)
    if problem or state["state"] == "closed":
        return False
    if state["state"] == "half_open":   # unless its prober died: the drain takes it over
        started = state.get("probe_started_at")
        return started is not None and now - float(started) < PROBE_STALE
    return now < float(state.get("next_probe_at") or 0)


def write(data_dir: str, state: dict[str, Any]) -> None:
    """Atomically replace the file, owner-only (`core.datadir.write_atomic`)."""
    from plexsync.core.datadir import write_atomic

    write_atomic(path(data_dir), json.dumps(state).encode("utf-8"))


def filelock_lock(data_dir: str) -> AbstractContextManager[object]:
    """The tasks' lock: `filelock` (see the module docstring)."""
    from filelock import FileLock

    return FileLock(os.path.join(data_dir, LOCK), timeout=LOCK_WAIT)


def stdlib_lock(data_dir: str) -> AbstractContextManager[object]:
    """The timer's lock: the same file locked with the standard library."""
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


