"""Arming the wake-up timer: the one API for "ask Stash for Process Queue at time T".

    from plexsync.timer.arm import arm
    arm(data_dir, due_at, server_connection)          # epoch seconds; returns an `Armed`

Callers: Process Queue at its end (the earliest retry), and later the outage breaker's probe
and auto-reconcile (their next due time). Any task may call it; the hook does not (it requests a
drain directly). Rules (docs/wake-timer.md):
- At most one timer. No live timer: one is spawned, armed for `due_at`. A live timer armed
  later: it is moved to `due_at` (its file is rewritten and, once it is ready, it is woken with
  SIGUSR1 on POSIX; on Windows it re-reads the file at least every `process.WINDOWS_POLL` s).
  A live timer armed earlier or at the same time: nothing changes (`Armed.KEPT`).
- The timer wakes at `due_at`, re-reads the queue's earliest due time and drains only if a job
  is due: arming for a time at which no job is due costs one wake-up and nothing else.
  (A caller with its own kind of due work, such as a breaker probe, extends `process` so the
  timer knows what to check.)
- Credentials (Stash address, session cookie or API key) go to a 0600 file, never to the
  timer's command line, which `ps` shows: `python <plugin>/plexsync.py wake-timer <data_dir>`.
- Cost to the caller: a few milliseconds (two small files, one fork/exec without waiting).
- Failure: arming is best effort. An OSError (read-only data directory, fork refused) is
  logged at debug by `arm_quietly`; work then waits for the next hook or task, as without a
  timer.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from enum import Enum
from typing import Any

from plexsync.core import datadir
from plexsync.core.log import log
from plexsync.timer import state

# Windows process creation flags (the values of winbase.h; subprocess has them only on Windows)
DETACHED_PROCESS = 0x00000008           # no console: not the task's
CREATE_NEW_PROCESS_GROUP = 0x00000200   # Ctrl+C/Break sent to the task's group skip the timer
CREATE_BREAKAWAY_FROM_JOB = 0x01000000  # outside a job object that would kill it with the task
ENTRYPOINT = os.path.join(datadir.PLUGIN_ROOT, "plexsync.py")
COMMAND = "wake-timer"


class Armed(Enum):
    STARTED = "started"   # a new timer process was spawned
    MOVED = "moved"       # the live timer now wakes earlier
    KEPT = "kept"         # the live timer already wakes at or before that time
    OFF = "off"           # `wake_timer` is off: nothing started


def command(data_dir: str) -> list[str]:
    """The timer's command line: no credentials, only the data directory."""
    return [sys.executable, ENTRYPOINT, COMMAND, data_dir]


def popen_kwargs(os_name: str, log_file: Any) -> dict[str, Any]:
    """Detach from the task: its own session/process group and its own stdin/stdout/stderr.

    Stash reads a task's stdout to the end before the task counts as finished, so an inherited
    pipe would keep Process Queue "running" until the timer exits; and Stash stops a task by
    killing it (its process only), so a session of its own keeps the timer alive."""
    kwargs: dict[str, Any] = {
        "stdin": subprocess.DEVNULL, "stdout": log_file, "stderr": log_file,
        "close_fds": True, "cwd": datadir.PLUGIN_ROOT,
        # no variable holding a credential (the CLI's PLEXSYNC_STASH_API_KEY, a token
        # exported by hand): the timer reads its owner-only credentials file instead
        "env": {k: v for k, v in os.environ.items() if not log.holds_secret(v)},
    }
    if os_name == "nt":
        kwargs["creationflags"] = (
            DETACHED_PROCESS | CREATE_NEW_PROCESS_GROUP | CREATE_BREAKAWAY_FROM_JOB)
    else:
        kwargs["start_new_session"] = True
    return kwargs


def spawn(data_dir: str) -> int:
    """Start the timer process detached; returns its pid. Does not wait for it."""
    absolute = os.path.abspath(data_dir)   # the timer runs in the plugin folder, not our cwd
    log_path = state.path(data_dir, state.LOG_FILE)
    try:
        if os.path.getsize(log_path) > state.LOG_LIMIT:
            os.replace(log_path, log_path + ".1")
    except OSError:
        pass
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        kwargs = popen_kwargs(os.name, fd)
        try:
            proc = subprocess.Popen(command(absolute), **kwargs)
        except OSError:
            if os.name != "nt":
                raise
            # a job object without breakaway rights refuses the flag: detach without it
            kwargs["creationflags"] &= ~CREATE_BREAKAWAY_FROM_JOB
            proc = subprocess.Popen(command(absolute), **kwargs)
    finally:
        os.close(fd)
    proc.returncode = 0  # never waited for: keeps subprocess from warning about it
    return proc.pid


def wake(pid: int) -> None:
    """Make a ready timer re-read its file now (POSIX); Windows timers poll instead."""
    if os.name == "nt":
        return
    import signal

    with contextlib.suppress(OSError):  # it just exited: the next arm starts a new one
        os.kill(pid, signal.SIGUSR1)


def arm(
    data_dir: str,
    due_at: float,
    server_connection: Mapping[str, Any],
    *,
    enabled: bool = True,
    clock: Callable[[], float] = time.time,
    spawner: Callable[[str], int] = spawn,
    waker: Callable[[int], None] = wake,
) -> Armed:
    """Have Stash asked for Process Queue at `due_at` (epoch seconds); see the module docstring.

    `enabled` is the `wake_timer` setting. Raises OSError (or TimeoutError from the state lock)
    when the data directory cannot be written or the process cannot be started."""
    if not enabled:
        return Armed.OFF
    state.write_credentials(data_dir, server_connection)
    with state.StateLock(data_dir):
        now = clock()
        current = state.read_state(data_dir)
        armed = current.get("armed_until")
        if armed is not None and state.timer_alive(data_dir, current, now):
            # A timer past its time is deciding or exiting: it keeps nothing, so the new
            # time is written for it to read before it exits (process.WakeTimer.run).
            if now < float(armed) <= due_at:
                return Armed.KEPT
            state.write_state(data_dir, {**current, "armed_until": due_at})
            if current.get("ready"):
                waker(int(current["pid"]))
            return Armed.MOVED
        pid = spawner(data_dir)
        state.write_state(data_dir, {"armed_until": due_at, "pid": pid, "spawned_at": now,
                                     "ready": False})
        return Armed.STARTED


def arm_quietly(data_dir: str, due_at: float, server_connection: Mapping[str, Any], *,
                enabled: bool = True) -> Armed | None:
    """`arm`, logging instead of raising: a task never fails because its timer could not be
    armed (the next hook or task still drains). Returns None on failure."""
    try:
        result = arm(data_dir, due_at, server_connection, enabled=enabled)
    except (OSError, TimeoutError) as exc:
        log.debug(f"could not arm the wake-up timer ({type(exc).__name__}: {exc}); queued "
                  "work waits for the next edit or task")
        return None
    if result is not Armed.OFF:
        log.debug(f"wake-up timer {result.value}: Process Queue is asked for again at "
                  f"{time.strftime('%H:%M:%S', time.localtime(due_at))}")
    return result
