"""Plex requests per scene and scenes per second of the sync processor (issue 4 benchmark).

    python benchmarks/sync_requests.py [--scenes 1000] [--batch 25]

Loads a generated world (testkit.world) into the fake Plex and fake Stash, then runs
`SyncProcessor` the way the drain does (one processor, batches of `--batch` jobs), through the
real clients, three times:
- first:     every scene new to PlexSync (index build, match, read, write, poster upload);
- changed:   every scene edited in Stash since (title changed: read + write; the screenshot
             URL's ?t= moved, so the cover is downloaded again but not re-uploaded);
- unchanged: Sync All again with nothing changed (no Plex request at all is the target).
Request counts come from the fake's request log; time is wall time of the processor only.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from plexsync.core.context import TaskContext  # noqa: E402
from plexsync.core.log import log  # noqa: E402
from plexsync.core.settings import Settings  # noqa: E402
from plexsync.queue.model import Batch, Job, JobSource, JobState, OutcomeKind, SyncRecord  # noqa: E402
from plexsync.stash.api import StashClient  # noqa: E402
from plexsync.sync.processor import build_processor  # noqa: E402
from testkit.fake_plex import FakePlex  # noqa: E402
from testkit.fake_stash import FakeStash  # noqa: E402
from testkit.world import generate, populate  # noqa: E402


def classify(method: str, path: str) -> str:
    if path.startswith("/library/metadata/") and method == "GET":
        return "item reads"
    if path.startswith("/library/metadata/") and method == "POST":
        return "image uploads"
    if method == "PUT":
        return "edit writes"
    if path.endswith("/all") and method == "GET":
        return "index pages"
    if path.endswith("/refresh"):
        return "folder scans"
    return "connect (/, /library/sections)"


def run(label: str, plex: FakePlex, stash: FakeStash, ctx: TaskContext, scene_ids: list[int],
        records: dict[int, SyncRecord], batch_size: int, source: JobSource) -> None:
    plex.clear_requests()
    stash_before = stash.count("findScenes")
    processor = build_processor(ctx)
    outcomes: Counter[str] = Counter()
    started = time.perf_counter()
    for start in range(0, len(scene_ids), batch_size):
        now = time.time()
        jobs = [Job(id=i, scene_id=sid, state=JobState.IN_PROGRESS, source=source, event_at=now,
                    enqueued_at=now, not_before=now)
                for i, sid in enumerate(scene_ids[start:start + batch_size], start)]
        batch = Batch(jobs, {j.scene_id: records[j.scene_id] for j in jobs
                             if j.scene_id in records})
        for outcome in processor.process(batch):
            outcomes[outcome.kind.value] += 1
            if outcome.record is not None:
                records[outcome.job.scene_id] = outcome.record
    elapsed = time.perf_counter() - started
    n = len(scene_ids)
    synced = outcomes[OutcomeKind.SYNCED.value] + outcomes[OutcomeKind.UNCHANGED.value]
    counts = Counter(classify(r.method, r.path) for r in plex.requests)
    print(f"\n== {label}: {n} scenes in {elapsed:.2f} s = {n / elapsed:.0f} scenes/s")
    print(f"   outcomes: {dict(outcomes)}")
    print(f"   Stash findScenes queries: {stash.count('findScenes') - stash_before}")
    print(f"   Plex requests: {len(plex.requests)} total = {len(plex.requests) / n:.2f} per scene")
    for kind, count in sorted(counts.items()):
        print(f"     {kind:32s} {count:6d}  ({count / max(1, synced):.2f} per synced scene)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=25)
    args = parser.parse_args()
    log._stream = io.StringIO()   # keep the processor's log lines out of the report
    with FakePlex() as plex, FakeStash() as stash, tempfile.TemporaryDirectory() as data_dir:
        world = generate(args.scenes)
        ids = populate(world, stash, plex)
        settings = Settings.from_mapping({"plex_url": plex.url, "plex_token": plex.token,
                                          "path_map": world.path_map})
        ctx = TaskContext(settings=settings, data_dir=data_dir,
                          stash=StashClient(stash.server_connection()))
        scene_ids = list(ids.values())
        records: dict[int, SyncRecord] = {}
        print(f"world: {args.scenes} scenes, {len(plex.items())} Plex items, batch {args.batch}")
        run("first sync", plex, stash, ctx, scene_ids, records, args.batch, JobSource.HOOK)
        for sid in scene_ids:
            stash.update_scene(sid, title=f"{stash.scene(sid)['title']} (edited)")
        run("changed", plex, stash, ctx, scene_ids, records, args.batch, JobSource.HOOK)
        run("unchanged (Sync All)", plex, stash, ctx, scene_ids, records, args.batch,
            JobSource.SYNC_TASK)


if __name__ == "__main__":
    main()
