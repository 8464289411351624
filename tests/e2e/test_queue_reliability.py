"""The queue under real processes: hook bursts, killed drains, rival drains, a corrupt file.

Every test runs the real entrypoint or a real `Drain` as a subprocess with real stdin, the way
Stash runs the plugin, against a data directory in tmp_path.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from plexsync.queue.job_queue import JobQueue
from plexsync.queue.model import JobSource
from testkit.fake_stash import FakeStash
from tests.e2e.conftest import ENTRYPOINT, STASH_COMMAND, run_plugin

DRAIN_SCRIPT = Path(__file__).with_name("drain_script.py")


def env_for(data_dir: Path) -> dict[str, str]:
    """Like Stash's Python: bytecode is cached (here in a private folder, keeping the tree clean),
    so 400 hook processes do not each recompile the plugin."""
    env = dict(os.environ, PLEXSYNC_DATA_DIR=str(data_dir),
               PYTHONPYCACHEPREFIX=str(data_dir.parent / "pycache"))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def count(data_dir: Path, sql: str) -> int:
    with sqlite3.connect(data_dir / "plexsync.db", timeout=30) as conn:
        value: int = conn.execute(sql).fetchone()[0]
    return value


def hook_burst(stash: FakeStash, data_dir: Path, scene_ids: range) -> list[dict[str, Any]]:
    """Start one hook process per scene at once (like a bulk edit), then collect them all."""
    procs = []
    for scene_id in scene_ids:
        doc = stash.hook_input(scene_id, input={"id": str(scene_id), "title": f"Scene {scene_id}"},
                               input_fields=["id", "title"])
        proc = subprocess.Popen(STASH_COMMAND, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=env_for(data_dir))
        assert proc.stdin is not None
        proc.stdin.write(json.dumps(doc).encode())
        proc.stdin.close()
        procs.append((scene_id, proc))
    results = []
    for scene_id, proc in procs:
        proc.wait(timeout=300)  # its output is a few hundred bytes: the pipes cannot fill up
        assert proc.stdout is not None and proc.stderr is not None
        out, err = proc.stdout.read(), proc.stderr.read()
        proc.stdout.close()
        proc.stderr.close()
        results.append({"scene": scene_id, "rc": proc.returncode,
                        "stdout": out.decode(), "stderr": err.decode()})
    return results


def assert_clean(results: list[dict[str, Any]]) -> None:
    for r in results:
        assert r["rc"] == 0, r
        answer = json.loads(r["stdout"])
        assert answer["error"] is None and answer["output"]["queued"] == r["scene"], r
        bad = [line for line in r["stderr"].splitlines()
               if not (line.startswith("\x01d\x02") or line.startswith("\x01i\x02"))]
        assert bad == [], r


def test_200_simultaneous_hooks_leave_exactly_200_jobs_and_one_drain_request(
        tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with FakeStash(plugin_dir=str(tmp_path / "plugin")) as stash:
        subprocess.run([sys.executable, "-c", "import sys; sys.path.insert(0, sys.argv[1]); "
                        "import plexsync.hook.handler, plexsync.tasks.router",
                        str(ENTRYPOINT.parent)],
                       env=env_for(data_dir), check=True)  # fill the bytecode cache once
        first = hook_burst(stash, data_dir, range(1, 201))
        assert_clean(first)
        assert count(data_dir, "SELECT count(*) FROM jobs WHERE state = 'pending'") == 200
        assert len(stash.task_runs) == 1
        again = hook_burst(stash, data_dir, range(1, 201))
        assert_clean(again)
        assert count(data_dir, "SELECT count(*) FROM jobs") == 200
        assert len(stash.task_runs) == 1
    drains = [json.loads(r["stdout"])["output"]["drain"] for r in first]
    assert drains.count("requested") == 1


def test_a_drain_killed_mid_batch_loses_nothing_and_leaves_nothing_claimed(
        tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    queue = JobQueue.open(str(data_dir))
    queue.enqueue_many(range(1, 31), JobSource.SYNC_TASK)
    queue.close()
    victim = subprocess.Popen([sys.executable, str(DRAIN_SCRIPT), str(data_dir), "0.2", "10"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while count(data_dir, "SELECT count(*) FROM sync_records") < 3:
        assert time.monotonic() < deadline and victim.poll() is None
        time.sleep(0.05)
    victim.send_signal(signal.SIGKILL)
    victim.communicate(timeout=30)
    claimed = count(data_dir, "SELECT count(*) FROM jobs WHERE state = 'in_progress'")
    done_before = count(data_dir, "SELECT count(*) FROM sync_records")
    assert claimed > 0 and done_before < 30

    survivor = subprocess.run([sys.executable, str(DRAIN_SCRIPT), str(data_dir), "0"],
                              capture_output=True, text=True, timeout=120, check=True)
    out = json.loads(survivor.stdout)
    assert out["stopped"] == "empty"
    assert count(data_dir, "SELECT count(*) FROM sync_records") == 30
    assert count(data_dir, "SELECT count(*) FROM jobs") == 0
    assert "left claimed by a drain that was stopped" in survivor.stderr


def test_two_drains_started_together_one_drains_and_the_other_exits_at_once(
        tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    queue = JobQueue.open(str(data_dir))
    queue.enqueue_many(range(1, 21), JobSource.SYNC_TASK)
    queue.close()
    args = [sys.executable, str(DRAIN_SCRIPT), str(data_dir), "0.2", "5"]
    started = time.monotonic()
    procs = [subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    finished: list[tuple[dict[str, Any], float, str]] = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        finished.append((json.loads(out), time.monotonic() - started, err))
    skipped = [f for f in finished if f[0].get("skipped")]
    drained = [f for f in finished if not f[0].get("skipped")]
    assert len(skipped) == 1 and len(drained) == 1
    assert drained[0][0]["synced"] == 20
    assert skipped[0][0] == {"skipped": "another drain is running"}
    assert "already running" in skipped[0][2]
    assert count(data_dir, "SELECT count(*) FROM sync_records") == 20


def test_a_garbage_database_is_moved_aside_with_a_warning_and_the_hook_still_works(
        tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o700)   # owner-only, as PlexSync makes it: one warning, the database's
    (data_dir / "plexsync.db").write_bytes(os.urandom(4096) * 4)
    with FakeStash(plugin_dir=str(tmp_path / "plugin")) as stash:
        run = run_plugin(stash.hook_input(3, input={"id": "3", "title": "T"},
                                          input_fields=["id", "title"]), data_dir)
    assert run.returncode == 0 and run.answer["output"]["queued"] == 3
    warnings = [line for line in run.stderr.splitlines() if line.startswith("\x01w\x02")]
    assert len(warnings) == 1 and "moved it aside" in warnings[0]
    assert "Traceback" not in run.stderr
    assert count(data_dir, "SELECT count(*) FROM jobs") == 1
    assert len(list(data_dir.glob("plexsync.db.corrupt-*"))) == 1
