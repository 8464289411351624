"""Issue 22's cases: a Stash restart, a dead timer, a probe that disagrees with the sync, a
clock step, a probe held by a dead process, a damaged state file, a busy Plex, the ramp and
the availability window never strand work (docs/outages.md, docs/wake-timer.md).

Everything runs as Stash runs it: `plexsync.py` subprocesses, the real wake-up timer, Stash's
one-at-a-time job queue (testkit/stash_jobs.py) and the loopback fakes. Schedules are shortened
through `PLEXSYNC_PROBE_BASE` / `PLEXSYNC_PROBE_CAP` and `PLEXSYNC_STASH_RETRY_BASE` /
`PLEXSYNC_STASH_RETRY_CAP` (the same doubling, shorter steps); every wait is bounded.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from plexsync.resilience import state as breaker_file
from plexsync.timer import state as timer_state
from testkit.fake_plex import FakePlex
from testkit.fake_stash import FakeStash
from testkit.stash_jobs import PluginJobs
from tests.e2e.conftest import Run, library, run_plugin
from tests.e2e.test_outage_breaker import EDIT, breaker, enqueue, status
from tests.e2e.test_wake_timer import alive, arm_in_subprocess, armed, timer_pids, wait_for


def synced(plex: FakePlex, n: int) -> bool:
    return all(plex.find_by_file(f"/media/s{i}.mp4").title == f"Scene {i}"  # type: ignore[union-attr]
               for i in range(n))


def timer_log(data_dir: Path) -> str:
    return (data_dir / timer_state.LOG_FILE).read_text()


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def attempts(data_dir: Path) -> int:
    """Attempts used up over every job still in the queue (0 = nothing was charged)."""
    conn = sqlite3.connect(data_dir / "plexsync.db")
    try:
        row = conn.execute("SELECT COALESCE(SUM(attempts), 0) FROM jobs").fetchone()
    finally:
        conn.close()
    return int(row[0])


# 1 ---------------------------------------------------------------------------------------
def test_stash_restarting_mid_drain_charges_no_job_and_the_timer_drains_once_it_is_back(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLEXSYNC_STASH_RETRY_BASE", "0.5")
    monkeypatch.setenv("PLEXSYNC_STASH_RETRY_CAP", "2")
    data_dir = tmp_path / "data"
    with FakeStash(plugin_dir=str(tmp_path / "plugin")) as stash, FakePlex() as plex, \
            PluginJobs(stash, data_dir, env={"PLEXSYNC_STASH_RETRY_BASE": "0.5",
                                             "PLEXSYNC_STASH_RETRY_CAP": "2"}) as jobs:
        ids = library(stash, plex, 60, sync_poster=False)
        enqueue(data_dir, ids)
        plex.set_delay(0.05)   # the rest of the first batch outlasts Stash going down
        went_down = threading.Event()

        def restart() -> None:   # Stash goes away after 20 edits, for 12 s (longer than a retry)
            wait_for(lambda: plex.count("PUT", EDIT) >= 20, 60, poll=0.01)
            stash.go_down()
            went_down.set()
            time.sleep(12)
            stash.come_up()
        thread = threading.Thread(target=restart, daemon=True)
        thread.start()
        first = run_plugin(stash.task_input({"mode": "process_queue"}), data_dir)
        assert went_down.is_set()
        assert first.returncode == 0, first.stderr
        out = first.answer["output"]
        assert out["stopped"] == "stash_down", out
        assert out["retried"] == 0 and out["dead_lettered"] == 0, out
        assert attempts(data_dir) == 0
        assert any("Stash" in line and "timer" in line for line in first.log_lines), \
            first.log_lines
        thread.join(30)
        plex.set_delay(0)
        assert wait_for(lambda: synced(plex, 60), 40, poll=0.2), \
            (data_dir / timer_state.LOG_FILE).read_text()
        assert jobs.wait_idle(30)
        log = (data_dir / timer_state.LOG_FILE).read_text()
        assert "Stash did not answer" in log and "exits: Stash did not answer" not in log
        final = status(stash, data_dir)
        assert (final["synced"], final["retrying"], final["dlq"]) == (60, 0, 0)


@pytest.mark.parametrize("fault", ["credentials_refused", "proxy_503", "proxy_502"])
def test_stash_refusing_credentials_or_answering_5xx_mid_drain_charges_no_job_and_the_timer_drains_once_it_answers(  # noqa: E501
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fault: str) -> None:
    schedule = {"PLEXSYNC_STASH_RETRY_BASE": "0.5", "PLEXSYNC_STASH_RETRY_CAP": "2"}
    for name, value in schedule.items():
        monkeypatch.setenv(name, value)
    data_dir = tmp_path / "data"
    with FakeStash(plugin_dir=str(tmp_path / "plugin")) as stash, FakePlex() as plex, \
            PluginJobs(stash, data_dir, env=schedule) as jobs:
        ids = library(stash, plex, 40, sync_poster=False)
        enqueue(data_dir, ids)
        plex.set_delay(0.05)   # the rest of the first batch outlasts the fault's start

        def set_fault(on: bool) -> None:
            if fault == "credentials_refused":
                stash.refuse_credentials = on   # 401, as Stash refuses a credential
            else:
                stash.proxy_status = (503 if fault == "proxy_503" else 502) if on else 0

        def timer_tries() -> int:
            path = data_dir / timer_state.LOG_FILE
            return path.read_text().count("trying again in") if path.exists() else 0

        faulted = threading.Event()
        health: list[Run] = []

        def fault_for_a_while() -> None:   # after 10 edits, until the timer has tried 3 times
            wait_for(lambda: plex.count("PUT", EDIT) >= 10, 60, poll=0.01)
            set_fault(True)
            faulted.set()
            wait_for(lambda: timer_tries() >= 3, 60, poll=0.05)
            # what Health Check says meanwhile (the queue drains only after the fault ends)
            health.append(run_plugin(stash.task_input({"mode": "health_check"}), data_dir))
            set_fault(False)
        thread = threading.Thread(target=fault_for_a_while, daemon=True)
        thread.start()
        first = run_plugin(stash.task_input({"mode": "process_queue"}), data_dir)
        assert faulted.is_set()
        assert first.returncode == 0, first.stderr
        out = first.answer["output"]
        assert out["stopped"] == "stash_down", out
        assert out["retried"] == 0 and out["dead_lettered"] == 0, out
        assert 10 <= out["synced"] < 40, out
        assert attempts(data_dir) == 0
        warning = "\n".join(first.log_lines)
        assert "wake-up timer asks Stash again" in warning, first.log_lines
        if fault == "credentials_refused":   # the fix is in Stash's log
            assert "refused PlexSync's credentials (HTTP 401)" in warning, first.log_lines
            assert "API key in Settings → Security" in warning, first.log_lines
        thread.join(90)
        assert not thread.is_alive(), (data_dir / timer_state.LOG_FILE).read_text()
        [during] = health
        problem = str(during.answer["error"])
        if fault == "credentials_refused":   # Health Check names the refusal and its fix
            assert "refused PlexSync's credentials (HTTP 401)" in problem, during.answer
            assert "API key in Settings → Security" in problem, during.answer
            assert "refused the stored credentials (HTTP 401)" in timer_log(data_dir)
        else:
            assert "could not reach Stash" in problem and "is Stash running?" in problem, \
                during.answer
        plex.set_delay(0)
        assert wait_for(lambda: synced(plex, 40), 60, poll=0.2), \
            (data_dir / timer_state.LOG_FILE).read_text()
        assert jobs.wait_idle(30)
        log = timer_log(data_dir)
        assert timer_tries() >= 3 and "exits: Stash" not in log, log
        assert [r.mode for r in jobs.runs] == ["process_queue"], [r.answer for r in jobs.runs]
        final = status(stash, data_dir)
        assert (final["synced"], final["retrying"], final["dlq"]) == (40, 0, 0)
        assert attempts(data_dir) == 0


# 2 ---------------------------------------------------------------------------------------
def test_a_killed_timer_is_re_armed_by_the_next_task_and_its_due_retry_still_drains(
        tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    with FakeStash(plugin_dir=str(tmp_path / "plugin")) as stash, FakePlex() as plex, \
            PluginJobs(stash, data_dir) as jobs:
        [sid] = library(stash, plex, 1, sync_poster=False)
        due = time.time() + 4
        from tests.e2e.test_wake_timer import enqueue as enqueue_at
        enqueue_at(data_dir, sid, due)
        assert armed(arm_in_subprocess(data_dir, due, stash.server_connection())) == "started"
        [pid] = timer_pids(data_dir)
        assert wait_for(lambda: timer_state.read_state(str(data_dir)).get("ready") is True, 10)
        os.kill(pid, signal.SIGKILL)
        assert wait_for(lambda: not alive(pid), 10)
        task = run_plugin(stash.task_input({"mode": "queue_status"}), data_dir)   # any task
        assert wait_for(lambda: synced(plex, 1), 30), (
            task.stderr, (data_dir / timer_state.LOG_FILE).read_text())
        assert jobs.wait_idle(30)


def test_health_check_fails_wake_timer_when_work_is_due_and_no_timer_can_be_armed(
        tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    with FakeStash(plugin_dir=str(tmp_path / "plugin"), api_key="k-3f") as stash, \
            FakePlex() as plex:
        [sid] = library(stash, plex, 1, sync_poster=False)
        from tests.e2e.test_wake_timer import enqueue as enqueue_at
        enqueue_at(data_dir, sid, time.time() + 600)
        (data_dir / timer_state.STATE_LOCK).mkdir()      # arming cannot take its lock
        run = run_plugin(stash.task_input({"mode": "health_check"}), data_dir)
    [timer] = [c for c in run.answer["output"]["checks"] if c["name"] == "wake_timer"]
    assert timer["ok"] is False, timer
    assert "no wake-up timer" in timer["problem"] and "IsADirectoryError" in timer["problem"]
    assert timer["fix"]


# 3 ---------------------------------------------------------------------------------------
def test_after_plex_url_is_corrected_the_timer_probes_the_new_address_and_drains(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLEXSYNC_PROBE_BASE", "0.5")
    monkeypatch.setenv("PLEXSYNC_PROBE_CAP", "1")
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    env = {"PLEXSYNC_PROBE_BASE": "0.5", "PLEXSYNC_PROBE_CAP": "1"}
    with FakeStash(plugin_dir=str(tmp_path / "plugin")) as stash, FakePlex() as plex, \
            PluginJobs(stash, data_dir, env=env) as jobs:
        ids = library(stash, plex, 5, sync_poster=False)
        enqueue(data_dir, ids)
        now = time.time()
        state = breaker_file.fresh(now - 100)   # the outage happened at the old address
        state.update(state="open", opened_at=now - 60, next_probe_at=now + 1, probe_delay=1.0,
                     plex_url="http://127.0.0.1:9", failures=5)
        breaker_file.write(str(data_dir), state)
        first = run_plugin(stash.task_input({"mode": "process_queue"}), data_dir)
        assert first.answer["output"]["stopped"] == "circuit_open", first.answer
        assert wait_for(lambda: synced(plex, 5), 20), (data_dir / timer_state.LOG_FILE).read_text()
        assert jobs.wait_idle(30)
        assert breaker(data_dir)["state"] == "closed"


def test_an_identity_that_is_not_a_plex_identity_is_not_plex_up_for_probe_or_health(
        tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    with FakeStash(plugin_dir=str(tmp_path / "plugin")) as stash, FakePlex() as plex:
        library(stash, plex, 1, sync_poster=False)
        plex.fail_next(1, 404)      # /identity answered by something that is not Plex
        run = run_plugin(stash.task_input({"mode": "health_check"}), data_dir)
    [reach] = [c for c in run.answer["output"]["checks"] if c["name"] == "plex_reachable"]
    assert reach["ok"] is False and "404" in reach["problem"], reach


# 4 ---------------------------------------------------------------------------------------
def test_after_the_clock_steps_back_an_hour_the_next_probe_is_at_most_the_cap_away(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLEXSYNC_PROBE_CAP", "1")
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    with FakeStash(plugin_dir=str(tmp_path / "plugin")) as stash, FakePlex() as plex, \
            PluginJobs(stash, data_dir, env={"PLEXSYNC_PROBE_CAP": "1"}) as jobs:
        ids = library(stash, plex, 11, sync_poster=False)
        enqueue(data_dir, ids)
        now = time.time()   # written an hour "later" than the clock now says
        state = breaker_file.fresh(now - 100)
        state.update(state="open", opened_at=now + 3600 - 30, next_probe_at=now + 3600 + 60,
                     probe_delay=60.0, plex_url=plex.url, failures=5)
        breaker_file.write(str(data_dir), state)
        health = run_plugin(stash.task_input({"mode": "health_check"}), data_dir)
        [check] = [c for c in health.answer["output"]["checks"] if c["name"] == "breaker"]
        since = check["ongoing"]["start"] if check["ongoing"] else None
        assert since is None or since <= time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                       time.gmtime(time.time() + 1)), check
        run_plugin(stash.task_input({"mode": "process_queue"}), data_dir)
        assert wait_for(lambda: synced(plex, 11), 20), (data_dir / timer_state.LOG_FILE).read_text()
        assert jobs.wait_idle(30)


# 5 ---------------------------------------------------------------------------------------
def test_a_probe_held_by_a_dead_process_is_taken_over_at_once_without_a_busy_loop(
        tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    with FakeStash(plugin_dir=str(tmp_path / "plugin")) as stash, FakePlex() as plex, \
            PluginJobs(stash, data_dir) as jobs:
        ids = library(stash, plex, 3, sync_poster=False)
        run_plugin(stash.task_input({"mode": "queue_status"}), data_dir)  # settings snapshot
        enqueue(data_dir, ids)
        now = time.time()
        state = breaker_file.fresh(now - 100)
        state.update(state="half_open", opened_at=now - 60, next_probe_at=now - 1,
                     probe_delay=5.0, plex_url=plex.url, failures=5,
                     probe_owner=f"{dead_pid()}-abcdef", probe_started_at=now)
        breaker_file.write(str(data_dir), state)
        started = time.monotonic()
        assert armed(arm_in_subprocess(data_dir, now, stash.server_connection())) == "started"
        assert wait_for(lambda: synced(plex, 3), 20), (data_dir / timer_state.LOG_FILE).read_text()
        assert time.monotonic() - started < breaker_file.PROBE_STALE / 2
        assert jobs.wait_idle(30)
        lines = (data_dir / timer_state.LOG_FILE).read_text().splitlines()
        assert len(lines) < 20, lines[:40]


# 6 ---------------------------------------------------------------------------------------
def test_a_folder_in_place_of_breaker_json_is_moved_aside_and_every_save_is_queued(
        tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / breaker_file.FILE).mkdir()
    with FakeStash(plugin_dir=str(tmp_path / "plugin")) as stash, FakePlex() as plex:
        ids = library(stash, plex, 3, sync_poster=False, wake_timer=False)
        hooks = [run_plugin(stash.hook_input(sid, input={"id": str(sid), "title": "x"},
                                             input_fields=["id", "title"]), data_dir)
                 for sid in ids]
        tasks = [run_plugin(stash.task_input({"mode": mode}), data_dir)
                 for mode in ("process_queue", "health_check", "queue_status")]
    assert all(h.returncode == 0 and h.answer["output"]["queued"] for h in hooks), \
        [h.answer for h in hooks]
    assert all(t.returncode == 0 and t.answer["error"] is None for t in tasks), \
        [t.answer for t in tasks]
    warnings = [line for run in hooks + tasks for line in run.log_lines
                if breaker_file.FILE in line]
    assert len(warnings) == 1, warnings
    assert tasks[0].answer["output"]["synced"] == 3
    assert (data_dir / breaker_file.FILE).is_file()


# 7 ---------------------------------------------------------------------------------------
def test_a_plex_whose_edits_hang_while_identity_answers_opens_the_breaker_charging_nothing(
        tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    with FakeStash(plugin_dir=str(tmp_path / "plugin")) as stash, FakePlex() as plex:
        ids = library(stash, plex, 20, sync_poster=False, wake_timer=False, read_timeout=1)
        enqueue(data_dir, ids)
        plex.set_delay(5, method="PUT")      # every edit hangs past read_timeout
        started = time.monotonic()
        run = run_plugin(stash.task_input({"mode": "process_queue"}), data_dir)
        took = time.monotonic() - started
        plex.set_delay(0)
    out = run.answer["output"]
    assert out["stopped"] == "plex_down", out
    assert (out["retried"], out["dead_lettered"]) == (0, 0), out
    assert attempts(data_dir) == 0
    assert breaker(data_dir)["state"] == "open"
    assert took < 15, took          # 3 timeouts, not 20


# 8 ---------------------------------------------------------------------------------------
def test_sync_all_of_unchanged_scenes_right_after_a_recovery_is_not_paced(
        tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    with FakeStash(plugin_dir=str(tmp_path / "plugin")) as stash, FakePlex() as plex:
        ids = library(stash, plex, 100, sync_poster=False, wake_timer=False)
        enqueue(data_dir, ids)
        first = run_plugin(stash.task_input({"mode": "process_queue"}), data_dir)
        assert first.answer["output"]["synced"] == 100
        state = breaker_file.read(str(data_dir), time.time())[0]   # Plex came back a moment
        #                                                            ago: the ramp is on
        state.update(recovered_at=time.time())
        breaker_file.write(str(data_dir), state)
        plex.clear_requests()
        started = time.monotonic()
        run = run_plugin(stash.task_input({"mode": "sync_all"}), data_dir)
        took = time.monotonic() - started
    assert run.returncode == 0, run.answer
    edits = plex.count("PUT")
    assert edits == 0
    # 100 jobs at the ramp's 5/s would take 20 s; they send nothing, so nothing is paced
    assert took < 8, (took, plex.count())


# 9 ---------------------------------------------------------------------------------------
def test_availability_is_measured_from_the_first_run_not_the_first_failure(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLEXSYNC_PROBE_BASE", "0.3")
    monkeypatch.setenv("PLEXSYNC_PROBE_CAP", "0.3")
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    with FakeStash(plugin_dir=str(tmp_path / "plugin")) as stash, FakePlex() as plex:
        ids = library(stash, plex, 2, sync_poster=False, wake_timer=False)
        began = time.time()
        run_plugin(stash.task_input({"mode": "queue_status"}), data_dir)    # the first run
        time.sleep(3)   # real time PlexSync watched Plex up
        plex.go_down()
        enqueue(data_dir, ids)
        down = run_plugin(stash.task_input({"mode": "process_queue"}), data_dir)
        assert down.answer["output"]["stopped"] == "plex_down"
        plex.come_up()
        assert wait_for(lambda: run_plugin(stash.task_input({"mode": "process_queue"}),
                                           data_dir).answer["output"].get("synced") == 2, 20)
        out = run_plugin(stash.task_input({"mode": "outage_summary"}), data_dir).answer["output"]
    watched = time.time() - began
    downtime = sum(o["duration_s"] for o in out["history"])
    assert out["count"] == 1
    assert out["availability"] == pytest.approx(1 - downtime / watched, abs=0.05), \
        (out, watched)

