"""Test doubles: a fake clock, scripted processors, and a scripted `requests` transport."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import requests
from requests.adapters import BaseAdapter

from plexsync.core.log import log
from plexsync.errors import PlexSyncError
from plexsync.queue.job_queue import JobQueue
from plexsync.queue.model import Batch, Job, Outcome, OutcomeKind, SyncRecord

T0 = 1_700_000_000.0


class FakeClock:
    """Time that moves only when told to (or when `sleep` is called)."""

    def __init__(self, start: float = T0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def record(scene_id: int, fetched_at: float = T0, rating_key: int = 0,
           **changes: Any) -> SyncRecord:
    values: dict[str, Any] = dict(
        scene_id=scene_id, rating_key=rating_key or 1000 + scene_id, section_id=1,
        stash_updated_at="2024-01-01T00:00:00Z", fetched_at=fetched_at, values_hash="h",
        synced_at=fetched_at, poster_key="", poster_hash="", art_hash="",
        collections_added=(), confidence="HIGH",
    )
    values.update(changes)
    return SyncRecord(**values)


def synced(job: Job, clock: Callable[[], float] | None = None) -> Outcome:
    at = clock() if clock else T0
    return Outcome(job, OutcomeKind.SYNCED, record=record(job.scene_id, fetched_at=at),
                   confidence="HIGH", seconds=0.5)


def failed(job: Job, error: PlexSyncError) -> Outcome:
    return Outcome(job, OutcomeKind.FAILED, error=error)


Script = Callable[[Job], Outcome]


class ScriptedProcessor:
    """Answers each job with `script[scene_id](job)` (default: synced); records what it saw."""

    def __init__(self, script: dict[int, Script] | None = None,
                 default: Script = synced,
                 before_each: Callable[[Job], object] | None = None) -> None:
        self.script = dict(script or {})
        self.default = default
        self.before_each = before_each
        self.batches: list[list[int]] = []

    @property
    def seen(self) -> list[int]:
        return [scene for batch in self.batches for scene in batch]

    def process(self, batch: Batch) -> Iterator[Outcome]:
        self.batches.append([j.scene_id for j in batch.jobs])
        for job in batch.jobs:
            if self.before_each is not None:
                self.before_each(job)
            yield self.script.get(job.scene_id, self.default)(job)


@contextmanager
def captured_log() -> Iterator[io.StringIO]:
    """Capture the plugin's stderr log lines (restores the stream and flags afterwards)."""
    stream = io.StringIO()
    old_stream, old_debug = log._stream, log.debug_enabled
    old_obfuscate = log.obfuscate_paths
    log._stream = stream
    try:
        yield stream
    finally:
        log._stream = old_stream
        log.debug_enabled, log.obfuscate_paths = old_debug, old_obfuscate


def lines(stream: io.StringIO, level: str | None = None) -> list[str]:
    """Log messages (without the \\x01X\\x02 prefix), optionally of one level (i, w, e, d)."""
    out = []
    for line in stream.getvalue().splitlines():
        if len(line) >= 3 and line[0] == "\x01" and line[1] != "p" and (
                level is None or line[1] == level):
            out.append(line[3:])
    return out


OWNER = "drain-a"
LEASE = 600.0


def claim_one(queue: JobQueue, owner: str = OWNER) -> Job:
    jobs = queue.claim(1, LEASE, owner)
    assert len(jobs) == 1
    return jobs[0]


def modules_loaded_by(code: str) -> set[str]:
    """The modules a fresh interpreter loads while running `code` (beyond its own start-up),
    with the project root on sys.path: the import budgets of the hook and the page."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    script = (
        f"import sys; sys.path.insert(0, {str(root)!r}); base = set(sys.modules)\n"
        f"{code}\n"
        "import _json; sys.stdout.write(_json.encode_basestring_ascii(' '.join("
        "sorted(set(sys.modules) - base))))\n"
    )
    # Without coverage's subprocess hook: it would load its own modules into the child.
    env = {k: v for k, v in os.environ.items() if not k.startswith("COVERAGE_")}
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True, env=env)
    return set(json.loads(proc.stdout).split())


class ScriptedTransport(BaseAdapter):
    """A `requests` transport with no socket, for the redirect policies: answers each URL as
    scripted ((status, Location)), else 200 with `body`, and records each request as `note`
    makes it (subclasses pick what to record: the credential headers, the timeout)."""

    body = b"{}"

    def __init__(self, answers: Mapping[str, tuple[int, str]]) -> None:
        super().__init__()
        self.answers = dict(answers)
        self.sent: list[Any] = []

    def note(self, request: requests.PreparedRequest, kwargs: Mapping[str, Any]) -> Any:
        return (request.method or "", request.url or "")

    def send(self, request: requests.PreparedRequest, *args: Any,
             **kwargs: Any) -> requests.Response:
        url = request.url or ""
        self.sent.append(self.note(request, kwargs))
        status, location = self.answers.get(url, (200, ""))
        response = requests.Response()
        response.status_code, response.url, response.request = status, url, request
        response._content = self.body
        if location:
            response.headers["Location"] = location
        return response

    def close(self) -> None:
        pass


def database_at_version(path: str, version: int, *inserts: str) -> str:
    """A queue database at schema `version` (the first `version` migrations), with `inserts`
    run on it: how an older PlexSync left it, for the upgrade tests."""
    import sqlite3

    from plexsync.queue.schema import MIGRATIONS

    conn = sqlite3.connect(path)
    for step in MIGRATIONS[:version]:
        for statement in step:
            conn.execute(statement)
    for statement in inserts:
        conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {int(version)}")
    conn.commit()
    conn.close()
    return path
