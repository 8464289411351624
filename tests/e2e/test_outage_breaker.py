"""The outage breaker under real processes: plexsync.py subprocesses, the real wake-up timer,
Stash's one-at-a-time job queue (testkit/stash_jobs.py) and the loopback fake Plex.

The probe schedule is shortened through `PLEXSYNC_PROBE_BASE` / `PLEXSYNC_PROBE_CAP` (the same
doubling, seconds instead of minutes); the fake Plex's request log carries arrival times.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from plexsync.queue.enums import JobSource, SettleAction
from plexsync.queue.job_queue import JobQueue
from plexsync.resilience import state as breaker_file
from testkit.fake_plex import FakePlex
from testkit.fake_stash import FakeStash
from testkit.stash_jobs import PluginJobs
from tests.e2e.conftest import STASH_COMMAND, library, run_plugin
from tests.e2e.test_wake_timer import wait_for

EDIT = "/library/sections/1/all"



def enqueue(data_dir: Path, ids: list[int]) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    now = time.time()
    store = JobQueue.open(str(data_dir), clock=lambda: now)
    try:
        for scene_id in ids:
            store.enqueue(scene_id, now, JobSource.HOOK)
    finally:
        store.close()


def breaker(data_dir: Path) -> dict[str, Any]:
    state: dict[str, Any] = json.loads((data_dir / breaker_file.FILE).read_text())
    return state


def status(stash: FakeStash, data_dir: Path) -> dict[str, object]:
    output = run_plugin(stash.task_input({"mode": "queue_status"}), data_dir).answer["output"]
    assert isinstance(output, dict)
    return output


def down_after(plex: FakePlex, edits: int) -> threading.Thread:
    """Plex starts answering 503 to everything once `edits` edits went through."""
    def watch() -> None:
        wait_for(lambda: plex.count("PUT", EDIT) >= edits, 60, poll=0.01)
        plex.fail_next(10**6, 503)
    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def identity_times(plex: FakePlex, after: float = 0.0) -> list[float]:
    return [r.at for r in plex.requests if r.path == "/identity" and r.at > after]


def test_plex_down_mid_drain_opens_after_five_probes_on_schedule_and_all_100_land(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLEXSYNC_PROBE_BASE", "0.5")
    monkeypatch.setenv("PLEXSYNC_PROBE_CAP", "2")
    data_dir = tmp_path / "data"
    with FakeStash(plugin_dir=str(tmp_path / "plugin")) as stash, FakePlex() as plex, \
            PluginJobs(stash, data_dir) as jobs:
        ids = library(stash, plex, 100, sync_poster=False)
        enqueue(data_dir, ids)
        down_after(plex, 30).join(0)
        first = run_plugin(stash.task_input({"mode": "process_queue"}), data_dir)
        assert first.returncode == 0, first.answer
        assert first.answer["output"]["stopped"] == "plex_down"
        state = breaker(data_dir)
        assert state["state"] in ("open", "half_open") and state["failures"] == 5
        during = status(stash, data_dir)
        assert during["dlq"] == 0 and during["circuit"] in ("open", "half_open")
        assert during["pending"] + during["retrying"] >= 60   # type: ignore[operator]

        # a drain started now exits at once, saying since when and when the next probe is
        started = time.monotonic()
        again = run_plugin(stash.task_input({"mode": "process_queue"}), data_dir)
        took = time.monotonic() - started
        assert again.answer["output"]["stopped"] == "circuit_open"
        lines = [line for line in again.log_lines if "Plex is down since" in line]
        assert len(lines) == 1 and "next probe" in lines[0], again.log_lines
        assert took < 3.0

        # the wake-up timer probes on the backoff schedule (0.5, 1, 2, 2 s here)
        opened = time.monotonic()
        assert wait_for(lambda: len(identity_times(plex, opened)) >= 3, 15, poll=0.05)
        times = identity_times(plex, opened)
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert all(gap > 0.7 for gap in gaps), gaps   # each gap at least the doubled step
        assert gaps[-1] >= 1.7, gaps                  # …up to the cap (2 s)
        assert jobs.runs == [], "no drain was requested while Plex was down"

        recovered_from = time.monotonic()
        plex.reset_faults()

        def all_landed() -> bool:
            return all(plex.find_by_file(f"/media/s{i}.mp4").title == f"Scene {i}"  # type: ignore[union-attr]
                       for i in range(100))
        assert wait_for(all_landed, 60, poll=0.2), [r.answer for r in jobs.runs]
        assert jobs.wait_idle(30)
        after = status(stash, data_dir)
        assert (after["synced"], after["pending"], after["retrying"], after["dlq"]) == \
            (100, 0, 0, 0)
        assert after["circuit"] == "closed" and after["outages"]["count"] == 1  # type: ignore[index]
        # the ramp: right after the recovery about 5 edits per second, never a burst
        edits = [r.at for r in plex.requests if r.method == "PUT" and r.path == EDIT
                 and r.at > recovered_from]
        assert len(edits) >= 60
        first_two_seconds = [t for t in edits if t - edits[0] < 2.0]
        assert len(first_two_seconds) <= 13, len(first_two_seconds)


def test_twenty_concurrent_invocations_while_a_probe_is_due_send_exactly_one_probe(
        tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    with FakeStash(plugin_dir=str(tmp_path / "plugin")) as stash, FakePlex() as plex:
        library(stash, plex, 1, sync_poster=False)
        stash.plugin_config["PlexSync"]["wake_timer"] = False
        state = breaker_file.fresh(time.time() - 100)
        state.update(state="open", opened_at=time.time() - 60, next_probe_at=time.time() - 1,
                     probe_delay=5.0, plex_url=plex.url)
        breaker_file.write(str(data_dir), state)
        plex.set_delay(1.0)           # the one probe is slow: the others come while half-open
        stdin = json.dumps(stash.task_input({"mode": "outage_summary"}))
        env = {**__import__("os").environ, "PLEXSYNC_DATA_DIR": str(data_dir)}
        procs = [subprocess.Popen(STASH_COMMAND, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  env=env) for _ in range(20)]
        for proc in procs:
            proc.communicate(stdin, timeout=120)
            assert proc.returncode == 0
        assert plex.count("GET", "/identity") == 1
        assert breaker(data_dir)["state"] == "closed"
        assert len(breaker(data_dir)["outages"]) == 1


@pytest.mark.parametrize("content", [b"", b'{"version": 1, "state": "open", "fail',
                                     b"\x89garbage\x00\xff"])
def test_a_damaged_breaker_file_recovers_closed_with_one_warning(
        tmp_path: Path, content: bytes) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / breaker_file.FILE).write_bytes(content)
    with FakeStash(plugin_dir=str(tmp_path / "plugin")) as stash, FakePlex() as plex:
        library(stash, plex, 1, sync_poster=False)
        runs = [run_plugin(stash.task_input({"mode": mode}), data_dir)
                for mode in ("process_queue", "queue_status", "process_queue")]
    warnings = [line for run in runs for line in run.log_lines if breaker_file.FILE in line]
    assert len(warnings) == 1, warnings
    assert all(run.returncode == 0 for run in runs)
    assert breaker(data_dir)["state"] == "closed"
    assert runs[1].answer["output"]["circuit"] == "closed"


def test_outage_class_dlq_entries_come_back_with_recover_dlq_once_plex_is_back(
        fakes: tuple[FakeStash, FakePlex], tmp_path: Path) -> None:
    stash, plex = fakes
    ids = library(stash, plex, 4, sync_poster=False)
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    queue = JobQueue.open(str(data_dir))
    try:
        for scene_id in ids[:3]:   # dead-lettered as PlexServerDown during an earlier outage
            queue.enqueue(scene_id)
            [job] = queue.claim(1, 60, "setup")
            queue.settle(job.id, "setup", SettleAction.DEAD, error={
                "error_class": "PlexServerDown", "message": "Plex timed out", "candidates": []})
    finally:
        queue.close()
    plex.go_down()
    during = run_plugin(stash.task_input({"mode": "recover_dlq"}), data_dir).answer["output"]
    assert (during["matched"], during["requeued"]) == (3, 0)
    plex.come_up()
    after = run_plugin(stash.task_input({"mode": "recover_dlq"}), data_dir).answer["output"]
    assert (after["matched"], after["requeued"]) == (3, 3)
    assert after["drain"]["synced"] == 3
    final = status(stash, data_dir)
    assert (final["dlq"], final["synced"]) == (0, 3)
    assert all(plex.find_by_file(f"/media/s{i}.mp4").title == f"Scene {i}"  # type: ignore[union-attr]
               for i in range(3))


def test_flapping_plex_loses_nothing_duplicates_nothing_and_records_each_outage_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLEXSYNC_PROBE_BASE", "0.3")
    monkeypatch.setenv("PLEXSYNC_PROBE_CAP", "1")
    data_dir = tmp_path / "data"
    env = {**os.environ, "PLEXSYNC_DATA_DIR": str(data_dir)}
    with FakeStash(plugin_dir=str(tmp_path / "plugin")) as stash, FakePlex() as plex, \
            PluginJobs(stash, data_dir) as jobs:
        ids = library(stash, plex, 50, sync_poster=False)
        titles = {i: f"Scene {i}" for i in range(50)}
        for cycle in range(3):
            plex.fail_next(10**6, 503)                      # Plex goes down
            edited = range(cycle * 17, min(50, cycle * 17 + 17))
            procs = []
            for i in edited:                                # 50 hook processes over 3 outages
                titles[i] = f"Scene {i} v{cycle}"
                stash.update_scene(ids[i], title=titles[i])
                stdin = json.dumps(stash.hook_input(ids[i], input={"id": str(ids[i]),
                                                                   "title": titles[i]},
                                                    input_fields=["id", "title"]))
                proc = subprocess.Popen(STASH_COMMAND,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True, env=env)
                procs.append((proc, stdin))
            for proc, stdin in procs:
                proc.communicate(stdin, timeout=120)
                assert proc.returncode == 0
            assert wait_for(lambda: (data_dir / breaker_file.FILE).exists()
                            and breaker(data_dir)["state"] != "closed", 60, poll=0.1), \
                [r.answer for r in jobs.runs]
            plex.reset_faults()                             # …and comes back

            def landed(edited: range = edited) -> bool:
                return breaker(data_dir)["state"] == "closed" and all(
                    plex.find_by_file(f"/media/s{i}.mp4").title == titles[i]  # type: ignore[union-attr]
                    for i in edited)
            assert wait_for(landed, 60, poll=0.2), [r.answer for r in jobs.runs]
        assert jobs.wait_idle(30)
        final = status(stash, data_dir)
        assert (final["pending"], final["retrying"], final["in_progress"], final["dlq"]) == \
            (0, 0, 0, 0)
        assert all(plex.find_by_file(f"/media/s{i}.mp4").title == titles[i]  # type: ignore[union-attr]
                   for i in range(50))
        outages = breaker(data_dir)["outages"]
        assert len(outages) == 3, outages
        assert final["outages"]["count"] == 3   # type: ignore[index]
        assert all(o["jobs_affected"] >= 1 for o in outages), outages
