"""The wake-up timer under real processes: Stash's job queue is never held, and work due later
still reaches Plex with no further hook or task from the test.

The fake Stash runs the plugin tasks it is asked for one at a time, as Stash's job manager does
(`testkit/stash_jobs.py`); apart from the hooks a test plays, nothing else invokes the plugin.
The timer processes are real (`plexsync.py wake-timer <data_dir>`); conftest ends any left.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from plexsync.errors import ErrorClass
from plexsync.queue import markers
from plexsync.queue.backoff import POLICIES
from plexsync.queue.enums import JobSource
from plexsync.queue.job_queue import JobQueue
from plexsync.timer import state
from testkit.fake_plex import FakePlex
from testkit.fake_stash import FakeStash
from testkit.stash_jobs import PluginJobs
from testkit.world import World, generate, populate
from tests.e2e.conftest import ROOT, STASH_COMMAND, run_plugin
from tests.e2e.test_sync_world import assert_item_mirrors_scene

COOKIE = "cookie-SECRET-5f1e"
API_KEY = "apikey-SECRET-77c2"


def wait_for(condition: Callable[[], bool], timeout: float, poll: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(poll)
    return condition()


def command_lines() -> dict[int, bytes]:
    out = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                out[int(entry)] = Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                continue
    return out


def timer_pids(data_dir: Path) -> list[int]:
    return [pid for pid, line in command_lines().items()
            if b"wake-timer" in line.split(b"\0") and str(data_dir).encode() in line]


def the_timer(data_dir: Path) -> int:
    """The one timer's pid, once it has exec'd (before that its command line is its parent's)."""
    assert wait_for(lambda: len(timer_pids(data_dir)) == 1, 15), timer_pids(data_dir)
    [pid] = timer_pids(data_dir)
    return pid


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def setup(stash: FakeStash, plex: FakePlex, n: int,
          **settings: object) -> tuple[World, dict[int, int]]:
    world = generate(n)
    ids = populate(world, stash, plex)
    stash.plugin_config["PlexSync"] = {"plex_url": plex.url, "plex_token": plex.token,
                                       "path_map": world.path_map, **settings}
    return world, ids


def hook(stash: FakeStash, data_dir: Path, sid: int) -> None:
    result = run_plugin(stash.hook_input(sid, input={"id": str(sid), "title": "x"},
                                         input_fields=["id", "title"]), data_dir)
    assert result.returncode == 0 and result.answer["error"] is None, result.answer


def armed(proc: subprocess.Popen[str]) -> str:
    """What an `arm_in_subprocess` process printed (the `Armed` value)."""
    assert proc.stdout is not None
    out = proc.stdout.read()
    proc.stdout.close()
    assert proc.wait(timeout=60) == 0
    return out.strip()


def arm_in_subprocess(data_dir: Path, at: float, conn: dict[str, object]) -> subprocess.Popen[str]:
    code = ("import json, sys; sys.path.insert(0, sys.argv[1])\n"
            "from plexsync.timer.arm import arm\n"
            "print(arm(sys.argv[2], float(sys.argv[3]), json.loads(sys.stdin.read())).value)\n")
    proc = subprocess.Popen([sys.executable, "-c", code, str(ROOT), str(data_dir), repr(at)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdin is not None
    proc.stdin.write(json.dumps(conn))
    proc.stdin.close()
    return proc


def enqueue(data_dir: Path, scene_id: int, due_at: float) -> None:
    store = JobQueue.open(str(data_dir), clock=lambda: due_at)
    try:
        store.enqueue(scene_id, time.time(), JobSource.HOOK)  # a new job: due at due_at
    finally:
        store.close()


def test_a_file_plex_indexes_5_s_after_the_scan_request_reaches_plex_with_no_further_run(
        tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with FakeStash(plugin_dir=str(tmp_path / "plugin"), session_cookie=COOKIE) as stash, \
            FakePlex() as plex, PluginJobs(stash, data_dir) as jobs:
        world, ids = setup(stash, plex, 20)
        plex.scan_delay = 5.0                       # Plex indexes the folder 5 s after asked
        scene = world.of_kind("absent")[0]
        plex_path = world.plex_root + scene.files[0].stash_path[len(world.stash_root):]
        sent_by_run: list[int] = []                  # Plex requests seen when each run ended

        def ended(kind: str, run: object) -> None:
            if kind == "REMOVE":
                sent_by_run.append(len(plex.requests))

        jobs.on_change = ended
        started = time.monotonic()
        hook(stash, data_dir, ids[scene.key])       # the test's only invocation
        secrets_seen: list[bytes] = []

        def landed() -> bool:
            secrets_seen.extend(line for line in command_lines().values()
                                if COOKIE.encode() in line)
            item = plex.find_by_file(plex_path)
            return item is not None and item.title == scene.title

        assert wait_for(landed, 90, poll=0.5), [r.answer for r in jobs.runs]
        took = time.monotonic() - started
        assert jobs.wait_idle(30)
        item = plex.find_by_file(plex_path)
        assert item is not None
        assert_item_mirrors_scene(item, scene, stash.screenshot_bytes(ids[scene.key]))
        assert took < 75, f"took {took:.0f} s"
        runs = [(r.mode, round(r.seconds, 2)) for r in jobs.runs]
        assert [mode for mode, _ in runs] == ["process_queue", "process_queue"], runs
        # The first run did not wait for Plex to index the file: waiting means looking again,
        # and the scan request was the last thing it sent Plex; it ended with the job retrying.
        first_run = plex.requests[:sent_by_run[0]]
        assert first_run[-1].path.endswith("/refresh"), [r.path for r in first_run]
        first = jobs.runs[0].answer["output"]
        assert (first["synced"], first["retrying"]) == (0, 1), first
        # No task waits for the retry: one that did would last at least the retry's floor
        # (measured with wall clocks under load, a run without a wait takes ~1-6 s).
        floor = POLICIES[ErrorClass.PLEX_NOT_FOUND].floor
        assert all(seconds < floor for _, seconds in runs), runs
        assert secrets_seen == []
        creds = data_dir / state.CREDENTIALS_FILE
        assert stat.S_IMODE(creds.stat().st_mode) == 0o600
        assert COOKIE in creds.read_text()


def test_twenty_scenes_edited_while_plex_is_down_reach_plex_once_it_is_back(
        tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with FakeStash(plugin_dir=str(tmp_path / "plugin")) as stash, FakePlex() as plex, \
            PluginJobs(stash, data_dir) as jobs:
        world, ids = setup(stash, plex, 30)
        scenes = [s for s in world.scenes if s.kind == "plain"][:20]
        assert len(scenes) == 20
        plex.go_down()
        back = threading.Timer(20.0, plex.come_up)
        back.start()
        try:
            for n, scene in enumerate(scenes):
                stash.update_scene(ids[scene.key], rating100=10 + n)
                hook(stash, data_dir, ids[scene.key])

            def all_synced() -> bool:
                return all(
                    (item := plex.find_by_file(s.files[0].plex_path or "")) is not None
                    and item.user_rating == (10 + n) / 10 for n, s in enumerate(scenes))

            assert wait_for(all_synced, 80, poll=0.5), [r.answer for r in jobs.runs]
        finally:
            back.cancel()
        assert jobs.wait_idle(30)
        assert all(r.seconds < 10 for r in jobs.runs), [r.seconds for r in jobs.runs]


def test_fifty_tasks_arming_at_once_leave_one_timer_armed_at_the_earliest_time(
        tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    base = time.time() + 600
    times = [base + (37 * i) % 50 for i in range(50)]
    procs = [arm_in_subprocess(data_dir, at, {"Host": "127.0.0.1", "Port": 1}) for at in times]
    results = [armed(proc) for proc in procs]
    assert results.count("started") == 1, results
    assert wait_for(lambda: len(timer_pids(data_dir)) == 1 and
                    state.read_state(str(data_dir)).get("ready") is True, 10)
    time.sleep(0.5)   # would a second timer still appear?
    [pid] = timer_pids(data_dir)
    current = state.read_state(str(data_dir))
    assert current["pid"] == pid and current["armed_until"] == min(times)
    assert state.timer_status(str(data_dir), time.time()) == {"armed_until": min(times),
                                                              "pid": pid}


def test_killing_the_tasks_whole_process_group_leaves_the_timer_alive_and_correct(
        tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    with FakeStash(plugin_dir=str(tmp_path / "plugin"), api_key=API_KEY) as stash:
        due = time.time() + 4
        enqueue(data_dir, 1, due)
        conn = {**stash.server_connection(), "ApiKey": API_KEY}
        task = ("import json, sys, time; sys.path.insert(0, sys.argv[1])\n"
                "from plexsync.timer.arm import arm\n"
                "conn = json.loads(sys.stdin.readline())\n"
                "print(arm(sys.argv[2], float(sys.argv[3]), conn).value, flush=True)\n"
                "time.sleep(120)\n")   # a task still running when Stash stops it
        proc = subprocess.Popen([sys.executable, "-c", task, str(ROOT), str(data_dir), repr(due)],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                start_new_session=True)
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(json.dumps(conn) + "\n")
        proc.stdin.flush()
        assert proc.stdout.readline().strip() == "started"
        pid = the_timer(data_dir)
        assert all(API_KEY.encode() not in line for line in command_lines().values())
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        proc.stdout.close()
        proc.stdin.close()
        assert alive(pid) and state.read_state(str(data_dir))["armed_until"] == due
        assert wait_for(lambda: len(stash.task_runs) == 1, 15)
        assert stash.task_runs[0]["task_name"] == "Process Queue"
        assert wait_for(lambda: not alive(pid), 10)
        assert len(stash.task_runs) == 1


def test_the_timer_exits_when_someone_else_empties_the_queue(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    with FakeStash(plugin_dir=str(tmp_path / "plugin")) as stash:
        due = time.time() + 2
        enqueue(data_dir, 1, due)
        assert armed(arm_in_subprocess(data_dir, due, stash.server_connection())) == "started"
        pid = the_timer(data_dir)
        store = JobQueue.open(str(data_dir))
        store.clear_pending()                    # e.g. Clear Pending Queue
        store.close()
        assert wait_for(lambda: not alive(pid), 15)
        assert stash.task_runs == []
        assert "exits: the queue is empty" in (data_dir / state.LOG_FILE).read_text()


def test_the_timer_keeps_trying_an_unreachable_stash_and_asks_once_it_is_back(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLEXSYNC_STASH_RETRY_BASE", "0.3")   # the timer inherits it
    monkeypatch.setenv("PLEXSYNC_STASH_RETRY_CAP", "1")
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    with FakeStash(plugin_dir=str(tmp_path / "plugin")) as stash:
        conn = stash.server_connection()
        stash.go_down()                              # Stash restarting: its port refuses
        due = time.time() + 1
        enqueue(data_dir, 1, due)
        assert armed(arm_in_subprocess(data_dir, due, conn)) == "started"
        [pid] = timer_pids(data_dir)
        log = data_dir / state.LOG_FILE
        assert wait_for(lambda: log.read_text().count("trying again") >= 2, 15)
        assert alive(pid)
        store = JobQueue.open(str(data_dir))
        try:   # each failed request was withdrawn: a hook meanwhile requests one at once
            assert markers.drain_state(store.read_meta(), time.time()) == "idle"
        finally:
            store.close()
        stash.come_up()
        assert wait_for(lambda: len(stash.task_runs) == 1, 15), log.read_text()
        assert wait_for(lambda: not alive(pid), 10)
    assert "exits: asked Stash to run Process Queue" in log.read_text()


def run_task_like_stash(stash: FakeStash, data_dir: Path) -> tuple[dict[str, object], float]:
    """Process Queue with piped stdout/stderr, read to the end as Stash does; (answer, s)."""
    env = dict(os.environ, PLEXSYNC_DATA_DIR=str(data_dir))
    started = time.monotonic()
    proc = subprocess.Popen(STASH_COMMAND, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    # a timer holding the task's stdout would keep this read open until the timer exits
    out, _ = proc.communicate(json.dumps(stash.task_input({"mode": "process_queue"})).encode(),
                              timeout=20)
    answer: dict[str, object] = json.loads(out.decode().strip().splitlines()[-1])
    return answer, time.monotonic() - started


def test_the_task_ends_while_its_timer_lives_on_and_wake_timer_off_starts_none(
        tmp_path: Path) -> None:
    with FakeStash(plugin_dir=str(tmp_path / "plugin")) as stash, FakePlex() as plex:
        world, ids = setup(stash, plex, 20)
        plex.scan_delay = 3600.0                 # the new file stays missing: a retry is due later
        scene = world.of_kind("absent")[0]
        for wake_timer, data_dir in ((True, tmp_path / "on"), (False, tmp_path / "off")):
            data_dir.mkdir()
            enqueue(data_dir, ids[scene.key], time.time())
            stash.plugin_config["PlexSync"]["wake_timer"] = wake_timer
            answer, seconds = run_task_like_stash(stash, data_dir)
            output = answer["output"]
            assert isinstance(output, dict) and output["retrying"] == 1, answer
            assert seconds < 10
            if wake_timer:
                pid = the_timer(data_dir)
                assert alive(pid)                # stdout closed while the timer lives on
            else:
                time.sleep(0.5)
                assert timer_pids(data_dir) == []
                assert not (data_dir / state.STATE_FILE).exists()
                assert not (data_dir / state.CREDENTIALS_FILE).exists()
