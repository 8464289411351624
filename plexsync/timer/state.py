"""The timer's files in the data directory, and who may change them.

- `wake-timer.lock`: held by the running timer for its whole life. Held = a timer is alive;
  it is the "at most one" of docs/wake-timer.md (a second timer that cannot take it exits).
- `wake-timer.json`: `{"armed_until": epoch, "pid": int, "spawned_at": epoch, "ready": bool}`,
  read-modify-written only under `wake-timer.json.lock` (held for milliseconds), written
  atomically (temp file + rename). `ready` means the timer has installed its wake-up signal
  handler: before that, arming an earlier time only rewrites the file (the timer reads it
  after it gets ready), never signals it (SIGUSR1's default action would kill it).
- `wake-timer-credentials.json`: Stash's address and the plugin's session cookie or API key,
  mode 0600 (owner only), rewritten only when they change. Never on a command line.
- `wake-timer.log`: the timer's stdout and stderr (a few lines per run; restarted past 256 KB).

Standard library plus `plexsync.core.fastjson` (and `core.datadir`, the one atomic writer) only:
the timer process imports this.
"""

from __future__ import annotations

import os

from plexsync.core import lockfile

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

RUN_LOCK = "wake-timer.lock"
STATE_FILE = "wake-timer.json"
STATE_LOCK = "wake-timer.json.lock"
CREDENTIALS_FILE = "wake-timer-credentials.json"
LOG_FILE = "wake-timer.log"
LOG_LIMIT = 256 * 1024
SNAPSHOT_KEY = "wake_timer"     # in the settings snapshot the last task wrote
# Queue meta key: when the next automatic reconciliation falls due (epoch seconds), written by
# plexsync/tasks/reconcile.py; the timer treats it like a job's due time.
RECONCILE_DUE_KEY = "reconcile_due_at"
# Queue meta key: when the next automatic play-state import falls due (plexsync/tasks/
# play_state.py); treated the same way (the Process Queue it asks for runs the import).
IMPORT_DUE_KEY = "play_import_due_at"
STATE_LOCK_WAIT = 10.0
STARTUP_GRACE = 15.0            # a spawned timer not holding its lock yet is "starting" this long


def path(data_dir: str, name: str) -> str:
    return os.path.join(data_dir, name)


def read_json(file: str) -> dict[str, Any]:
    """A JSON object from `file`; {} when missing. A damaged file (unreadable, a folder in its
    place, not a JSON object) is moved aside with one warning (`datadir.read_json`)."""
    from plexsync.core import datadir

    return datadir.read_json(file, {})


def write_json(file: str, data: Mapping[str, Any]) -> None:
    """Atomically replace `file` with `data`, owner-only (`core.datadir.write_atomic`)."""
    from plexsync.core.datadir import write_json as write_atomic_json

    write_atomic_json(file, data)


def read_state(data_dir: str) -> dict[str, Any]:
    return read_json(path(data_dir, STATE_FILE))


def write_state(data_dir: str, state: Mapping[str, Any]) -> None:
    write_json(path(data_dir, STATE_FILE), state)


class StateLock:
    """`with StateLock(data_dir):` around every read-modify-write of the state file."""

    def __init__(self, data_dir: str) -> None:
        self._path = path(data_dir, STATE_LOCK)
        self._fd: int | None = None

    def __enter__(self) -> StateLock:
        self._fd = lockfile.lock(self._path, STATE_LOCK_WAIT)
        if self._fd is None:
            raise TimeoutError(f"{STATE_LOCK} stayed locked for {STATE_LOCK_WAIT:g} s")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            lockfile.unlock(self._fd)
            self._fd = None


def credentials_from(conn: Mapping[str, Any]) -> dict[str, Any]:
    """What the timer needs of Stash's `server_connection`: address plus cookie or API key."""
    out: dict[str, Any] = {k: conn.get(k) for k in ("Scheme", "Host", "Port") if conn.get(k)}
    cookie = conn.get("SessionCookie")
    if isinstance(cookie, dict) and cookie.get("Value"):
        out["SessionCookie"] = {"Name": cookie.get("Name") or "session", "Value": cookie["Value"]}
    if conn.get("ApiKey"):
        out["ApiKey"] = str(conn["ApiKey"])
    return out


def write_credentials(data_dir: str, conn: Mapping[str, Any]) -> None:
    """Store the credentials owner-only (0600); rewritten only when they changed."""
    file = path(data_dir, CREDENTIALS_FILE)
    wanted = credentials_from(conn)
    if read_json(file) == wanted:
        if os.name != "nt" and os.stat(file).st_mode & 0o077:
            os.chmod(file, 0o600)
        return
    write_json(file, wanted)


def read_credentials(data_dir: str) -> dict[str, Any]:
    return read_json(path(data_dir, CREDENTIALS_FILE))


def pid_alive(pid: int) -> bool:
    """Whether process `pid` exists (reaping it first if it is our own finished child)."""
    if pid <= 0:
        return False
    if os.name == "nt":
        return True  # no cheap check without ctypes; the run lock decides (`timer_alive`)
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    except ChildProcessError:
        pass  # not our child: the usual case (the task that started it has exited)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    """A killed process not reaped yet (where no init reaps, as in many containers) is dead."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()[0] == b"Z"
    except (OSError, IndexError):
        return False


def timer_alive(data_dir: str, state: Mapping[str, Any], now: float) -> bool:
    """Whether the timer `state` names is running: its pid exists and it holds the run lock,
    or it was spawned moments ago and is still starting up."""
    pid = state.get("pid")
    if not isinstance(pid, int) or not pid_alive(pid):
        return False
    if lockfile.is_locked(path(data_dir, RUN_LOCK)):
        return True
    if state.get("ready"):   # it ran and no longer holds its lock: killed
        return False
    spawned = state.get("spawned_at")
    return isinstance(spawned, int | float) and 0 <= now - spawned < STARTUP_GRACE


def timer_status(data_dir: str, now: float) -> dict[str, Any] | None:
    """`{"armed_until": epoch, "pid": int}` of the live timer, or None (the status JSON)."""
    current = read_state(data_dir)
    if current.get("armed_until") is None or not timer_alive(data_dir, current, now):
        return None
    return {"armed_until": float(current["armed_until"]), "pid": int(current["pid"])}


def enabled(data_dir: str) -> bool:
    """The `wake_timer` setting as the last task saw it (the snapshot; on when absent)."""
    from plexsync.core.datadir import SETTINGS_SNAPSHOT

    return bool(read_json(path(data_dir, SETTINGS_SNAPSHOT)).get(SNAPSHOT_KEY, True))


def plex_url(data_dir: str) -> str:
    """The `plex_url` setting as the last task saw it (the snapshot; "" when absent)."""
    from plexsync.core.datadir import SETTINGS_SNAPSHOT

    return str(read_json(path(data_dir, SETTINGS_SNAPSHOT)).get("plex_url") or "")


def verify_tls(data_dir: str) -> bool:
    """The `verify_tls` setting as the last task saw it (the snapshot; on when absent)."""
    from plexsync.core.datadir import SETTINGS_SNAPSHOT

    return bool(read_json(path(data_dir, SETTINGS_SNAPSHOT)).get("verify_tls", True))
