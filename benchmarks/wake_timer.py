"""The wake-up timer (plexsync/timer/): its memory while asleep, and its lateness.

Each sample arms the real timer (`plexsync.timer.arm.arm`, which spawns the detached
`plexsync.py wake-timer <data_dir>` process) for a time a few seconds ahead, with one queued
job due then, against a fake Stash in a child process that timestamps every request on
arrival (`fakes.stash_only`, before it serves it). While the timer sleeps, its RSS is read
from /proc; the limit is a bare interpreter asleep (`python -c "import time; time.sleep(...)"`).
Lateness: milliseconds from the due time to the runPluginTask request's arrival at Stash; the
limit is 0 (the timer may fire up to its 0.5 s due slack early; a negative figure means early).
"""

from __future__ import annotations

import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time

from benchmarks.common import Figure, limit_key, rss_kib
from benchmarks.fakes import FakeHost

LEAD = 2.5   # seconds from arming to the due time: the timer is asleep well before then
FIGURES = [
    Figure("timer.rss_mib", "wake-up timer asleep: RSS", "MiB",
           bound="a bare interpreter asleep"),
    Figure("timer.late_ms", "wake-up timer: due time to runPluginTask", "ms", limit=0.0,
           bound="0 (fires on time)"),
]


def _bare_rss() -> float:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        time.sleep(0.5)
        return rss_kib(proc.pid) / 1024
    finally:
        proc.kill()
        proc.wait()


def _one(host: FakeHost, tmp: str, n: int) -> tuple[float, float]:
    from plexsync.queue.enums import JobSource
    from plexsync.queue.job_queue import JobQueue
    from plexsync.timer import state
    from plexsync.timer.arm import Armed, arm

    data_dir = os.path.join(tmp, f"data{n}")
    os.makedirs(data_dir)
    due = time.time() + LEAD
    store = JobQueue.open(data_dir, clock=lambda: due)
    store.enqueue(n + 1, due, JobSource.HOOK)
    store.close()
    before = len(host.call("arrivals"))
    if arm(data_dir, due, host.info) is not Armed.STARTED:
        raise RuntimeError("the wake-up timer did not start")
    pid = int(state.read_state(data_dir)["pid"])
    while not state.read_state(data_dir).get("ready"):
        if time.time() > due:
            raise RuntimeError("the wake-up timer was not ready before its due time")
        time.sleep(0.02)
    time.sleep(min(0.3, max(0.0, due - time.time() - 0.7)))
    rss = rss_kib(pid) / 1024
    deadline = due + 10
    while len(arrivals := host.call("arrivals")) == before:
        if time.time() > deadline:
            raise RuntimeError("the wake-up timer never asked Stash for Process Queue")
        time.sleep(0.01)
    late_ms = (arrivals[before] - due) * 1000
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)    # our child (arm spawned it): reap it
    if host.call("task_runs") != before + 1:
        raise RuntimeError("the timer's request was not a runPluginTask")
    return rss, late_ms


def measure(quick: bool) -> dict[str, float]:
    samples = 1 if quick else 3
    with tempfile.TemporaryDirectory() as tmp, FakeHost("benchmarks.fakes:stash_only") as host:
        got = [_one(host, tmp, n) for n in range(samples)]
    return {"timer.rss_mib": statistics.median(r for r, _ in got),
            limit_key("timer.rss_mib"): _bare_rss(),
            "timer.late_ms": statistics.median(ms for _, ms in got)}
