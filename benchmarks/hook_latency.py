"""Hook process wall time, start to exit, as a ratio to a bare `python -c pass`.

Runs `plexsync.py` as Stash does (a new process started with the manifest's exec line,
testkit/stash_exec.py, the hook JSON on stdin) from a copy of the plugin in a temporary plugin
folder, against a fake Stash in a child process, interleaved with `python -c pass` and with the
limit, a bare interpreter started with the same interpreter options as the hook (`-S`) that
opens the same SQLite database (WAL, synchronous=NORMAL, as the queue) and inserts one row.
Four cases:
- "queued": a drain is already requested or running, so the hook only enqueues (a bulk edit,
  or any edit while Process Queue runs): the plain hook;
- "queued + request": no drain is known, so the hook also POSTs runPluginTask (a lone edit);
  its wall time includes the fake Stash answering (Python graphql-core; real Stash is Go);
- "object" and "object + request": the same for a performer renamed (Performer.Update.Post: one
  object job, docs/design.md#object-jobs), held to the scene hook's targets.
Both with bytecode cached (Stash's Python writes `__pycache__` in the plugin folder as usual;
after a warm-up) and without (PYTHONDONTWRITEBYTECODE: a read-only plugin folder, PlexSync's
modules compiled on every run).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import ROOT, Figure, limit_key, percentile
from benchmarks.fakes import FakeHost
from testkit import stash_exec

CASES = {"queued": "hook, plain", "request": "hook + drain request",
         "object": "performer renamed, plain", "object_request": "performer renamed + request"}
MODES = {"cached": "cached", "nocache": "no bytecode cache"}
# Object hooks (a performer renamed: one object job) are held to the scene hook's targets.
TARGETS = {("cached", "queued"): "<= 2.0x", ("cached", "request"): "<= 2.2x",
           ("cached", "object"): "<= 2.0x", ("cached", "object_request"): "<= 2.2x"}

FIGURES = [
    fig
    for mode, mode_label in MODES.items()
    for case, case_label in CASES.items()
    for fig in (
        Figure(f"hook.{mode}.{case}.p50_ratio", f"{case_label}, {mode_label}: p50 ÷ bare",
               "x", bound="interpreter start-up + sqlite3 + one insert",
               target=TARGETS.get((mode, case), "")),
        Figure(f"hook.{mode}.{case}.p95_ms", f"{case_label}, {mode_label}: p95", "ms",
               bound="same, p95"),
    )
] + [Figure("hook.bare.p50_ms", "bare `python -c pass` (the ratios' unit): p50", "ms",
            bound="the interpreter itself")]

SQLITE_LIMIT = (
    "import sqlite3, sys\n"
    "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
    "c.execute('PRAGMA synchronous=NORMAL')\n"
    "c.execute('INSERT INTO t (v) VALUES (1)')\n"
    "c.close()\n"
)


def _timed(args: list[str], stdin: bytes, env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(args, input=stdin, env=env, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{args[1:2]} failed ({proc.returncode}): {proc.stdout!r} "
                           f"{proc.stderr[-400:]!r}")
    return elapsed * 1000


def _mode(tmp: str, host: FakeHost, mode: str, runs: int) -> dict[str, list[float]]:
    import json

    env = dict(os.environ, PLEXSYNC_DATA_DIR=os.path.join(tmp, mode, "data"))
    for var in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX", "PYTHONPATH"):
        env.pop(var, None)
    if mode == "nocache":
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    plugin = Path(tmp) / mode / "plugins" / "PlexSync"
    shutil.copytree(ROOT / "plexsync", plugin / "plexsync",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(ROOT / "plexsync.py", plugin / "plexsync.py")
    shutil.copy2(ROOT / stash_exec.MANIFEST, plugin / stash_exec.MANIFEST)
    hook = stash_exec.command(plugin)
    options = [arg for arg in hook[1:-1] if arg.startswith("-")]   # the interpreter's, e.g. -S
    bare = [sys.executable, "-c", "pass"]
    limit_db = os.path.join(tmp, mode, "limit.db")
    with sqlite3.connect(limit_db) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE t (v INTEGER)")
    limit = [sys.executable, *options, "-c", SQLITE_LIMIT, limit_db]
    db = os.path.join(env["PLEXSYNC_DATA_DIR"], "plexsync.db")

    def stdin(scene_id: int, command: str = "hook_input") -> bytes:
        return json.dumps(host.call(command, scene_id)).encode()

    # The steady state: the first task writes breaker.json (a closed breaker, the start of the
    # availability window), and from then on every hook reads it (hook/handler.py).
    from plexsync.resilience import state as breaker_state

    os.makedirs(env["PLEXSYNC_DATA_DIR"], mode=0o700, exist_ok=True)
    breaker_state.write(env["PLEXSYNC_DATA_DIR"], breaker_state.fresh(time.time()))

    def forget_drain() -> None:
        with sqlite3.connect(db) as conn:
            conn.execute("DELETE FROM meta")

    for i in range(3):  # warm-up: bytecode cache, database creation, page cache
        _timed(hook, stdin(10_000 + i), env)
        _timed(hook, stdin(10_000 + i, "object_hook_input"), env)
        _timed(bare, b"", env)
        _timed(limit, b"", env)
    out: dict[str, list[float]] = {"bare": [], "limit": [], **{case: [] for case in CASES}}
    for i in range(runs):
        inputs, objects = stdin(i + 1), stdin(i + 1, "object_hook_input")
        out["bare"].append(_timed(bare, b"", env))
        out["limit"].append(_timed(limit, b"", env))
        # scene and object pairs alternate which goes first: each case follows a drain
        # request (a busy fake Stash) equally often
        pairs = [(inputs, "queued", "request"), (objects, "object", "object_request")]
        for doc, plain, request in pairs if i % 2 == 0 else pairs[::-1]:
            out[plain].append(_timed(hook, doc, env))
            forget_drain()
            out[request].append(_timed(hook, doc, env))
    return out


def measure(quick: bool) -> dict[str, float]:
    runs = 8 if quick else 40
    values: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp, FakeHost("benchmarks.fakes:stash_only") as host:
        bare_all: list[float] = []
        for mode in MODES:
            got = _mode(tmp, host, mode, runs)
            bare_all += got["bare"]
            bare50 = statistics.median(got["bare"])
            lim50, lim95 = statistics.median(got["limit"]), percentile(got["limit"], 0.95)
            for case in CASES:
                key = f"hook.{mode}.{case}"
                values[f"{key}.p50_ratio"] = statistics.median(got[case]) / bare50
                values[limit_key(f"{key}.p50_ratio")] = lim50 / bare50
                values[f"{key}.p95_ms"] = percentile(got[case], 0.95)
                values[limit_key(f"{key}.p95_ms")] = lim95
        requests: Any = host.call("task_runs")
        expected = 2 * (2 * runs + 1)   # one per forgotten drain, plus each warm-up's first
        if requests != expected:
            raise RuntimeError(f"runPluginTask requests {requests}, expected {expected}")
        values["hook.bare.p50_ms"] = statistics.median(bare_all)
    return values
