"""Library index build: PlexSync's CPU seconds and peak memory for one large section, lookups/s.

The fake Plex runs in a child process (`fakes.plex_section`), so neither its serving time nor
its memory is counted. In this process: one `LibraryIndex` build into a fresh data directory
(CPU time of this process), a second build under tracemalloc for the peak of Python
allocations (tracemalloc slows allocation-heavy code, so time and memory are separate builds),
then a cold lookup rate (a new `LibraryIndex` reading the saved shards, as a new task process
does) over 1,000 random paths.

The CPU limit: fetching the same pages over one keep-alive connection and parsing them with
ElementTree, keeping (path, ratingKey, size, duration) per part, and nothing else: what any
client of Plex's paged listing must spend (Plex's page size, not ours, sets the GET count).
The memory limit is that same floor in a second pass under tracemalloc (as PlexSync's traced
build is separate from its timed one). The lookup limit: the floor's rows in a bare SQLite
table (path TEXT PRIMARY KEY, rating_key, size, duration) in a file, then the same 1,000
paths looked up through a freshly opened connection, the open included (diskcache, under the
index, is SQLite: this is what the storage itself allows).
"""

from __future__ import annotations

import http.client
import os
import random
import sqlite3
import tempfile
import time
import tracemalloc
import urllib.parse
from typing import Any

from benchmarks.common import Figure, limit_key, quiet_log
from benchmarks.fakes import FakeHost, index_path

FIGURES = [
    Figure("index.cpu_s", "index build: PlexSync CPU", "s",
           bound="fetch + parse the same listing pages, nothing else"),
    Figure("index.peak_mib", "index build: peak Python memory (tracemalloc)", "MiB",
           bound="the same fetch + parse floor, traced: its rows and one page"),
    Figure("index.gets", "index build: listing GETs", "req",
           bound="items / page size (1,000)"),
    Figure("index.lookups_per_s", "index: cold lookups by path", "lookups/s",
           bound="the same lookups in a bare SQLite table (path primary key), opened fresh"),
]

Row = tuple[str, int, int, int]


def _probes(total: int) -> list[str]:
    """The 1,000 paths every lookup pass asks for (the same ones each time)."""
    rng = random.Random(1)
    return [index_path(rng.randrange(1, total + 1)) for _ in range(1000)]


def _floor(url: str, token: str, items: int, page: int,
           traced: bool = False) -> tuple[float, int, list[Row]]:
    """(CPU seconds, tracemalloc peak bytes or 0, the rows) of fetching and parsing the
    listing pages, keeping (path, ratingKey, size, duration) per part and nothing else."""
    import xml.etree.ElementTree as ET

    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port)
    rows: list[Row] = []
    if traced:
        tracemalloc.start()
    cpu = time.process_time()
    for start in range(0, items, page):
        conn.request("GET", "/library/sections/1/all?type=1&excludeFields=summary,tagline",
                     headers={"X-Plex-Token": token, "X-Plex-Container-Start": str(start),
                              "X-Plex-Container-Size": str(page)})
        root = ET.fromstring(conn.getresponse().read())
        for video in root.iter("Video"):
            rk = int(video.get("ratingKey") or 0)
            for part in video.iter("Part"):
                rows.append((part.get("file") or "", rk, int(part.get("size") or 0),
                             int(part.get("duration") or 0)))
    cpu = time.process_time() - cpu
    peak = tracemalloc.get_traced_memory()[1] if traced else 0
    tracemalloc.stop()
    conn.close()
    if len(rows) != items:
        raise RuntimeError(f"the floor read {len(rows)} rows of {items}")
    return cpu, peak, rows


def _bare_lookups(rows: list[Row], probes: list[str]) -> float:
    """Lookups/s of `probes` against a bare SQLite table of `rows`, through a fresh connection
    (its open counted, as a cold index's first lookup opens its shard)."""
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "bare.sqlite")
        with sqlite3.connect(path) as db:
            db.execute("CREATE TABLE items (path TEXT PRIMARY KEY, rating_key INTEGER, "
                       "size INTEGER, duration INTEGER)")
            db.executemany("INSERT INTO items VALUES (?, ?, ?, ?)", rows)
        db.close()
        started = time.perf_counter()
        db = sqlite3.connect(path)
        hits = sum(db.execute("SELECT rating_key, size, duration FROM items WHERE path = ?",
                              (p,)).fetchone() is not None for p in probes)
        elapsed = time.perf_counter() - started
        db.close()
    if hits != len(probes):
        raise RuntimeError(f"only {hits} of {len(probes)} bare lookups hit")
    return len(probes) / elapsed


def _build(host: FakeHost, measure_memory: bool) -> dict[str, Any]:
    from plexsync.core.settings import Settings
    from plexsync.plex.client import PlexClient
    from plexsync.plex.index import LibraryIndex

    url, token = host.info
    with tempfile.TemporaryDirectory() as data_dir:
        plex = PlexClient(Settings.from_mapping({"plex_url": url, "plex_token": token}),
                          data_dir)
        sections = plex.configured_sections()
        host.call("clear")
        index = LibraryIndex(data_dir, plex, sections)
        if measure_memory:
            tracemalloc.start()
        cpu = time.process_time()
        index.ensure_fresh()
        cpu = time.process_time() - cpu
        peak = tracemalloc.get_traced_memory()[1] if measure_memory else 0
        tracemalloc.stop()
        gets = host.call("listing_gets")
        probes = _probes(int(host.call("items")))
        cold = LibraryIndex(data_dir, plex, sections)
        started = time.perf_counter()
        hits = sum(cold.by_path(p) is not None for p in probes)
        lookup_s = time.perf_counter() - started
        if hits != len(probes):
            raise RuntimeError(f"only {hits} of {len(probes)} lookups hit")
        return {"cpu": cpu, "peak": peak, "gets": gets, "lookups_per_s": len(probes) / lookup_s,
                "page": index.page_size}


def measure(quick: bool) -> dict[str, float]:
    quiet_log()
    items = 5_000 if quick else 100_000
    with FakeHost("benchmarks.fakes:plex_section", items=items) as host:
        timed = _build(host, measure_memory=False)
        traced = _build(host, measure_memory=True)
        url, token = host.info
        floor_cpu, _, rows = _floor(url, token, items, timed["page"])
        del rows   # the traced pass must not count the timed pass's rows
        _, floor_peak, rows = _floor(url, token, items, timed["page"], traced=True)
    return {"index.cpu_s": timed["cpu"], limit_key("index.cpu_s"): floor_cpu,
            "index.peak_mib": traced["peak"] / 2**20,
            limit_key("index.peak_mib"): floor_peak / 2**20, "index.gets": timed["gets"],
            limit_key("index.gets"): -(-items // timed["page"]),
            "index.lookups_per_s": timed["lookups_per_s"],
            limit_key("index.lookups_per_s"): _bare_lookups(rows, _probes(items))}
