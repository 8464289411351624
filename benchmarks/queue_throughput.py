"""Queue throughput (issue 3 benchmark): enqueue latency, and 10,000 jobs through a drain.

    python benchmarks/queue_throughput.py [--jobs 10000] [--enqueues 2000]

1. In-process enqueue latency on the real SQLite store (the hook's transaction: BEGIN
   IMMEDIATE, fold the job, read/write the drain markers, COMMIT), p50/p95/p99; target p99 < 5 ms.
   Also the hook's whole database cycle (open + enqueue + close), for reference.
2. `--jobs` jobs enqueued with `enqueue_many` (the bulk tasks' path), then drained by a real
   `Drain` through a no-op processor that acks every job as SYNCED with a sync record, i.e.
   the full per-job queue cost (claim, record upsert, job delete, stats) without Plex.
   Reported in jobs/s, for the SQLite store and for the in-memory contract backend.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from plexsync.core.log import log
from plexsync.queue import markers
from plexsync.queue.drain import Drain
from plexsync.queue.job_queue import JobQueue
from plexsync.queue.memory_store import MemoryStore
from plexsync.queue.model import Batch, JobSource, Outcome, OutcomeKind, Processor, SyncRecord
from plexsync.queue.sqlite_store import SQLiteStore
from plexsync.queue.storage import Storage


class NoOpProcessor:
    def process(self, batch: Batch) -> Iterator[Outcome]:
        for job in batch.jobs:
            now = time.time()
            yield Outcome(job, OutcomeKind.SYNCED, confidence="HIGH", record=SyncRecord(
                scene_id=job.scene_id, rating_key=job.scene_id, section_id=1,
                stash_updated_at="", fetched_at=now, values_hash="h", synced_at=now))


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def enqueue_latency(tmp: str, n: int) -> None:
    path = os.path.join(tmp, "latency.db")
    store = SQLiteStore(path)
    samples = []
    for i in range(n):
        now = time.time()
        start = time.perf_counter()
        store.enqueue(i % 500 + 1, now, JobSource.HOOK, (), now,
                      meta_fn=markers.schedule_if_idle(now, markers.new_token(now)))
        samples.append((time.perf_counter() - start) * 1000)
    store.close()
    cycles = []
    for i in range(n // 4):
        now = time.time()
        start = time.perf_counter()
        cycle = SQLiteStore(path)
        cycle.enqueue(i + 1000, now, JobSource.HOOK, (), now)
        cycle.close()
        cycles.append((time.perf_counter() - start) * 1000)
    print(f"enqueue (one transaction), {n} calls: p50 {statistics.median(samples):.3f} ms, "
          f"p95 {pct(samples, 0.95):.3f} ms, p99 {pct(samples, 0.99):.3f} ms "
          f"-> target p99 < 5 ms: {'PASS' if pct(samples, 0.99) < 5 else 'FAIL'}")
    print(f"open + enqueue + close (the hook's cycle), {len(cycles)} calls: "
          f"p50 {statistics.median(cycles):.3f} ms, p99 {pct(cycles, 0.99):.3f} ms")


def drain_rate(name: str, storage: Storage, tmp: str, jobs: int) -> None:
    queue = JobQueue(storage)
    start = time.perf_counter()
    queue.enqueue_many(range(1, jobs + 1), JobSource.SYNC_TASK)
    enqueued = time.perf_counter() - start

    def factory() -> Processor:
        return NoOpProcessor()

    drain = Drain(queue, factory, lock_path=os.path.join(tmp, f"{name}.lock"),
                  progress=lambda p: None)
    start = time.perf_counter()
    out = drain.run()
    drained = time.perf_counter() - start
    assert out["synced"] == jobs and queue.counts()["pending"] == 0, out
    print(f"{name:>7}: enqueue_many {jobs} jobs in {enqueued:.2f} s "
          f"({jobs / enqueued:,.0f} jobs/s); drained in {drained:.2f} s "
          f"({jobs / drained:,.0f} jobs/s)")
    queue.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--enqueues", type=int, default=2_000)
    opts = parser.parse_args()
    log.info = lambda message: None  # type: ignore[method-assign]  # one line per job is noise here
    with tempfile.TemporaryDirectory() as tmp:
        enqueue_latency(tmp, opts.enqueues)
        drain_rate("sqlite", SQLiteStore(os.path.join(tmp, "drain.db")), tmp, opts.jobs)
        drain_rate("memory", MemoryStore(), tmp, opts.jobs)


if __name__ == "__main__":
    main()
