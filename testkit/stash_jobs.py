"""Stash's job manager for a fake Stash: runs the plugin tasks `runPluginTask` asks for.

Optional, per test: ``jobs = PluginJobs(stash, data_dir).start()`` makes every
``runPluginTask`` request (from a hook, a task or the wake-up timer) run ``plexsync.py`` as a
subprocess, exactly as Stash runs a raw plugin task, and ``jobs.stop()`` ends it. Without it,
``FakeStash`` only records the requests (``task_runs``).

Faithful to Stash (``pkg/job/manager.go``, ``pkg/plugin/raw.go``; notes/stash-plugins.md):
- Jobs run one at a time, in request order: the next starts only when the current one ended.
- The task's stdin is Stash's JSON document (``server_connection`` with the session cookie,
  ``args`` = the request's ``args_map``); its stdout is read to the end and only then is the
  process waited for, so a child holding the task's stdout keeps the job "running".
- ``stop_current()`` kills the task process alone (not its process group), as Stash's Stop.
Simplified: no job progress or cancellation of queued jobs; stderr is kept whole per run.
"""

from __future__ import annotations

import json
import queue
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from testkit import stash_exec
from testkit.fake_stash import FakeStash

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class JobRun:
    """One task run: what was asked, when it ran, what it answered."""

    task_name: str
    args: dict[str, Any]
    requested_at: float
    started_at: float = 0.0
    ended_at: float = 0.0
    returncode: int | None = None
    answer: dict[str, Any] = field(default_factory=dict)
    stderr: str = ""
    job_id: str = ""   # the id runPluginTask answered

    @property
    def status(self) -> str:
        """Stash's JobStatus: a plugin task's job ends FINISHED whatever the plugin printed."""
        return "READY" if not self.started_at else "RUNNING" if not self.ended_at else "FINISHED"

    @property
    def seconds(self) -> float:
        return self.ended_at - self.started_at

    @property
    def mode(self) -> str:
        return str(self.args.get("mode", ""))


class PluginJobs:
    """Runs requested plugin tasks sequentially in a worker thread (see the module docstring)."""

    def __init__(self, stash: FakeStash, data_dir: str | Path, *,
                 env: dict[str, str] | None = None, timeout: float = 300.0) -> None:
        self.stash = stash
        self.data_dir = str(data_dir)
        # as Stash starts a plugin: the plugins root appended to PYTHONPATH
        self.env = stash_exec.environment(ROOT, env, PLEXSYNC_DATA_DIR=self.data_dir)
        self.timeout = timeout
        self.runs: list[JobRun] = []        # finished runs, in order
        self.by_id: dict[str, JobRun] = {}   # every requested run, by job id
        # called with ("ADD" | "UPDATE" | "REMOVE", run) as Stash's job manager notifies
        self.on_change: Callable[[str, JobRun], None] | None = None
        self._todo: queue.Queue[JobRun | None] = queue.Queue()
        self._current: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self) -> PluginJobs:
        self.stash.on_task_run = self._requested
        self._thread = threading.Thread(target=self._work, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stash.on_task_run = None
        self._todo.put(None)
        self.stop_current()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def __enter__(self) -> PluginJobs:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop_current(self) -> None:
        """Stash's Stop: kill the running task's process (not its children)."""
        with self._lock:
            if self._current is not None and self._current.poll() is None:
                self._current.kill()

    def pending(self) -> int:
        """Jobs requested and not finished (queued or running)."""
        return self._todo.unfinished_tasks

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no job is queued or running; False on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.pending() == 0:
                return True
            time.sleep(0.05)
        return False

    def _requested(self, run: dict[str, Any]) -> None:
        # runs in the fake's server thread: only enqueue (the reply must go out first)
        job = JobRun(str(run.get("task_name")), dict(run.get("args_map") or {}), time.time(),
                     job_id=str(run.get("job_id") or ""))
        with self._lock:
            self.by_id[job.job_id] = job
        self._notify("ADD", job)
        self._todo.put(job)

    def _notify(self, kind: str, job: JobRun) -> None:
        if self.on_change is not None:
            self.on_change(kind, job)

    def _work(self) -> None:
        while True:
            job = self._todo.get()
            if job is None:
                self._todo.task_done()
                return
            try:
                self._run(job)
            finally:
                with self._lock:
                    self.runs.append(job)
                self._notify("UPDATE", job)
                self._notify("REMOVE", job)
                self._todo.task_done()

    def _run(self, job: JobRun) -> None:
        stdin = json.dumps(self.stash.task_input(job.args)).encode()
        job.started_at = time.time()
        proc = subprocess.Popen(stash_exec.command(ROOT), stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=self.env)
        with self._lock:
            self._current = proc
        self._notify("UPDATE", job)
        try:
            # like Stash: stdout (and stderr) read to the end, then the process waited for
            out, err = proc.communicate(stdin, timeout=self.timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
        job.ended_at = time.time()
        job.returncode = proc.returncode
        job.stderr = err.decode(errors="replace")
        try:
            job.answer = json.loads(out.decode().strip().splitlines()[-1])
        except (ValueError, IndexError):
            job.answer = {"output": None, "error": f"no JSON answer: {out[:200]!r}"}
        with self._lock:
            self._current = None
