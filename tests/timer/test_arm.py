"""Arming the wake-up timer: the task side (no real timer process is started here)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from plexsync.core import lockfile
from plexsync.queue.job_queue import JobQueue
from plexsync.tasks.status import read_status
from plexsync.timer import arm as arm_mod
from plexsync.timer import state
from plexsync.timer.arm import Armed, arm

CONN = {"Scheme": "http", "Host": "0.0.0.0", "Port": 9999, "Dir": "/x", "PluginDir": "/p",
        "SessionCookie": {"Name": "session", "Value": "cookie-secret", "Path": ""}}
NOW = 1_800_000_000.0


class Spawns:
    """Stands in for `spawn`: records calls, names a live process (this one) as the timer."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.woken: list[int] = []

    def spawn(self, data_dir: str) -> int:
        self.calls.append(data_dir)
        return os.getpid()

    def wake(self, pid: int) -> None:
        self.woken.append(pid)


def armed(tmp_path: Path, at: float, spawns: Spawns, now: float = NOW, **kw: bool) -> Armed:
    return arm(str(tmp_path), at, CONN, clock=lambda: now, spawner=spawns.spawn,
               waker=spawns.wake, **kw)


def test_the_first_arm_starts_one_timer_armed_for_that_time(tmp_path: Path) -> None:
    spawns = Spawns()
    assert armed(tmp_path, NOW + 60, spawns) is Armed.STARTED
    assert spawns.calls == [str(tmp_path)]
    assert state.read_state(str(tmp_path))["armed_until"] == NOW + 60


def test_arming_a_later_time_is_ignored_and_an_earlier_one_moves_the_timer(
        tmp_path: Path) -> None:
    spawns = Spawns()
    armed(tmp_path, NOW + 60, spawns)
    assert armed(tmp_path, NOW + 90, spawns) is Armed.KEPT
    assert armed(tmp_path, NOW + 60, spawns) is Armed.KEPT
    assert armed(tmp_path, NOW + 10, spawns) is Armed.MOVED
    assert len(spawns.calls) == 1
    assert state.read_state(str(tmp_path))["armed_until"] == NOW + 10
    assert spawns.woken == []   # not ready yet: its signal handler may not be installed


def test_a_ready_timer_is_woken_when_its_time_moves_earlier(tmp_path: Path) -> None:
    spawns = Spawns()
    armed(tmp_path, NOW + 60, spawns)
    # a ready timer holds its run lock for its whole life
    run_lock = lockfile.lock(state.path(str(tmp_path), state.RUN_LOCK), 1)
    assert run_lock is not None
    try:
        state.write_state(str(tmp_path), {**state.read_state(str(tmp_path)), "ready": True})
        armed(tmp_path, NOW + 5, spawns)
    finally:
        lockfile.unlock(run_lock)
    assert spawns.woken == [os.getpid()]


def test_a_ready_timer_that_no_longer_holds_its_run_lock_was_killed_and_is_replaced(
        tmp_path: Path) -> None:
    spawns = Spawns()
    armed(tmp_path, NOW + 60, spawns)
    state.write_state(str(tmp_path), {**state.read_state(str(tmp_path)), "ready": True})
    assert armed(tmp_path, NOW + 90, spawns, now=NOW + 1) is Armed.STARTED


def test_a_timer_that_died_is_replaced_by_a_new_one(tmp_path: Path) -> None:
    spawns = Spawns()
    armed(tmp_path, NOW + 60, spawns)
    later = NOW + state.STARTUP_GRACE + 1   # it never took its run lock: it is gone
    assert armed(tmp_path, NOW + 90, spawns, now=later) is Armed.STARTED
    assert len(spawns.calls) == 2


def test_with_wake_timer_off_nothing_is_started_or_written(tmp_path: Path) -> None:
    spawns = Spawns()
    assert armed(tmp_path, NOW + 60, spawns, enabled=False) is Armed.OFF
    assert spawns.calls == [] and list(tmp_path.iterdir()) == []


def test_credentials_go_to_an_owner_only_file_never_to_the_command_line(
        tmp_path: Path) -> None:
    armed(tmp_path, NOW + 60, Spawns())
    creds = tmp_path / state.CREDENTIALS_FILE
    assert stat.S_IMODE(creds.stat().st_mode) == 0o600
    assert state.read_credentials(str(tmp_path)) == {
        "Scheme": "http", "Host": "0.0.0.0", "Port": 9999,
        "SessionCookie": {"Name": "session", "Value": "cookie-secret"}}
    line = " ".join(arm_mod.command(str(tmp_path)))
    assert "cookie-secret" not in line and line.endswith(f"wake-timer {tmp_path}")


def test_a_credentials_file_left_readable_by_others_is_made_owner_only(tmp_path: Path) -> None:
    armed(tmp_path, NOW + 60, Spawns())
    creds = tmp_path / state.CREDENTIALS_FILE
    os.chmod(creds, 0o644)
    state.write_credentials(str(tmp_path), CONN)
    assert stat.S_IMODE(creds.stat().st_mode) == 0o600


def test_posix_detaches_into_a_new_session_with_its_own_stdio() -> None:
    kwargs = arm_mod.popen_kwargs("posix", 7)
    assert kwargs["start_new_session"] is True and "creationflags" not in kwargs
    assert kwargs["stdin"] is subprocess.DEVNULL
    assert kwargs["stdout"] == 7 and kwargs["stderr"] == 7 and kwargs["close_fds"] is True


def test_windows_detaches_with_its_own_console_group_and_job() -> None:
    kwargs = arm_mod.popen_kwargs("nt", 7)
    flags = kwargs["creationflags"]
    # winbase.h: DETACHED_PROCESS, CREATE_NEW_PROCESS_GROUP, CREATE_BREAKAWAY_FROM_JOB
    assert flags & 0x00000008 and flags & 0x00000200 and flags & 0x01000000
    assert "start_new_session" not in kwargs
    assert kwargs["stdin"] is subprocess.DEVNULL and kwargs["stdout"] == 7
    if sys.platform == "win32":
        assert (subprocess.DETACHED_PROCESS, subprocess.CREATE_NEW_PROCESS_GROUP,
                subprocess.CREATE_BREAKAWAY_FROM_JOB) == (
            arm_mod.DETACHED_PROCESS, arm_mod.CREATE_NEW_PROCESS_GROUP,
            arm_mod.CREATE_BREAKAWAY_FROM_JOB)


def test_status_shows_the_armed_timer_or_null(tmp_path: Path) -> None:
    queue = JobQueue.open(str(tmp_path), clock=lambda: NOW)
    try:
        assert read_status(queue, str(tmp_path))["timer"] is None
        armed(tmp_path, NOW + 60, Spawns())
        assert read_status(queue, str(tmp_path))["timer"] == {
            "armed_until": "2027-01-15T08:01:00+00:00", "pid": os.getpid()}
    finally:
        queue.close()


@pytest.mark.parametrize("failure", [OSError("read-only file system"), TimeoutError("lock")])
def test_a_failed_arm_never_fails_the_task(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           failure: Exception) -> None:
    def broken(*_: object, **__: object) -> Armed:
        raise failure

    monkeypatch.setattr(arm_mod, "arm", broken)
    assert arm_mod.arm_quietly(str(tmp_path), NOW, CONN) is None
