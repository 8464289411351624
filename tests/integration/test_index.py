"""The per-section library index: one paginated scan, kept in diskcache, rebuilt sparingly."""

from __future__ import annotations

import math
import multiprocessing
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from plexsync.core.settings import Settings
from plexsync.plex import index as index_mod
from plexsync.plex.client import PlexClient
from plexsync.plex.index import LibraryIndex
from plexsync.plex.index_cache import clear, open_store
from plexsync.plex.model import Candidate, Section
from testkit.fake_plex import FakePlex
from tests.helpers import FakeClock

START = 1_700_000_000.0

MOVIES = Section(1, "Movies", "movie", ("/media/videos",))
OTHER = Section(2, "Other", "movie", ("/media/other",))



@pytest.fixture
def fake() -> Iterator[FakePlex]:
    with FakePlex() as server:
        server.add_section(1, "Movies", ["/media/videos"])
        server.add_section(2, "Other", ["/media/other"])
        yield server


@pytest.fixture
def plex(fake: FakePlex, tmp_path: Path) -> PlexClient:
    settings = Settings.from_mapping({"plex_url": fake.url, "plex_token": fake.token})
    client = PlexClient(settings, str(tmp_path))
    client.connect()
    return client


def make(tmp_path: Path, plex: PlexClient, clock: FakeClock, page_size: int = 100,
         sections: tuple[Section, ...] = (MOVIES,)) -> LibraryIndex:
    return LibraryIndex(str(tmp_path), plex, sections, clock=clock, page_size=page_size)


def listing_gets(fake: FakePlex, section_id: int = 1) -> int:
    return fake.count("GET", f"/library/sections/{section_id}/all")


def test_a_build_costs_ceil_items_over_page_size_gets(fake: FakePlex, plex: PlexClient,
                                                      tmp_path: Path) -> None:
    for i in range(250):
        fake.add_item(1, f"/media/videos/f{i:03d}.mp4", size=i + 1, duration_ms=1000 * i)
    idx = make(tmp_path, plex, FakeClock(START))
    idx.ensure_fresh()
    assert listing_gets(fake) == math.ceil(250 / 100)
    assert idx.by_path("/media/videos/f042.mp4") == Candidate(1, "/media/videos/f042.mp4", 43,
                                                             43, 42_000)
    assert idx.meta(1) is not None and idx.meta(1)["count"] == 250   # type: ignore[index]


def test_another_process_reuses_the_saved_index_without_a_request(
    fake: FakePlex, plex: PlexClient, tmp_path: Path,
) -> None:
    fake.add_item(1, "/media/videos/a.mp4", size=3)
    clock = FakeClock(START)
    make(tmp_path, plex, clock).ensure_fresh()
    fake.clear_requests()
    again = make(tmp_path, plex, clock)
    again.ensure_fresh()
    assert again.by_path("/media/videos/a.mp4") is not None
    assert fake.requests == [] and again.builds == 0


def test_basename_lookup_is_case_insensitive_across_sections(
    fake: FakePlex, plex: PlexClient, tmp_path: Path,
) -> None:
    fake.add_item(1, "/media/videos/x/Clip.mp4", size=1)
    fake.add_item(1, "/media/videos/y/clip.MP4", size=2)
    fake.add_item(2, "/media/other/CLIP.mp4", size=3)
    fake.add_item(1, "/media/videos/other.mp4", size=4)
    idx = make(tmp_path, plex, FakeClock(START), sections=(MOVIES, OTHER))
    idx.ensure_fresh()
    found = {(c.section_id, c.path) for c in idx.by_basename("clip.mp4")}
    assert found == {(1, "/media/videos/x/Clip.mp4"), (1, "/media/videos/y/clip.MP4"),
                     (2, "/media/other/CLIP.mp4")}
    assert idx.by_basename("nothing.mp4") == []
    assert {c.path for c in idx.entries(1)} == {"/media/videos/x/Clip.mp4",
                                                "/media/videos/y/clip.MP4",
                                                "/media/videos/other.mp4"}


def test_every_file_of_a_multi_file_item_is_indexed(fake: FakePlex, plex: PlexClient,
                                                    tmp_path: Path) -> None:
    fake.add_item(1, "/media/videos/a.mp4", files=[("/media/videos/a.mp4", 1, 10),
                                                   ("/media/videos/b.mp4", 2, 20)])
    idx = make(tmp_path, plex, FakeClock(START))
    idx.ensure_fresh()
    a, b = idx.by_path("/media/videos/a.mp4"), idx.by_path("/media/videos/b.mp4")
    assert a is not None and b is not None and a.rating_key == b.rating_key


def test_a_stale_index_is_rebuilt_and_a_fresh_one_is_not(fake: FakePlex, plex: PlexClient,
                                                         tmp_path: Path) -> None:
    clock = FakeClock(START)
    idx = make(tmp_path, plex, clock)
    idx.ensure_fresh()
    clock.now += 5 * 3600
    idx.ensure_fresh()
    assert idx.builds == 1
    clock.now += 3600
    idx.ensure_fresh()
    assert idx.builds == 2


def test_a_miss_rebuilds_at_most_once_per_few_minutes(fake: FakePlex, plex: PlexClient,
                                                      tmp_path: Path) -> None:
    clock = FakeClock(START)
    idx = make(tmp_path, plex, clock)
    idx.ensure_fresh()
    fake.add_item(1, "/media/videos/new.mp4")
    assert idx.refresh_on_miss() is False and idx.by_path("/media/videos/new.mp4") is None
    clock.now += index_mod.MISS_INTERVAL
    assert idx.refresh_on_miss() is True
    assert idx.by_path("/media/videos/new.mp4") is not None
    assert idx.refresh_on_miss() is False


def test_after_a_folder_scan_the_next_miss_may_rebuild_within_a_minute(
    fake: FakePlex, plex: PlexClient, tmp_path: Path,
) -> None:
    clock = FakeClock(START)
    idx = make(tmp_path, plex, clock)
    idx.ensure_fresh()
    clock.now += 5
    idx.note_scan(1)
    clock.now += index_mod.AFTER_SCAN_INTERVAL
    assert idx.refresh_on_miss() is True
    clock.now += index_mod.AFTER_SCAN_INTERVAL   # the scan is older than this build now
    assert idx.refresh_on_miss() is False


def test_a_folder_scan_is_claimed_once_per_ten_minutes_across_processes(
    plex: PlexClient, tmp_path: Path,
) -> None:
    clock = FakeClock(START)
    one, two = make(tmp_path, plex, clock), make(tmp_path, plex, clock)
    assert one.claim_scan("/media/videos/new") is True
    assert two.claim_scan("/media/videos/new") is False
    assert two.claim_scan("/media/videos/other") is True
    clock.now += index_mod.SCAN_THROTTLE
    assert two.claim_scan("/media/videos/new") is True


def test_rebuilds_keep_only_the_current_and_previous_generations(
    fake: FakePlex, plex: PlexClient, tmp_path: Path,
) -> None:
    fake.add_item(1, "/media/videos/a.mp4")
    clock = FakeClock(START)
    idx = make(tmp_path, plex, clock)
    for _ in range(4):
        idx.ensure_fresh()
        clock.now += index_mod.MAX_AGE
    import diskcache

    with diskcache.Cache(str(tmp_path / "index")) as cache:
        gens = {key[3] for key in cache.iterkeys() if key[1] in ("p", "b")}
    assert len(gens) == 2


def test_clear_drops_the_index(fake: FakePlex, plex: PlexClient, tmp_path: Path) -> None:
    fake.add_item(1, "/media/videos/a.mp4")
    make(tmp_path, plex, FakeClock(START)).ensure_fresh()
    clear(str(tmp_path))
    fresh = make(tmp_path, plex, FakeClock(START))
    assert fresh.meta(1) is None and fresh.by_path("/media/videos/a.mp4") is None


def test_a_corrupt_cache_is_moved_aside_and_rebuilt(fake: FakePlex, plex: PlexClient,
                                                    tmp_path: Path) -> None:
    folder = tmp_path / "index"
    folder.mkdir()
    (folder / "cache.db").write_bytes(b"this is not a sqlite database" * 100)
    fake.add_item(1, "/media/videos/a.mp4")
    idx = make(tmp_path, plex, FakeClock(START))
    idx.ensure_fresh()
    assert idx.by_path("/media/videos/a.mp4") is not None
    assert any(p.name.startswith("index.corrupt-") for p in tmp_path.iterdir())


def _hold_write_lock(folder: str, ready: Any, release: Any) -> None:
    import diskcache

    with diskcache.Cache(folder) as cache, cache.transact():
        cache.set("x", 1)
        ready.set()
        release.wait(30)


def test_a_locked_cache_is_a_miss_not_a_failure(fake: FakePlex, plex: PlexClient,
                                                tmp_path: Path) -> None:
    fake.add_item(1, "/media/videos/a.mp4")
    open_store(str(tmp_path))   # create it
    ctx = multiprocessing.get_context("spawn")
    ready, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold_write_lock, args=(str(tmp_path / "index"), ready, release))
    holder.start()
    try:
        assert ready.wait(30)
        started = time.monotonic()
        store = open_store(str(tmp_path), timeout=0.05)
        assert time.monotonic() - started < 5 and not store.persistent   # no 60 s wait
        idx = LibraryIndex(str(tmp_path), plex, (MOVIES,), clock=FakeClock(START), store=store)
        assert idx.claim_scan("/media/videos") is True   # cannot record it: scan anyway
        idx.ensure_fresh()                                 # cannot save it: kept in memory
        assert idx.by_path("/media/videos/a.mp4") is not None
    finally:
        release.set()
        holder.join(30)


def _open_and_use(data_dir: str, n: int) -> None:
    store = open_store(data_dir)
    assert store.persistent
    for i in range(20):
        store.set(("k", n, i), i)
        assert store.get(("k", n, i)) == i


def test_many_processes_opening_the_cache_at_once_all_succeed(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_open_and_use, args=(str(tmp_path), n)) for n in range(8)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0] * 8
    assert os.path.isdir(tmp_path / "index")
