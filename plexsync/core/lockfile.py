"""Advisory whole-file locks on the standard library alone (the timer's import budget).

POSIX: `flock` on an open file (per open file description, so two opens in one process conflict
too). Windows: `msvcrt.locking` on the first byte. A lock dies with its process, so a killed
timer never leaves a stale lock behind. Failure behaviour: `try_lock` returns None when the lock
is held elsewhere (or the file cannot be opened); nothing raises except a missing folder.
"""

from __future__ import annotations

import os
import sys
import time

if sys.platform == "win32":
    import msvcrt

    def _lock(fd: int) -> None:
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
else:
    import fcntl

    def _lock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


def try_lock(path: str) -> int | None:
    """Take the lock without waiting; the open descriptor (keep it) or None when held."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        _lock(fd)
    except OSError:
        os.close(fd)
        return None
    return fd


def lock(path: str, timeout: float, poll: float = 0.01) -> int | None:
    """Take the lock, waiting up to `timeout` seconds; the descriptor or None."""
    deadline = time.monotonic() + timeout
    while True:
        fd = try_lock(path)
        if fd is not None or time.monotonic() >= deadline:
            return fd
        time.sleep(poll)


def unlock(fd: int) -> None:
    try:
        _unlock(fd)
    finally:
        os.close(fd)


def is_locked(path: str) -> bool:
    """Whether another holder has the lock right now (a missing file is not locked)."""
    if not os.path.exists(path):
        return False
    fd = try_lock(path)
    if fd is None:
        return True
    unlock(fd)
    return False
