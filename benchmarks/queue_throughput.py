"""Enqueue latency, and 10,000 enqueues from 8 processes at once, on the real SQLite queue.

1. In-process enqueue latency: the hook's transaction (BEGIN IMMEDIATE, fold the job, read/write
   the drain markers, COMMIT) on one connection, p99. The limit: the same number of bare
   one-row INSERT transactions (BEGIN IMMEDIATE ... COMMIT) on a database with the queue's
   pragmas (WAL, synchronous=NORMAL: a commit appends to the WAL, fsync only at checkpoints).
2. 10,000 enqueues split over 8 processes started together (a bulk edit's hooks all at once):
   wall seconds from the first enqueue to the last; the limit is 8 processes doing the bare
   INSERT transactions on one database (SQLite's single writer is the bound).
"""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
import tempfile
import time
from typing import Any

from benchmarks.common import Figure, limit_key, percentile

FIGURES = [
    Figure("enqueue.p99_ms", "enqueue, one transaction: p99", "ms",
           bound="one SQLite write transaction (WAL append)", target="< 5"),
    Figure("enqueue.parallel_s", "10,000 enqueues from 8 processes at once", "s",
           bound="SQLite's single writer, bare inserts"),
]
PROCESSES = 8


def _bare_db(path: str) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE IF NOT EXISTS t (scene INTEGER PRIMARY KEY, at REAL)")


def _bare_enqueues(path: str, ids: range) -> list[float]:
    conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    conn.execute("PRAGMA synchronous=NORMAL")
    samples = []
    for i in ids:
        start = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT OR REPLACE INTO t VALUES (?, ?)", (i, time.time()))
        conn.execute("COMMIT")
        samples.append((time.perf_counter() - start) * 1000)
    conn.close()
    return samples


def _store_enqueues(path: str, ids: range) -> list[float]:
    from plexsync.queue import markers
    from plexsync.queue.enums import JobSource
    from plexsync.queue.job_queue import JobQueue

    store = JobQueue(path)
    samples = []
    for i in ids:
        now = time.time()
        start = time.perf_counter()
        store.enqueue(i, now, JobSource.HOOK,
                      meta_fn=markers.schedule_if_idle(now, markers.stamp(now)))
        samples.append((time.perf_counter() - start) * 1000)
    store.close()
    return samples


def _worker(kind: str, path: str, ids: range, ready: Any, go: Any, out: Any) -> None:
    from benchmarks.common import on_path

    on_path()
    if kind == "store":
        from plexsync.queue import markers  # noqa: F401  (imported before the clock starts)
        from plexsync.queue.job_queue import JobQueue  # noqa: F401
    ready.release()
    go.wait()
    start = time.time()
    (_store_enqueues if kind == "store" else _bare_enqueues)(path, ids)
    out.put((start, time.time()))


def _parallel(kind: str, path: str, total: int) -> float:
    ctx = multiprocessing.get_context("spawn")
    ready, go, out = ctx.Semaphore(0), ctx.Event(), ctx.Queue()
    share = total // PROCESSES
    procs = [ctx.Process(target=_worker, args=(
        kind, path, range(1 + n * share, 1 + (n + 1) * share), ready, go, out))
             for n in range(PROCESSES)]
    for proc in procs:
        proc.start()
    for _ in procs:
        ready.acquire()
    go.set()
    spans: list[tuple[float, float]] = [out.get(timeout=600) for _ in procs]
    for proc in procs:
        proc.join(60)
    return max(end for _, end in spans) - min(start for start, _ in spans)


def measure(quick: bool) -> dict[str, float]:
    from plexsync.queue.job_queue import JobQueue

    calls, total = (300, 1_000) if quick else (2_000, 10_000)
    with tempfile.TemporaryDirectory() as tmp:
        store_db, bare_db = os.path.join(tmp, "queue.db"), os.path.join(tmp, "bare.db")
        JobQueue(store_db).close()
        _bare_db(bare_db)
        mine = _store_enqueues(store_db, range(1, calls + 1))
        bare = _bare_enqueues(bare_db, range(1, calls + 1))
        par_db, par_bare = os.path.join(tmp, "parallel.db"), os.path.join(tmp, "pbare.db")
        JobQueue(par_db).close()
        _bare_db(par_bare)
        parallel = _parallel("store", par_db, total)
        parallel_bare = _parallel("bare", par_bare, total)
        check = JobQueue(par_db)
        pending = check.counts()["pending"]
        check.close()
    if pending != total:
        raise RuntimeError(f"{pending} of {total} parallel enqueues are in the queue")
    return {"enqueue.p99_ms": percentile(mine, 0.99),
            limit_key("enqueue.p99_ms"): percentile(bare, 0.99),
            "enqueue.parallel_s": parallel, limit_key("enqueue.parallel_s"): parallel_bare}
