"""SIGKILL at random points of Process Queue during a 300-scene sync (how Stash stops a task).

20 real `plexsync.py` drains are killed at a random point of their progress; a hook sent
right after each kill must request a new drain (the dead drain's fresh heartbeat must not
strand it). A last drain then runs to the end. Every scene must hold its Stash values in
Plex, SQLite's `integrity_check` must say ok, and no job may be left claimed, queued or
dead-lettered.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from plexsync.queue import markers
from plexsync.queue.job_queue import JobQueue
from plexsync.queue.model import JobSource
from testkit.fake_plex import FakePlex
from testkit.fake_stash import FakeStash
from tests.e2e.conftest import STASH_COMMAND, run_plugin
from tests.reliability.conftest import PLEX_ROOT, STASH_ROOT

SCENES = 300
KILLS = 20
SEED = 9


def _start(stdin: dict[str, object], data_dir: Path) -> subprocess.Popen[str]:
    env = dict(os.environ, PLEXSYNC_DATA_DIR=str(data_dir))
    proc = subprocess.Popen(STASH_COMMAND, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stdin is not None
    proc.stdin.write(json.dumps(stdin))
    proc.stdin.close()
    return proc


def _read(data_dir: Path, sql: str, *args: object) -> tuple[object, ...] | None:
    db = sqlite3.connect(data_dir / "plexsync.db", timeout=5)
    try:
        row: tuple[object, ...] | None = db.execute(sql, args).fetchone()
        return row
    except sqlite3.OperationalError:
        return None
    finally:
        db.close()


def _wait_until_settled(data_dir: Path, proc: subprocess.Popen[str], settled: int) -> bool:
    """Wait until `proc`'s drain heartbeat is up and it has settled `settled` more jobs (the
    queue shrank by that much); False if the process ended first. Waits for progress, not for
    a time, so a loaded machine only makes it slower."""
    queued = _read(data_dir, "SELECT count(*) FROM jobs")
    start = int(str(queued[0])) if queued else 0
    deadline = time.monotonic() + 120
    beating = False
    while time.monotonic() < deadline and proc.poll() is None:
        if not beating:
            row = _read(data_dir, "SELECT value FROM meta WHERE key = ?", markers.HEARTBEAT_AT)
            beating = bool(row and str(row[0]).split()[-1] == str(proc.pid))
        if beating:
            left = _read(data_dir, "SELECT count(*) FROM jobs")
            if left is not None and int(str(left[0])) <= start - settled:
                return proc.poll() is None
        time.sleep(0.02)
    return False


@pytest.mark.time_limit(170)
def test_twenty_sigkills_during_a_300_scene_sync_lose_nothing(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    data_dir = tmp_path / "data"
    with FakeStash(plugin_dir=str(tmp_path / "plugin")) as stash, FakePlex() as plex:
        plex.add_section(1, "Movies", [PLEX_ROOT])
        titles: dict[int, tuple[int, str]] = {}
        for i in range(SCENES):
            title = f"Killed {i} ✓"
            sid = stash.add_scene(title=title, details=f"d{i}", files=[
                {"path": f"{STASH_ROOT}/k{i % 9}/{i}.mp4", "size": 500 + i, "duration": 30.0}])
            rk = plex.add_item(1, f"{PLEX_ROOT}/k{i % 9}/{i}.mp4", title=f"old {i}",
                               size=500 + i, duration_ms=30_000)
            titles[sid] = (rk, title)
        stash.plugin_config["PlexSync"] = {"plex_url": plex.url, "plex_token": plex.token,
                                           "path_map": f"{STASH_ROOT}={PLEX_ROOT}"}
        queued = run_plugin(stash.task_input({"mode": "sync_all"}), data_dir, timeout=60)
        assert queued.returncode == 0, queued.answer

        killed_mid_drain = 0
        first_sid = next(iter(titles))
        for k in range(KILLS):
            # Keep a 300-scene sync in flight: retitle some scenes, queue every scene again.
            for sid in rng.sample(sorted(titles), 15):
                rk, _ = titles[sid]
                titles[sid] = (rk, f"Killed {sid} v{k} ✓")
                stash.update_scene(sid, title=titles[sid][1])
            queue = JobQueue.open(str(data_dir))
            queue.enqueue_many(titles, JobSource.SYNC_TASK)
            queue.close()
            proc = _start(stash.task_input({"mode": "process_queue"}), data_dir)
            # Kill at a random point of this drain's progress (0-60 of ~300 jobs settled).
            killed_mid_drain += _wait_until_settled(data_dir, proc, rng.randint(0, 60))
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
            # An edit right after the kill: the dead drain's heartbeat must not strand it.
            hook = run_plugin(stash.hook_input(first_sid, input={"id": str(first_sid),
                                                                 "title": "x"},
                                               input_fields=["id", "title"]), data_dir,
                              timeout=30)
            assert hook.answer["output"]["drain"] in ("requested", "scheduled"), hook.answer

        final = run_plugin(stash.task_input({"mode": "process_queue"}), data_dir, timeout=120)
        assert final.returncode == 0, final.answer

        db = sqlite3.connect(data_dir / "plexsync.db")
        try:
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            left = db.execute("SELECT state, count(*) FROM jobs GROUP BY state").fetchall()
            dead = db.execute("SELECT count(*) FROM dead_letters").fetchone()[0]
        finally:
            db.close()
        assert left == [] and dead == 0, (left, dead)
        wrong = [sid for sid, (rk, title) in titles.items() if plex.item(rk).title != title]
    assert wrong == []
    assert killed_mid_drain == KILLS, killed_mid_drain   # every kill hit a draining process
