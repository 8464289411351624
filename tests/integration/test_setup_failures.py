"""Failures that are not about one scene stop the drain with one error and keep every job.

Regression tests for issue 9: a redirected write used to be followed as a GET and recorded as
synced; a proxy's 403 on `GET /`, a truncated or HTML listing page and a corrupt device-id
used to be charged to every job (dead-letters, PlexNotFound retries and folder scans). And a
read redirected to another host used to be followed, sending that host the Plex token.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from plexsync.core import datadir
from plexsync.errors import PlexSetupError, StashSetupError
from plexsync.queue.drain import Drain
from plexsync.queue.job_queue import JobQueue
from plexsync.tasks.status import queue_status
from testkit.fake_plex import FakePlex
from testkit.fake_stash import FakeStash
from tests.integration.test_sync_processor import PLEX_ROOT, STASH_ROOT
from tests.integration.test_sync_safety import _drain_world

pytestmark = pytest.mark.plex_offspec("the fake Plex answers as a hostile proxy on purpose")


@dataclass
class World:
    plex: FakePlex
    stash: FakeStash
    queue: JobQueue
    drain: Drain
    data_dir: Path
    scenes: dict[int, int]   # scene id → ratingKey

    def enqueue_all(self) -> None:
        for sid in self.scenes:
            self.queue.enqueue(sid)

    def all_kept(self) -> bool:
        """Every job still queued, none dead-lettered, no attempt spent, nothing recorded."""
        status = queue_status(self.queue)
        jobs = [self.queue.job(sid) for sid in self.scenes]
        return (status["dlq"] == 0 and status["synced"] == 0
                and all(j is not None and j.attempts == 0 for j in jobs)
                and not self.queue.records_for(self.scenes))


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with FakePlex() as plex, FakeStash() as stash:
        plex.add_section(1, "Movies", [PLEX_ROOT])
        scenes = {}
        for i in range(4):
            sid = stash.add_scene(title=f"New title {i}", files=[
                {"path": f"{STASH_ROOT}/s{i}.mp4", "size": 10 + i, "duration": 5.0}])
            scenes[sid] = plex.add_item(1, f"{PLEX_ROOT}/s{i}.mp4", title=f"Old {i}",
                                        size=10 + i, duration_ms=5000)
        queue, drain = _drain_world(stash, tmp_path, plex.url, plex.token)
        yield World(plex, stash, queue, drain, tmp_path, scenes)
        queue.close()


@pytest.mark.parametrize(("method", "path", "status"), [
    ("PUT", r"/library/sections/\d+/all", 302),
    ("PUT", r"/library/sections/\d+/all", 307),
    ("POST", r"/library/metadata/\d+/posters", 301),
])
def test_a_redirected_write_is_an_error_naming_the_target_and_nothing_is_recorded(
        world: World, method: str, path: str, status: int) -> None:
    world.plex.hostile.add("redirect", method=method, path=path, status=status)
    world.enqueue_all()
    with pytest.raises(PlexSetupError) as info:
        world.drain.run()
    message = str(info.value)
    assert f"redirect ({status}) to {world.plex.url}/library/" in message
    assert "nothing was written" in message and "\n" not in message
    assert world.all_kept()
    if method == "PUT":  # the edit never reached Plex, and no GET replayed it
        assert all(world.plex.item(rk).title.startswith("Old") for rk in world.scenes.values())
    assert world.plex.count("GET", "/library/sections/1/all") == 1   # only the index page

    world.plex.hostile.clear()       # the proxy is fixed: the same jobs now sync
    world.drain.run()
    assert queue_status(world.queue)["synced"] == 4
    assert all(world.plex.item(rk).title.startswith("New") for rk in world.scenes.values())


@pytest.mark.parametrize(("path", "status"), [
    ("/", 302),
    ("/library/sections", 301),
    (r"/library/sections/\d+/all", 307),
    (r"/library/metadata/\d+", 308),
])
def test_a_read_redirected_to_another_host_stops_the_drain_and_sends_it_no_token(
        world: World, path: str, status: int) -> None:
    with FakePlex(token="the-other-hosts-token") as other:
        world.plex.hostile.add("redirect", method="GET", path=path, status=status, to=other.url)
        world.enqueue_all()
        with pytest.raises(PlexSetupError, match=rf"redirect \({status}\) to {other.url}/"):
            world.drain.run()
        assert other.requests == []          # not one request, so never the token
    assert world.all_kept()
    assert world.plex.refreshes == []

    world.plex.hostile.clear()               # plex_url fixed: the same jobs now sync
    world.drain.run()
    assert queue_status(world.queue)["synced"] == 4


def test_a_persistent_403_on_connect_stops_the_drain_once_and_keeps_every_job(
        world: World) -> None:
    world.plex.hostile.add("status", method="GET", path="/", status=403)
    world.enqueue_all()
    with pytest.raises(PlexSetupError, match=r"refused GET / \(403 Forbidden\); no job was"):
        world.drain.run()
    assert world.plex.count("GET") == 1      # one GET /, not one per job
    assert world.all_kept()


@pytest.mark.parametrize("kind", ["truncate", "html", "empty"])
def test_a_broken_listing_page_is_a_listing_error_not_an_empty_library(
        world: World, kind: str) -> None:
    world.plex.hostile.add(kind, method="GET", path=r"/library/sections/\d+/all")  # type: ignore[arg-type]
    world.enqueue_all()
    with pytest.raises(PlexSetupError, match=r"listing|library section 1|sections/1/all"):
        world.drain.run()
    assert world.all_kept()
    assert world.plex.refreshes == []        # no folder scan for a "missing" item
    assert world.plex.count("GET", "/library/metadata") == 0

    world.plex.hostile.clear()
    world.drain.run()
    assert queue_status(world.queue)["synced"] == 4


@pytest.mark.parametrize("content", [b"\xff\xfe\xfa not utf-8", b"", b"short"])
def test_a_corrupt_device_id_is_rebuilt_and_every_job_syncs(world: World,
                                                           content: bytes) -> None:
    (world.data_dir / datadir.DEVICE_ID).write_bytes(content)
    world.enqueue_all()
    summary = world.drain.run()
    assert summary["synced"] == 4 and summary["dead_lettered"] == 0
    ids = {r.headers.get("X-Plex-Client-Identifier") for r in world.plex.requests}
    assert ids == {(world.data_dir / datadir.DEVICE_ID).read_text()}


@pytest.mark.parametrize(("path_prefix", "status"), [
    ("/graphql", 302),           # the batch's scene query: re-sent as a GET elsewhere
    ("/graphql", 307),           # ... or as the POST with its body
    ("/scene/", 302),            # the screenshot download
])
def test_a_stash_request_redirected_elsewhere_stops_the_drain_and_keeps_every_job(
        world: World, path_prefix: str, status: int) -> None:
    with FakeStash() as other:
        world.stash.redirect(status, other.url, path_prefix=path_prefix)
        world.enqueue_all()
        with pytest.raises(StashSetupError, match=rf"redirect \({status}\) to {other.url}/"):
            world.drain.run()
        assert other.http_requests == []            # not one request, key and cookie included
    assert world.all_kept()

    world.stash.clear_redirects()                   # the proxy is fixed: the same jobs sync
    world.drain.run()
    assert queue_status(world.queue)["synced"] == 4
