"""The wake-up timer's loop, in-process with a fake clock (no sleeping, no real Stash)."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from plexsync.core.datadir import SETTINGS_SNAPSHOT
from plexsync.queue import markers
from plexsync.queue.enums import JobSource
from plexsync.queue.job_queue import JobQueue
from plexsync.timer import process, state
from plexsync.timer.process import WakeTimer
from tests.helpers import FakeClock

ROOT = Path(__file__).resolve().parents[2]
CREDS = {"Host": "127.0.0.1", "Port": 9999, "ApiKey": "key-secret"}


class Harness:
    def __init__(self, tmp_path: Path) -> None:
        self.dir = str(tmp_path)
        self.clock = FakeClock()
        self.requests: list[Mapping[str, Any]] = []
        self.fail_request: Exception | None = None
        self.open_stores = 0
        self.on_wait: list[Any] = []
        store = JobQueue.open(self.dir)
        store.close()
        state.write_json(state.path(self.dir, state.CREDENTIALS_FILE), CREDS)

    def enqueue(self, scene_id: int, due_in: float) -> None:
        now = self.clock()
        store = JobQueue.open(self.dir, clock=lambda: now + due_in)
        try:
            store.enqueue(scene_id, now, JobSource.HOOK)  # a new job: due then
        finally:
            store.close()

    def arm(self, at: float) -> None:
        state.write_state(self.dir, {"armed_until": at, "pid": os.getpid(),
                                     "spawned_at": self.clock(), "ready": False})

    def request(self, creds: Mapping[str, Any]) -> None:
        if self.fail_request is not None:
            raise self.fail_request
        self.requests.append(creds)

    def open_store(self, data_dir: str) -> Any:
        harness = self
        harness.open_stores += 1

        class Counted(JobQueue):
            def close(self) -> None:
                harness.open_stores -= 1
                super().close()

        return Counted.open(data_dir)

    def wait(self, seconds: float) -> None:
        assert self.open_stores == 0, "a database connection is held while asleep"
        for hook in list(self.on_wait):
            hook()
        self.clock.sleep(seconds)

    def run(self) -> str:
        return WakeTimer(self.dir, clock=self.clock, wait=self.wait, request=self.request,
                         open_store=self.open_store).run()

    def meta(self) -> dict[str, str]:
        store = JobQueue.open(self.dir)
        try:
            return store.read_meta()
        finally:
            store.close()


def test_it_sleeps_until_the_due_time_in_stretches_of_at_most_15_minutes(
        tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.enqueue(1, due_in=3600)
    h.arm(h.clock() + 3600)
    assert h.run() == "asked Stash to run Process Queue"
    assert h.clock.sleeps == [900.0, 900.0, 900.0, 900.0]
    assert h.requests == [CREDS] and h.open_stores == 0
    assert markers.drain_state(h.meta(), h.clock()) == "scheduled"
    assert state.read_state(h.dir) == {"armed_until": None, "pid": None}


def test_it_exits_without_asking_when_the_queue_was_emptied_meanwhile(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.arm(h.clock() + 60)
    assert h.run() == "the queue is empty" and h.requests == []


def test_work_moved_later_makes_it_sleep_again_until_then(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.enqueue(1, due_in=500)
    h.arm(h.clock() + 60)
    assert h.run() == "asked Stash to run Process Queue"
    assert h.clock.sleeps == [60.0, 440.0]


def test_an_earlier_arm_while_asleep_is_honoured(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.enqueue(1, due_in=30)
    h.arm(h.clock() + 600)

    def moved_earlier() -> None:
        h.on_wait.clear()
        h.arm(h.clock() + 30)     # what `arm` writes (the signal only ends the sleep early)

    h.on_wait.append(moved_earlier)
    h.run()
    assert h.clock.sleeps == [600.0]  # the fake wait is not interrupted...
    assert h.requests == [CREDS]       # ...but the earlier time was read before sleeping again


def test_a_running_drain_is_not_duplicated_and_is_checked_again_later(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.enqueue(1, due_in=0)
    h.arm(h.clock())
    store = JobQueue.open(h.dir)
    store.update_meta(lambda meta, _: {markers.HEARTBEAT_AT: f"{h.clock():.6f}"})
    store.close()
    assert h.run() == "asked Stash to run Process Queue"   # after the drain's heartbeat aged
    assert h.clock.sleeps[0] == process.ACTIVE_RECHECK and len(h.requests) == 1


def test_an_unreachable_stash_is_tried_again_on_a_backoff_until_it_takes_the_drain(
        tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.enqueue(1, due_in=0)
    h.arm(h.clock())
    h.fail_request = ConnectionRefusedError(111, "Connection refused")
    idle_between: list[bool] = []

    def stash_back_after_six_tries() -> None:
        idle_between.append(markers.drain_state(h.meta(), h.clock()) == "idle")
        if len(idle_between) == 6:
            h.fail_request = None
    h.on_wait.append(stash_back_after_six_tries)
    assert h.run() == "asked Stash to run Process Queue"
    assert h.clock.sleeps == [5.0, 10.0, 20.0, 40.0, 60.0, 60.0]   # capped at 60 s
    assert all(idle_between)        # each failed request was withdrawn: a hook may ask meanwhile
    assert len(h.requests) == 1


def test_turning_wake_timer_off_ends_the_timer_at_its_next_check(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.enqueue(1, due_in=0)
    h.arm(h.clock() + 60)
    (tmp_path / SETTINGS_SNAPSHOT).write_text(json.dumps({"wake_timer": False}))
    assert h.run() == "wake_timer is off" and h.requests == []


def test_a_timer_the_state_file_does_not_name_exits_at_once(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    state.write_state(h.dir, {"armed_until": h.clock(), "pid": 2**22 + 12345})
    assert h.run() == "not the armed timer (a newer one replaced it)"
    assert h.clock.sleeps == []


def test_the_timer_process_loads_nothing_heavy() -> None:
    script = (f"import sys; sys.path.insert(0, {str(ROOT)!r})\n"
              "import plexsync.timer.process\n"
              "print(' '.join(sorted(sys.modules)))")
    env = {k: v for k, v in os.environ.items() if not k.startswith("COVERAGE_")}
    loaded = set(subprocess.run([sys.executable, "-c", script], capture_output=True,
                                text=True, check=True, env=env).stdout.split())
    heavy = {"plexapi", "requests", "urllib3", "stashapi", "filelock", "http.client",
             "plexsync.sync", "plexsync.plex", "plexsync.tasks", "plexsync.queue.job_queue"}
    assert loaded & heavy == set()


def test_a_due_automatic_reconciliation_wakes_it_with_an_empty_queue(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    due = h.clock() + 1800
    store = JobQueue.open(h.dir)
    store.update_meta(lambda meta, _: {state.RECONCILE_DUE_KEY: repr(due)})
    store.close()
    h.arm(h.clock() + 60)
    assert h.run() == "asked Stash to run Process Queue"   # Process Queue then reconciles
    assert h.clock.sleeps == [60.0, 900.0, 840.0] and h.requests == [CREDS]


def test_a_due_play_state_import_wakes_it_with_an_empty_queue(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    store = JobQueue.open(h.dir)
    store.update_meta(lambda meta, _: {state.IMPORT_DUE_KEY: repr(h.clock() + 900)})
    store.close()
    h.arm(h.clock() + 60)
    assert h.run() == "asked Stash to run Process Queue"   # Process Queue then imports
    assert h.clock.sleeps == [60.0, 840.0] and h.requests == [CREDS]


def test_the_earliest_of_a_job_a_reconciliation_and_an_import_wins() -> None:
    assert process.earliest(process.earliest(50.0, "40.0"), "30.0") == 30.0
    assert process.earliest(process.earliest(None, None), "30.0") == 30.0
    assert process.earliest(process.earliest(None, None), None) is None


def test_work_armed_while_it_asks_stash_is_not_lost_when_it_exits(tmp_path: Path) -> None:
    """The Process Queue it asked for runs at once and, ending with a retry due later, arms
    the timer while this timer still holds its lock: that arm must not be dropped."""
    from plexsync.timer.arm import Armed, arm

    h = Harness(tmp_path)
    h.enqueue(1, due_in=0)
    h.arm(h.clock())
    spawned: list[str] = []
    answers: list[Armed] = []
    woken: list[int] = []      # (this test process stands in for the timer: no real signal)

    def drain_ran_and_armed(creds: Mapping[str, Any]) -> None:
        h.request(creds)
        if len(h.requests) == 1:
            store = JobQueue.open(h.dir)     # the drain synced scene 1...
            store.clear_pending()
            store.update_meta(lambda meta, _: {markers.SCHEDULED_AT: None})
            store.close()
            h.enqueue(2, due_in=300)   # the drain's retry: due in 5 minutes
            answers.append(arm(h.dir, h.clock() + 300, CREDS, clock=h.clock, spawner=spawn,
                               waker=woken.append))

    def spawn(data_dir: str) -> int:
        spawned.append(data_dir)
        return 4242

    timer = WakeTimer(h.dir, clock=h.clock, wait=h.wait, request=drain_ran_and_armed,
                      open_store=h.open_store)
    timer.run()
    woken_later = len(h.requests) == 2 and h.clock.sleeps == [300.0]
    assert woken_later or spawned, (
        f"the retry due in 300 s has no timer: arm said {answers}, state "
        f"{state.read_state(h.dir)}")


def test_a_timer_armed_with_a_relative_data_dir_runs_on_that_dir(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`PLEXSYNC_DATA_DIR=data` (a cron line run from the plugin folder), or a relative
    plugin folder from Stash: the timer starts in another working directory."""
    import signal
    import time

    from plexsync.timer.arm import Armed, arm

    monkeypatch.chdir(tmp_path)
    os.mkdir("data")
    assert arm("data", time.time() + 600, CREDS) is Armed.STARTED
    pid = int(state.read_state("data")["pid"])
    try:
        deadline = time.monotonic() + 10
        while not state.read_state("data").get("ready") and time.monotonic() < deadline:
            time.sleep(0.05)
        log = (tmp_path / "data" / state.LOG_FILE).read_text()
        assert state.read_state("data").get("ready"), log
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)


def test_the_timer_probes_an_https_plex_without_certificate_checks_when_verify_tls_is_off(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A self-signed https Plex with verify_tls off: a probe that checks the certificate fails
    # every time, so the timer would keep the breaker open (and the hook would ask for no
    # drain) long after Plex came back.
    from plexsync.resilience import probe as probe_module
    from plexsync.resilience import state as breaker_file

    h = Harness(tmp_path)
    state.write_json(state.path(h.dir, SETTINGS_SNAPSHOT), {"verify_tls": False})
    opened = breaker_file.fresh(h.clock() - 100)
    opened.update(state="open", failures=5, opened_at=h.clock() - 60, probe_delay=5.0,
                  next_probe_at=h.clock() - 1, plex_url="https://plex.example:32400")
    breaker_file.write(h.dir, opened)
    seen: list[bool] = []

    def fake_probe(url: str, timeout: float = 3.0, verify: bool = True) -> Any:
        seen.append(verify)
        assert len(seen) < 5, "the timer probes on and on: the breaker never closes"
        return probe_module.ProbeResult(verify is False, 200 if not verify else 0, "", "")

    monkeypatch.setattr(probe_module, "probe", fake_probe)
    h.enqueue(1, due_in=0)
    h.arm(h.clock())
    assert h.run() == "asked Stash to run Process Queue"
    assert seen == [False]
    assert breaker_file.read(h.dir, h.clock())[0]["state"] == "closed"
