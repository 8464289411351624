"""Safety of a sync: the right Plex item, a wrong plex_url or library setup stops the drain
instead of dropping or dead-lettering the queue, preserve_plex_edits covers images, and an
index miss rebuilds only the section it concerns."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from plexsync.core.context import TaskContext
from plexsync.core.settings import Settings
from plexsync.errors import ConfigError, LowConfidence, PlexNotFound
from plexsync.plex import index as index_mod
from plexsync.queue.backoff import Backoff
from plexsync.queue.drain import Drain
from plexsync.queue.job_queue import JobQueue
from plexsync.queue.model import OutcomeKind
from plexsync.stash.api import StashClient
from plexsync.sync.processor import SyncProcessor
from plexsync.tasks.status import queue_status
from testkit.fake_plex import FakePlex
from testkit.fake_stash import FakeStash
from tests.helpers import FakeClock
from tests.integration.test_sync_processor import PLEX_ROOT, STASH_ROOT, Env, kinds, rich


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    with FakePlex() as plex, FakeStash() as stash:
        plex.add_section(1, "Movies", [PLEX_ROOT])
        yield Env(plex, stash, tmp_path / "data")


# --------------------------------------------------------------------------- the right item
def test_a_recorded_item_sharing_only_a_basename_is_not_edited_when_plex_has_the_exact_file(
    env: Env,
) -> None:
    # /tmp/review/r6_holds.py: the scene's file is re-linked in Stash from a/ to b/; the item
    # recorded for it (a/video.mp4) must not be written just because the names agree.
    sid = env.stash.add_scene(title="Scene One", files=[
        {"path": f"{STASH_ROOT}/a/video.mp4", "size": 10, "duration": 5.0}])
    rk_a = env.plex.add_item(1, f"{PLEX_ROOT}/a/video.mp4", size=10, duration_ms=5000)
    rk_b = env.plex.add_item(1, f"{PLEX_ROOT}/b/video.mp4", size=99, duration_ms=9000)
    env.run(sid)
    assert env.records[sid].rating_key == rk_a

    env.stash.update_scene(sid, title="Scene One (b)", files=[
        {"path": f"{STASH_ROOT}/b/video.mp4", "size": 99, "duration": 9.0}])
    outcomes = env.run(sid)

    assert kinds(outcomes) == [OutcomeKind.SYNCED]
    assert outcomes[0].record is not None and outcomes[0].record.rating_key == rk_b
    assert env.plex.item(rk_b).title == "Scene One (b)"
    assert env.plex.item(rk_a).title == "Scene One"


def test_a_recorded_item_matching_only_by_basename_with_another_size_is_not_edited(
    env: Env,
) -> None:
    sid = env.stash.add_scene(title="Clip", files=[{"path": f"{STASH_ROOT}/a/clip.mp4",
                                                    "size": 10}])
    rk = env.plex.add_item(1, f"{PLEX_ROOT}/a/clip.mp4", size=10)
    env.run(sid)
    # Stash now points the scene at another file of the same name that Plex has not seen
    env.stash.update_scene(sid, title="Other clip", files=[
        {"path": f"{STASH_ROOT}/b/clip.mp4", "size": 55}])
    outcomes = env.run(sid)

    # Its mapped path lies inside the library: Plex has not scanned it yet, never a guess.
    assert kinds(outcomes) == [OutcomeKind.FAILED]
    assert isinstance(outcomes[0].error, PlexNotFound)
    assert env.plex.item(rk).title == "Clip"
    # Without path_map the basename search runs, and the other size leaves it LOW.
    env.stash.update_scene(sid, title="Third")
    outcomes = env.run(sid, path_map="")
    assert isinstance(outcomes[0].error, LowConfidence)
    assert env.plex.item(rk).title == "Clip"


def test_a_recorded_item_holding_the_exact_file_is_used_without_listing_the_library(
    env: Env,
) -> None:
    sid, rk = rich(env, "kept")
    env.run(sid)
    env.stash.update_scene(sid, title="Renamed")
    env.plex.clear_requests()
    outcomes = env.run(sid)
    assert kinds(outcomes) == [OutcomeKind.SYNCED] and outcomes[0].confidence == "HIGH"
    assert env.plex.item(rk).title == "Renamed"
    assert env.plex.count("GET", "/library/sections/1/all") == 0


# --------------------------------------------------------------------------- configuration
class _NotPlex(http.server.BaseHTTPRequestHandler):
    """A router page, a reverse proxy or the wrong port: HTML, not Plex XML."""

    status = 404

    def do_GET(self) -> None:
        body = (b"<!DOCTYPE html><html><head><meta charset=utf-8><title>x</title></head>"
                b"<body><br></body></html>")
        self.send_response(self.status)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


class _NotPlexOk(_NotPlex):
    status = 200


def _serve(handler: type[http.server.BaseHTTPRequestHandler]) -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(params=[_NotPlex, _NotPlexOk], ids=["404-html", "200-html"])
def not_plex_url(request: pytest.FixtureRequest) -> Iterator[str]:
    yield from _serve(request.param)


def _drain_world(stash: FakeStash, tmp_path: Path, plex_url: str, token: str,
                 **settings: Any) -> tuple[JobQueue, Drain]:
    clock = FakeClock(time.time())
    raw = {"plex_url": plex_url, "plex_token": token, "path_map": f"{STASH_ROOT}={PLEX_ROOT}",
           **settings}
    ctx = TaskContext(settings=Settings.from_mapping(raw), data_dir=str(tmp_path),
                      stash=StashClient(stash.server_connection()), clock=clock,
                      sleep=lambda s: None)
    queue = JobQueue.open(str(tmp_path), clock=clock,
                     backoff=Backoff(rng=lambda: 0.0))
    drain = Drain(queue, lambda: SyncProcessor(ctx), lock_path=str(tmp_path / "drain.lock"),
                  clock=clock, sleep=lambda s: None, progress=lambda p: None)
    return queue, drain


def test_a_plex_url_that_is_not_plex_stops_the_drain_with_the_fix_and_keeps_every_job(
    not_plex_url: str, tmp_path: Path,
) -> None:
    # /tmp/review/r4_badurl.py: every job used to be dead-lettered as PlexBadRequest.
    with FakeStash() as stash:
        sids = [stash.add_scene(title=f"T{i}", files=[{"path": f"{STASH_ROOT}/{i}.mp4"}])
                for i in range(5)]
        queue, drain = _drain_world(stash, tmp_path, not_plex_url, "tok")
        for sid in sids:
            queue.enqueue(sid)
        with pytest.raises(ConfigError) as info:
            drain.run()
        status = queue_status(queue)
        jobs = [queue.job(sid) for sid in sids]
        queue.close()
    message = str(info.value)
    assert "plex_url" in message and "not a Plex Media Server" in message
    assert "\n" not in message
    assert status["dlq"] == 0 and status["pending"] + status["retrying"] == 5
    assert all(job is not None and job.attempts == 0 for job in jobs)


def test_plex_without_a_movie_library_stops_the_drain_naming_the_libraries_it_has(
    tmp_path: Path,
) -> None:
    # /tmp/review/r4b_nosections.py: every job used to be dropped as out of scope.
    with FakePlex() as plex, FakeStash() as stash:
        plex.add_section(2, "TV", [PLEX_ROOT], type="show")
        sids = [stash.add_scene(title=f"T{i}", files=[{"path": f"{STASH_ROOT}/{i}.mp4"}])
                for i in range(3)]
        queue, drain = _drain_world(stash, tmp_path, plex.url, plex.token)
        for sid in sids:
            queue.enqueue(sid)
        with pytest.raises(ConfigError) as info:
            drain.run()
        status = queue_status(queue)
        queue.close()
    assert "no movie library" in str(info.value) and "'TV' (show)" in str(info.value)
    assert status["out_of_scope"] == 0 and status["dlq"] == 0
    assert status["pending"] + status["retrying"] == 3


# --------------------------------------------------------------------------- images
def test_preserve_plex_edits_does_not_replace_a_poster_or_art_plex_already_has(
    env: Env,
) -> None:
    sid, _ = rich(env, "kept-poster", plex=False)
    rk = env.plex.add_item(1, f"{PLEX_ROOT}/folder/kept-poster.mp4", size=1000,
                           duration_ms=60_000, poster=b"agent poster", art=b"agent art")
    outcomes = env.run(sid, preserve_plex_edits=True, sync_background=True)

    assert kinds(outcomes) == [OutcomeKind.SYNCED]
    assert env.plex.count("POST") == 0
    item = env.plex.item(rk)
    assert (item.poster, item.art) == (b"agent poster", b"agent art")
    assert not {"thumb", "art"} & item.locked


def test_preserve_plex_edits_still_uploads_a_poster_where_plex_has_none(env: Env) -> None:
    sid, rk = rich(env, "no-poster")
    env.run(sid, preserve_plex_edits=True)
    assert env.plex.count("POST", f"/library/metadata/{rk}/posters") == 1
    assert env.plex.item(rk).poster == env.stash.screenshot_bytes(sid)


def test_preserve_plex_edits_replaces_a_poster_plexsync_itself_uploaded(env: Env) -> None:
    sid, rk = rich(env, "own-poster")
    env.run(sid, preserve_plex_edits=True)
    env.stash.set_screenshot(sid, b"\xff\xd8\xff\xe0 a new cover \xff\xd9")
    env.run(sid, preserve_plex_edits=True)
    assert env.plex.count("POST", f"/library/metadata/{rk}/posters") == 2
    assert env.plex.item(rk).poster == b"\xff\xd8\xff\xe0 a new cover \xff\xd9"


def test_without_preserve_plex_edits_a_new_cover_replaces_plex_s_poster(env: Env) -> None:
    sid, _ = rich(env, "replaced-poster", plex=False)
    rk = env.plex.add_item(1, f"{PLEX_ROOT}/folder/replaced-poster.mp4", size=1000,
                           duration_ms=60_000, poster=b"agent poster")
    env.run(sid)
    assert env.plex.item(rk).poster == env.stash.screenshot_bytes(sid)


# --------------------------------------------------------------------------- index
def test_a_missing_file_rebuilds_only_the_index_of_its_own_section(env: Env) -> None:
    env.plex.add_section(2, "Other Videos", ["/media/other"])
    env.plex.add_item(2, "/media/other/x.mp4")
    sid, _ = rich(env, "fresh/new", plex=False)
    env.run(sid, scan_missing=False)                 # builds both indexes, then misses
    env.clock.now += index_mod.MISS_INTERVAL
    env.plex.clear_requests()

    outcomes = env.run(sid, scan_missing=False)
    assert kinds(outcomes) == [OutcomeKind.FAILED]
    assert env.plex.count("GET", "/library/sections/1/all") == 1   # its section, once
    assert env.plex.count("GET", "/library/sections/2/all") == 0
