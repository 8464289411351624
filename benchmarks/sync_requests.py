"""Sync: scenes/s, and Plex reads/writes per scene, for changed and unchanged scenes.

Both fakes run in a child process (`fakes.sync_world`) with a generated world (testkit.world).
In this process, `SyncProcessor` runs the way the drain does (one processor, batches of 25)
through the real clients, three times: first sync (not reported: index build, match, posters),
then "changed" (every scene's title edited in Stash: one edit each is the limit) and
"unchanged" (Sync All again with nothing changed: no item request is the limit; the drain reads
the section listing once, ceil(items / 1000) GETs, to check that each recorded item still holds
its scene's file, docs/design.md#identity, and those are not item requests).
Request counts come from the fake Plex's request log (reads: GET /library/metadata/...;
writes: PUT edits and POST uploads). Time is the processor's wall time, which includes waiting
for both fakes. The scenes/s limit for changed scenes is one bare keep-alive HTTP request per
scene to the same fake Plex (one request per changed scene). The one read per changed scene is
stated: the processor reads the recorded item once before its edit, for its current values and
locks (the edit sends only what differs) and for its files (proof the item is still the
scene's own: `SyncProcessor._holds`). The scenes/s limit for unchanged scenes is measured: the
exact GraphQL requests the unchanged run sent (the fake Stash's log: one `findScenes(ids:)` per
batch of 25), replayed as bare keep-alive `http.client` POSTs with the same session cookie and
parsed with `json.loads`, nothing else.
"""

from __future__ import annotations

import http.client
import json
import tempfile
import time
import urllib.parse
from collections import Counter
from typing import Any

from benchmarks.common import Figure, limit_key
from benchmarks.fakes import FakeHost

BATCH = 25
FIGURES = [
    Figure("sync.changed.scenes_per_s", "sync, changed scenes", "scenes/s",
           bound="one HTTP request per changed scene to the same fake"),
    Figure("sync.changed.reads_per_scene", "sync, changed: Plex reads per scene", "req",
           limit=1.0, bound="one read of the item just before its edit: its current values "
           "and locks, and proof its file is the scene's own"),
    Figure("sync.changed.writes_per_scene", "sync, changed: Plex writes per scene", "req",
           limit=1.0, bound="one write per changed scene"),
    Figure("sync.unchanged.scenes_per_s", "sync, unchanged scenes (Sync All)", "scenes/s",
           bound="the same Stash reads (findScenes per batch of 25) sent bare"),
    Figure("sync.unchanged.reads_per_scene", "sync, unchanged: Plex reads per scene", "req",
           limit=0.0, bound="no item request (one listing pass per drain)"),
    Figure("sync.unchanged.writes_per_scene", "sync, unchanged: Plex writes per scene", "req",
           limit=0.0, bound="no write"),
]


def _run(host: FakeHost, ctx: Any, scene_ids: list[int], records: dict[int, Any],
         source: Any) -> tuple[float, dict[str, int], Counter[str]]:
    from plexsync.queue.model import Batch, Job, JobState
    from plexsync.sync.processor import build_processor

    host.call("clear")
    processor = build_processor(ctx)
    outcomes: Counter[str] = Counter()
    started = time.perf_counter()
    for start in range(0, len(scene_ids), BATCH):
        now = time.time()
        jobs = [Job(id=i, scene_id=sid, state=JobState.IN_PROGRESS, source=source, event_at=now,
                    enqueued_at=now, not_before=now)
                for i, sid in enumerate(scene_ids[start:start + BATCH], start)]
        batch = Batch(jobs, {j.scene_id: records[j.scene_id] for j in jobs
                             if j.scene_id in records})
        for outcome in processor.process(batch):
            outcomes[outcome.kind.value] += 1
            if outcome.record is not None:
                records[outcome.job.scene_id] = outcome.record
    return time.perf_counter() - started, host.call("counts"), outcomes


def _bare_requests(url: str, token: str, rating_keys: list[int]) -> float:
    """Seconds for one keep-alive PUT per item to the fake Plex (the one-request floor)."""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port)
    started = time.perf_counter()
    for key in rating_keys:
        conn.request("PUT", f"/library/metadata/{key}?title.value=x&title.locked=1",
                     headers={"X-Plex-Token": token})
        conn.getresponse().read()
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


def _auth_headers(connection: dict[str, Any]) -> dict[str, str]:
    """What the fake Stash wants, as stashapi sends it: the ApiKey header or the session cookie."""
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if connection.get("ApiKey"):
        headers["ApiKey"] = str(connection["ApiKey"])
    cookie = connection.get("SessionCookie") or {}
    if cookie.get("Value"):
        headers["Cookie"] = f"{cookie.get('Name') or 'session'}={cookie['Value']}"
    return headers


def _bare_stash(connection: dict[str, Any], posts: list[tuple[str, dict[str, Any]]]) -> float:
    """Seconds to send `posts` (GraphQL document, variables) as keep-alive POSTs to the same
    fake Stash and parse each answer: the Stash-read floor of a Sync All over unchanged scenes."""
    host = str(connection.get("Host") or "127.0.0.1")
    conn = http.client.HTTPConnection("127.0.0.1" if host == "0.0.0.0" else host,
                                      int(connection.get("Port") or 9999))
    headers = _auth_headers(connection)
    started = time.perf_counter()
    for query, variables in posts:
        conn.request("POST", "/graphql", json.dumps({"query": query, "variables": variables}),
                     headers=headers)
        response = conn.getresponse()
        body = json.loads(response.read())
        if response.status != 200 or body.get("errors"):
            raise RuntimeError(f"bare Stash read: HTTP {response.status} {body.get('errors')}")
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


def measure(quick: bool) -> dict[str, float]:
    from benchmarks.common import quiet_log
    from plexsync.core.context import TaskContext
    from plexsync.core.settings import Settings
    from plexsync.queue.model import JobSource, OutcomeKind
    from plexsync.stash.api import StashClient

    quiet_log()
    scenes = 100 if quick else 1_000
    values: dict[str, float] = {}
    with FakeHost("benchmarks.fakes:sync_world", scenes=scenes) as host, \
            tempfile.TemporaryDirectory() as data_dir:
        info = host.info
        settings = Settings.from_mapping({"plex_url": info["plex_url"],
                                          "plex_token": info["plex_token"],
                                          "path_map": info["path_map"]})
        ctx = TaskContext(settings=settings, data_dir=data_dir,
                          stash=StashClient(info["stash"]))
        ids: list[int] = info["scene_ids"]
        records: dict[int, Any] = {}
        _run(host, ctx, ids, records, JobSource.HOOK)
        # Scenes whose files Plex scanned during that first sync (scan_missing) are synced by
        # the next drain's listing; let that happen before measuring, so the unchanged pass
        # counts unchanged scenes only.
        _run(host, ctx, ids, records, JobSource.SYNC_TASK)
        host.call("edit_all")
        for label, source in (("changed", JobSource.HOOK), ("unchanged", JobSource.SYNC_TASK)):
            wall, counts, outcomes = _run(host, ctx, ids, records, source)
            want = OutcomeKind.SYNCED if label == "changed" else OutcomeKind.UNCHANGED
            synced = outcomes[want.value]
            if synced == 0:
                raise RuntimeError(f"{label}: no scene came out {want.value}: {dict(outcomes)}")
            values[f"sync.{label}.scenes_per_s"] = len(ids) / wall
            values[f"sync.{label}.reads_per_scene"] = counts["read"] / synced
            values[f"sync.{label}.writes_per_scene"] = counts["write"] / synced
        posts = host.call("stash_posts")   # what the unchanged run asked Stash
        if not posts:
            raise RuntimeError("the unchanged run sent Stash no request")
        values[limit_key("sync.unchanged.scenes_per_s")] = len(ids) / _bare_stash(
            info["stash"], posts)
        keys = sorted({r.rating_key for r in records.values()})
        bare = _bare_requests(info["plex_url"], info["plex_token"], keys)
        values[limit_key("sync.changed.scenes_per_s")] = len(keys) / bare
    return values
