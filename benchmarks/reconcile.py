"""Reconcile All over a large library: PlexSync's own time, peak memory, requests (issue 12).

    python benchmarks/reconcile.py [--scenes 100000] [--drift 0.01]

Three child processes (spawned): the fake Stash with `--scenes` scenes, the fake Plex with one
section holding the same files with the same values, and PlexSync itself, which runs ONE
`reconcile(scope=all)` (no drain) in a fresh process so that its numbers are its own:
- seconds: wall time of the run, and the CPU time of PlexSync's process (the fakes' serving
  time is in their own processes; the wall time includes waiting for them);
- peak memory: the PlexSync process's peak RSS (VmHWM, interpreter included; not ru_maxrss,
  which in a spawned child carries the parent's peak: `benchmarks.common.peak_rss_mib`);
- Stash queries (reconcile pages) and Plex requests (by kind) from the fakes' request logs.

Set-up (not measured): every scene gets a sync record as if an earlier sync had pushed its
values (values hash from the sync engine's own `fields.wanted` over the scenes as Stash
returns them, rating key from Plex); then `--drift` of the Plex items lose their summary by
hand, so the run has real gaps to find. Targets (issue 12): under 60 s of PlexSync's own time,
under 300 MB peak, and Plex requests equal to the listing pages (plus connect and sections).
"""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing
import os
import random
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

STUDIOS = [f"Studio {i:02d}" for i in range(50)]
TAGS = ["Drama", "Comedy", "Outdoor", "Behind the Scenes", "4K", "Interview", "Night",
        "Travel", "Music", "Documentary", "Classic", "Short"]
PERFORMERS = [f"Performer {i:03d}" for i in range(300)]


def scene_spec(i: int) -> dict[str, Any]:
    rng = random.Random(i)
    studio = rng.choice(STUDIOS)
    return {
        "title": f"Scene {i:06d} {rng.choice(TAGS)}", "details": f"About scene {i}.\nMore.",
        "date": f"20{rng.randrange(10, 26):02d}-{rng.randrange(1, 13):02d}-"
                f"{rng.randrange(1, 29):02d}",
        "rating100": rng.choice((None, 20, 60, 80)), "studio": studio,
        "tags": rng.sample(TAGS, rng.randrange(1, 6)),
        "performers": rng.sample(PERFORMERS, rng.randrange(0, 4)),
        "path": f"/media/videos/{studio.lower().replace(' ', '-')}/scene-{i:06d}.mp4",
    }


def serve_stash(conn: Any, scenes: int) -> None:
    from testkit.fake_stash import FakeStash

    stash = FakeStash().start()
    studios = {name: stash.add_studio(name) for name in STUDIOS}
    tags = {name: stash.add_tag(name) for name in TAGS}
    performers = {name: stash.add_performer(name) for name in PERFORMERS}
    for i in range(1, scenes + 1):
        s = scene_spec(i)
        stash.add_scene(title=s["title"], details=s["details"], date=s["date"],
                        rating100=s["rating100"], studio_id=studios[s["studio"]],
                        tag_ids=[tags[t] for t in s["tags"]],
                        performer_ids=[performers[p] for p in s["performers"]],
                        files=[{"path": s["path"].replace("/media/", "/data/"),
                                "size": 1_000_000 + i, "duration": 600.0}])
    conn.send(stash.server_connection())
    while (message := conn.recv()) != "stop":
        if message == "count":
            conn.send(stash.count("PlexSyncReconcilePage"))
        else:
            stash.clear_requests()
            conn.send(None)
    stash.stop()


def serve_plex(conn: Any, scenes: int, drift: float) -> None:
    from testkit.fake_plex import FakePlex, ItemState

    plex = FakePlex().start()
    plex.add_section(1, "Movies", ["/media/videos"])
    now = int(time.time()) - 60
    drifted = set(random.Random(1).sample(range(1, scenes + 1), int(scenes * drift)))
    with plex._lock:   # direct fill: add_item checks every item for a duplicate path
        for i in range(1, scenes + 1):
            s = scene_spec(i)
            plex._items[i] = ItemState(
                rating_key=i, section_id=1, title=s["title"],
                summary="" if i in drifted else s["details"].replace("\n", "\n"),
                studio=s["studio"], originally_available_at=s["date"], year=int(s["date"][:4]),
                user_rating=None if s["rating100"] is None else s["rating100"] / 10,
                files=[(s["path"], 1_000_000 + i, 600_000)], added_at=now, updated_at=now,
                poster_url="http://stash/screenshot",
                tags={"genre": list(s["tags"]), "actor": list(s["performers"]),
                      "collection": [s["studio"]], "label": [], "director": [], "writer": [],
                      "producer": [], "country": []})
        plex._next_rk = scenes + 1
    conn.send((plex.url, plex.token, len(drifted)))
    while (message := conn.recv()) != "stop":
        if message == "count":
            reqs = plex.requests
            conn.send({"total": len(reqs),
                       "listing": sum(r.method == "GET" and r.path.endswith("/all")
                                      for r in reqs),
                       "items": sum(r.path.startswith("/library/metadata/") for r in reqs)})
        else:
            plex.clear_requests()
            conn.send(None)
    plex.stop()


def settings_raw(url: str, token: str) -> dict[str, Any]:
    return {"plex_url": url, "plex_token": token, "path_map": "/data/videos=/media/videos"}


def prime(data_dir: str, url: str, token: str, connection: dict[str, Any]) -> int:
    """Sync records as an earlier sync would have left them (not measured)."""
    from plexsync.core.settings import Settings
    from plexsync.queue.job_queue import JobQueue
    from plexsync.stash.api import StashClient
    from plexsync.sync import fields

    JobQueue.open(data_dir).close()
    settings = Settings.from_mapping(settings_raw(url, token))
    stash = StashClient(connection)
    now = time.time()
    rows = []
    after = 0
    while True:
        _, scenes = stash.reconcile_page(None, after, 1000)
        if not scenes:
            break
        for s in scenes:
            want = fields.wanted(s, settings)
            rows.append((int(s["id"]), int(s["id"]), 1, s["updated_at"], now, want.values_hash,
                         now, json.dumps([want.collections[0]] if want.collections else [])))
        after = int(scenes[-1]["id"])
    with sqlite3.connect(os.path.join(data_dir, "plexsync.db")) as db:
        db.executemany("INSERT INTO sync_records (scene_id, rating_key, section_id, "
                       "stash_updated_at, fetched_at, values_hash, synced_at, collections_added)"
                       " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    return len(rows)


def run_plexsync(conn: Any, data_dir: str, url: str, token: str,
                 connection: dict[str, Any]) -> None:
    from benchmarks.common import peak_rss_mib
    from plexsync.core.context import TaskContext
    from plexsync.core.log import log
    from plexsync.core.settings import Settings
    from plexsync.reconcile.engine import Scope, Trigger, reconcile
    from plexsync.stash.api import StashClient

    log._stream = io.StringIO()
    ctx = TaskContext(settings=Settings.from_mapping(settings_raw(url, token)),
                      data_dir=data_dir, stash=StashClient(connection), progress=lambda _: None)
    wall, cpu = time.perf_counter(), time.process_time()
    if os.environ.get("RECONCILE_PROFILE"):
        import cProfile
        import pstats

        profile = cProfile.Profile()
        result = profile.runcall(reconcile, ctx, Scope.ALL, Trigger.TASK)
        pstats.Stats(profile, stream=sys.stderr).sort_stats("cumulative").print_stats(35)
    else:
        result = reconcile(ctx, Scope.ALL, Trigger.TASK)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    conn.send({"wall": wall, "cpu": cpu, "rss_mib": peak_rss_mib(),
               "out": result.as_output()})


def run_floor_child(mp: Any, url: str, token: str, connection: dict[str, Any]) -> Any:
    """The floor pass (benchmarks/reconcile_floor.py) in its own fresh child process."""
    from benchmarks import reconcile_floor

    plan = reconcile_floor.plan(url, token, connection, settings_raw(url, token)["path_map"])
    mine, theirs = mp.Pipe()
    proc = mp.Process(target=reconcile_floor.run_floor, args=(theirs, plan))
    proc.start()
    floor = mine.recv()
    proc.join(60)
    return floor


def run(scenes: int, drift: float, announce: bool = False,
        with_floor: bool = False) -> dict[str, Any]:
    """Start both fakes in child processes, prime the sync records, then ONE Reconcile All in
    a fresh child process (its time and memory are its own). Returns the child's figures
    (`got`), the record count primed, the drifted items, and the fakes' request counts; with
    `with_floor`, also the floor pass's figures (`floor`), run after it against the same
    fakes in another fresh child, after the request counts are read."""
    mp = multiprocessing.get_context("spawn")
    stash_end, stash_child = mp.Pipe()
    plex_end, plex_child = mp.Pipe()
    children = [mp.Process(target=serve_stash, args=(stash_child, scenes), daemon=True),
                mp.Process(target=serve_plex, args=(plex_child, scenes, drift), daemon=True)]
    for child in children:
        child.start()
    started = time.perf_counter()
    try:
        connection = stash_end.recv()
        url, token, drifted = plex_end.recv()
        if announce:
            print(f"{scenes} scenes in the fake Stash, {scenes} items in one Plex section "
                  f"({drifted} with a wiped summary); fakes ready in "
                  f"{time.perf_counter() - started:.0f} s")
        with tempfile.TemporaryDirectory() as data_dir:
            primed = prime(data_dir, url, token, connection)
            for end in (stash_end, plex_end):
                end.send("clear")
                end.recv()
            mine, theirs = mp.Pipe()
            proc = mp.Process(target=run_plexsync, args=(theirs, data_dir, url, token, connection))
            proc.start()
            got = mine.recv()
            proc.join(60)
            stash_end.send("count")
            stash_queries = stash_end.recv()
            plex_end.send("count")
            plex_requests = plex_end.recv()
            # after the counts: the floor's requests must not be counted as PlexSync's
            floor = run_floor_child(mp, url, token, connection) if with_floor else None
    finally:
        for end in (stash_end, plex_end):
            end.send("stop")
        for child in children:
            child.join(60)
            if child.is_alive():
                child.kill()
    return {"got": got, "floor": floor, "primed": primed, "drifted": drifted,
            "stash_queries": stash_queries, "plex_requests": plex_requests}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, default=100_000)
    parser.add_argument("--drift", type=float, default=0.01)
    args = parser.parse_args()
    result = run(args.scenes, args.drift, announce=True)
    got, plex_requests = result["got"], result["plex_requests"]
    out = got["out"]
    print(f"primed {result['primed']} sync records")
    print(f"Reconcile All: {got['wall']:.1f} s wall, {got['cpu']:.1f} s CPU in PlexSync's "
          f"process; peak RSS {got['rss_mib']:.0f} MiB")
    print(f"scanned {out['scanned']}; gaps {out['gaps_by_type']}; enqueued {out['enqueued']}")
    print(f"Stash queries: {result['stash_queries']} reconcile pages; Plex requests: "
          f"{plex_requests['total']} ({plex_requests['listing']} listing pages, "
          f"{plex_requests['items']} item reads; the rest connect + sections)")


if __name__ == "__main__":
    main()
