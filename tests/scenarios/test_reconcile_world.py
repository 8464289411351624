"""Issue 12 acceptance: a 24-scene world drifts behind PlexSync's back; Reconcile All finds
exactly the drifted scenes by type, the drain repairs them, and a second pass finds nothing
and writes nothing to Plex.

The drift: 3 scenes edited in Stash with no hook (stale), 2 Plex items with summary, studio
and genres wiped by hand through Plex's own edit API, 3 scenes never synced, plus the world's
file Plex lacks and its LOW-confidence file (missing) and its file outside every library
(out of scope, not a gap).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from plexsync.core.context import TaskContext
from plexsync.core.settings import Settings
from plexsync.plex.client import PlexClient
from plexsync.queue.job_queue import JobQueue
from plexsync.queue.model import JobSource
from plexsync.stash.api import StashClient
from plexsync.tasks.process_queue import run_process_queue
from plexsync.tasks.reconcile import run_reconcile_all
from testkit.fake_plex import FakePlex
from testkit.fake_stash import FakeStash
from testkit.world import World, generate, populate

STALE_KEYS = (1, 4, 7)
WIPED_KEYS = (10, 11)
NEVER_SYNCED_KEYS = (2, 5, 8)


class Clock:
    """Wall time (Plex stamps its items with it) plus whatever the drain slept, which passes
    at once."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def sleep(self, seconds: float) -> None:
        self.offset += seconds


@dataclass
class Env:
    plex: FakePlex
    stash: FakeStash
    world: World
    ids: dict[int, int]
    data_dir: Path
    clock: Clock

    def ctx(self) -> TaskContext:
        raw = {"plex_url": self.plex.url, "plex_token": self.plex.token,
               "path_map": self.world.path_map}
        return TaskContext(settings=Settings.from_mapping(raw), data_dir=str(self.data_dir),
                           stash=StashClient(self.stash.server_connection()), clock=self.clock,
                           sleep=self.clock.sleep, progress=lambda _: None)

    def scene_id(self, kind: str) -> int:
        return self.ids[self.world.of_kind(kind)[0].key]

    def rating_key(self, key: int) -> int:
        path = self.world.scenes[key - 1].files[0].plex_path
        assert path is not None
        item = self.plex.find_by_file(path)
        assert item is not None
        return item.rating_key


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    with FakePlex() as plex, FakeStash() as stash:
        world = generate(24)
        ids = populate(world, stash, plex, stage_absent=False)
        data_dir = tmp_path / "data"
        data_dir.mkdir(mode=0o700)
        yield Env(plex, stash, world, ids, data_dir, Clock())


def sync_baseline(env: Env) -> None:
    """Sync every scene except the never-synced ones, the one Plex lacks and the ambiguous one;
    then clear the queue's leftovers so the baseline is clean."""
    skip = {*NEVER_SYNCED_KEYS, *(s.key for s in env.world.of_kind("absent")),
            *(s.key for s in env.world.of_kind("ambiguous"))}
    ctx = env.ctx()
    queue = JobQueue.open(ctx.data_dir, clock=env.clock)
    try:
        queue.enqueue_many([sid for key, sid in env.ids.items() if key not in skip],
                           JobSource.SYNC_TASK)
    finally:
        queue.close()
    out = run_process_queue(ctx)
    assert out["dead_lettered"] == 0 and out["retried"] == 0, out


def drift(env: Env) -> None:
    for key in STALE_KEYS:   # Stash edits with no hook
        env.stash.update_scene(env.ids[key], title=f"Edited without a hook #{key}",
                               details="Rewritten while PlexSync was off.")
    plex = PlexClient(env.ctx().settings, str(env.data_dir))
    for key in WIPED_KEYS:   # hand edits in Plex: summary, studio and genres wiped
        rk = env.rating_key(key)
        genres = env.plex.item(rk).tags["genre"]
        assert genres, "the world gives every scene at least one tag"
        plex.edit(1, rk, {"summary.value": "", "studio.value": "",
                          "genre[].tag.tag-": ",".join(quote(g) for g in genres)})


def expected_values(env: Env, key: int) -> dict[str, Any]:
    """What Plex must hold, read straight from the fake Stash (not through PlexSync's mapping)."""
    scene = env.stash.scene(env.ids[key])
    return {"title": scene["title"], "summary": scene["details"],
            "studio": (scene.get("studio") or {}).get("name"),
            "genres": sorted(t["name"] for t in scene["tags"])}


def plex_values(env: Env, key: int) -> dict[str, Any]:
    item = env.plex.item(env.rating_key(key))
    return {"title": item.title, "summary": item.summary, "studio": item.studio,
            "genres": sorted(item.tags["genre"])}


def test_reconcile_all_finds_exactly_the_drift_repairs_it_and_a_second_pass_is_silent(
    env: Env,
) -> None:
    sync_baseline(env)
    drift(env)

    first = run_reconcile_all(env.ctx())

    assert first["gaps_by_type"] == {"stale": 3, "empty": 5, "missing": 2}, first
    assert first["enqueued"] == 10 and first["out_of_scope"] == 1
    assert first["scanned"] == 24
    # repaired: every drifted scene's Plex item now holds Stash's values
    for key in (*STALE_KEYS, *WIPED_KEYS, *NEVER_SYNCED_KEYS):
        assert plex_values(env, key) == expected_values(env, key), key
    # the two missing ones are where the sync puts them: retrying (Plex lacks the file) and
    # the dead-letter queue (LOW confidence under strict matching)
    queue = JobQueue.open(str(env.data_dir), clock=env.clock)
    try:
        assert queue.job(env.scene_id("absent")) is not None
        assert [d.scene_id for d in queue.dlq_entries()] == [env.scene_id("ambiguous")]
    finally:
        queue.close()

    env.plex.clear_requests()
    second = run_reconcile_all(env.ctx())

    assert second["gaps_by_type"] == {"stale": 0, "empty": 0, "missing": 0}, second
    assert second["enqueued"] == 0 and second["already_queued"] == 2
    writes = [r for r in env.plex.requests if r.method in ("PUT", "POST", "DELETE")]
    assert writes == []
    # in step, Plex is asked for its listing only (plus connect and sections): every sync
    # record vouches for the tag lists the list view cuts short
    assert second["plex_items_read"] == 0
    assert env.plex.count() == second["listing_pages"] + 2
