"""Library index build time and peak memory for a large section (issue 4 benchmark).

    python benchmarks/index_build.py [--items 100000] [--page-sizes 100,500,1000]

The fake Plex runs in a child process (so its own memory is not measured) with `--items`
movies in one section. For each page size, in this process: one `LibraryIndex` build into a
fresh data directory (wall time, listing GETs, tracemalloc peak of Python allocations), the
index size on disk, then a cold process-like lookup (a new `LibraryIndex` reading the saved
shards) of 1,000 random paths and 1,000 basenames. Time and memory come from two separate
builds (tracemalloc slows allocation-heavy code about threefold).

The fake's `add_item` checks every existing item for a duplicate path (O(n) per call), so the
child fills the fake's item table directly.
"""

from __future__ import annotations

import argparse
import io
import multiprocessing
import os
import random
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from plexsync.core.log import log  # noqa: E402
from plexsync.core.paths import basename, fold  # noqa: E402
from plexsync.core.settings import Settings  # noqa: E402
from plexsync.plex.client import PlexClient  # noqa: E402
from plexsync.plex.index import LibraryIndex  # noqa: E402


def path_of(i: int) -> str:
    return f"/media/videos/studio-{i % 300:03d}/year-{2000 + i % 25}/scene-{i:06d}-a-title.mp4"


def serve(conn: Any, items: int) -> None:
    from testkit.fake_plex import FakePlex, ItemState

    plex = FakePlex().start()
    plex.add_section(1, "Movies", ["/media/videos"])
    now = int(time.time())
    with plex._lock:
        for i in range(1, items + 1):
            plex._items[i] = ItemState(
                rating_key=i, section_id=1, title=f"scene {i:06d}",
                files=[(path_of(i), 1_000_000 + i, 600_000 + i)], added_at=now, updated_at=now,
                tags={"genre": ["Drama", "Night"], "actor": ["Ada"], "collection": [],
                      "label": [], "director": [], "writer": [], "producer": [], "country": []})
        plex._next_rk = items + 1
    conn.send((plex.url, plex.token))
    while True:
        message = conn.recv()
        if message == "stop":
            break
        conn.send((plex.count("GET", "/library/sections/1/all"), 0))
        plex.clear_requests()
    plex.stop()


def folder_size(path: str) -> int:
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)


def build(url: str, token: str, page_size: int, server: Any, probes: list[str],
          measure_memory: bool) -> dict[str, float]:
    """One build into a fresh data dir; tracemalloc slows Python ~3x, so it is a separate run."""
    with tempfile.TemporaryDirectory() as data_dir:
        plex = PlexClient(Settings.from_mapping({"plex_url": url, "plex_token": token}),
                          data_dir)
        sections = plex.configured_sections()
        server.send("count")
        server.recv()                                   # reset the request log
        index = LibraryIndex(data_dir, plex, sections, page_size=page_size)
        if measure_memory:
            tracemalloc.start()
        started, cpu = time.perf_counter(), time.process_time()
        index.ensure_fresh()
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        peak = tracemalloc.get_traced_memory()[1] if measure_memory else 0
        tracemalloc.stop()
        server.send("count")
        gets, _ = server.recv()
        cold = LibraryIndex(data_dir, plex, sections, page_size=page_size)
        started = time.perf_counter()
        hits = sum(cold.by_path(p) is not None for p in probes)
        by_path_ms = (time.perf_counter() - started) * 1000 / len(probes)
        started = time.perf_counter()
        sum(bool(cold.by_basename(fold(basename(p)))) for p in probes)
        by_name_ms = (time.perf_counter() - started) * 1000 / len(probes)
        return {"wall": wall, "cpu": cpu, "peak": peak, "gets": gets, "hits": hits,
                "disk": folder_size(os.path.join(data_dir, "index")),
                "by_path_ms": by_path_ms, "by_name_ms": by_name_ms}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--page-sizes", default="100,500,1000")
    args = parser.parse_args()
    log._stream = io.StringIO()
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    server = ctx.Process(target=serve, args=(child, args.items), daemon=True)
    server.start()
    url, token = parent.recv()
    print(f"section of {args.items} items; fake Plex in a child process")
    rng = random.Random(1)
    probes = [path_of(rng.randrange(1, args.items + 1)) for _ in range(1000)]
    try:
        for page_size in (int(p) for p in args.page_sizes.split(",")):
            timed = build(url, token, page_size, parent, probes, measure_memory=False)
            traced = build(url, token, page_size, parent, probes, measure_memory=True)
            print(f"\npage size {page_size}: {timed['gets']} listing GETs; build "
                  f"{timed['wall']:.2f} s wall, {timed['cpu']:.2f} s CPU in PlexSync (the rest "
                  f"is the fake serving); tracemalloc peak {traced['peak'] / 2**20:.1f} MiB; "
                  f"on disk {timed['disk'] / 2**20:.1f} MiB")
            print(f"   cold lookups (new process, shards read from disk): by path "
                  f"{timed['by_path_ms']:.3f} ms, by basename {timed['by_name_ms']:.3f} ms "
                  f"({timed['hits']}/1000 hit)")
    finally:
        parent.send("stop")
        server.join(30)


if __name__ == "__main__":
    main()
