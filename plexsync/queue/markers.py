"""Drain markers: the two `meta` keys that tell whether a drain is running or requested.

- `drain.heartbeat_at`: written by the running drain when it starts and while it works, as
  "<epoch> <pid>" (`stamp`); fresh (younger than `RUNNING_FRESH`) AND its pid alive means a
  drain is running and will see new jobs. Stash stops a task with SIGKILL, which leaves a fresh
  heartbeat behind: the pid check (`os.kill(pid, 0)`, no signal is sent) tells that dead drain
  from a live one at once, so a hook in that window requests a new drain instead of leaving
  its job for a later run. A reused pid reads as alive: the heartbeat's age still ends that
  after `RUNNING_FRESH`. On Windows `os.kill` would terminate the process, so there the check
  is skipped and only the age counts (as do stamps without a pid, written by older versions).
- `drain.scheduled_at`: written by the hook that requested a drain, in the same transaction as
  its enqueue; fresh (younger than `SCHEDULED_FRESH`) means one is requested but not started.
  An older one counts as lost (Stash restarted, the task was cancelled): request again.

No lost wake-up: the hook commits its job and reads the markers in one write transaction; the
drain clears its heartbeat only in a transaction that finds no due job (drain_markers.py).
Those transactions are serialised, so either the drain sees the job or the hook sees no drain.
Standard library only: the hook imports this.
"""

from __future__ import annotations

import os
from enum import StrEnum

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    # `fn(meta, next_due)` → the keys to change (None deletes one); see JobQueue.update_meta.
    MetaFn = Callable[[dict[str, str], Callable[[], float | None]], Mapping[str, str | None]]

SCHEDULED_AT = "drain.scheduled_at"
HEARTBEAT_AT = "drain.heartbeat_at"
DRAIN_OWNER = "drain.owner"
RUNNING_FRESH = 120.0
SCHEDULED_FRESH = 180.0


def _age(meta: Mapping[str, str], key: str, now: float) -> float | None:
    try:
        return now - float(meta[key].split()[0])
    except (KeyError, ValueError, IndexError):
        return None


class DrainState(StrEnum):
    RUNNING = "running"        # a fresh heartbeat: the running drain will see new jobs
    SCHEDULED = "scheduled"    # a fresh request: Stash will start a drain
    IDLE = "idle"              # neither: the next enqueue requests a drain


def stamp(now: float) -> str:
    """A heartbeat or drain-request value: the time and this process's pid."""
    return f"{now:.6f} {os.getpid()}"


def _holder_dead(meta: Mapping[str, str]) -> bool:
    """Whether the heartbeat's pid names a process that no longer exists (cheap, no blocking)."""
    if os.name == "nt":   # os.kill(pid, 0) would TerminateProcess there: trust the age only
        return False
    try:
        pid = int(meta[HEARTBEAT_AT].split()[1])
    except (KeyError, ValueError, IndexError):
        return False
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OSError, OverflowError):   # exists (another user) or unknowable
        return False
    return False


def drain_state(meta: Mapping[str, str], now: float) -> DrainState:
    """The drain's state from the markers (and the heartbeat holder's pid)."""
    beat_age = _age(meta, HEARTBEAT_AT, now)
    if beat_age is not None and beat_age < RUNNING_FRESH and not _holder_dead(meta):
        return DrainState.RUNNING
    scheduled = _age(meta, SCHEDULED_AT, now)
    if scheduled is not None and scheduled < SCHEDULED_FRESH:
        return DrainState.SCHEDULED
    return DrainState.IDLE


def schedule_if_idle(now: float, token: str) -> MetaFn:
    """A meta update for the enqueue transaction: claim the right to request a drain."""

    def fn(meta: dict[str, str], _next_due: Callable[[], float | None]) -> dict[str, str | None]:
        return {SCHEDULED_AT: token} if drain_state(meta, now) is DrainState.IDLE else {}

    return fn


def withdraw(token: str) -> MetaFn:
    """Remove our `scheduled_at` marker (the request failed), unless someone replaced it."""

    def fn(meta: dict[str, str], _next_due: Callable[[], float | None]) -> dict[str, str | None]:
        return {SCHEDULED_AT: None} if meta.get(SCHEDULED_AT) == token else {}

    return fn
