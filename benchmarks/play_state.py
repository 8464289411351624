"""Plex → Stash play-state import: Plex requests and seconds per pass with 10 new plays, for a
library of 1,000 and of 100,000 items (docs/play-state.md).

Both fakes run in a child process (`FakeHost`); the library is filled directly (`add_many`,
O(n)) and 10 of its items get a Stash scene and a sync record (written into the queue
database as a sync leaves it), so the 100,000-item case costs seconds, also in `--quick`.
Then 10 new plays (one per matched item; two of them also rated, one in progress) and ONE
import pass (`PlayImport.run`, ratings on) through the real clients. Requests come from the
fake Plex's log. The requests limit is stated: 2 to connect, 1 history page for up to 100
new plays, 1 in-progress and 1 rated-since listing for the one library, whatever the library
size. The seconds limit is measured: the same Plex GETs and Stash GraphQL POSTs the pass sent,
replayed as bare keep-alive requests to the same fakes.
"""

from __future__ import annotations

import http.client
import sqlite3
import tempfile
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

from benchmarks.common import Figure, limit_key
from benchmarks.fakes import Commands, FakeHost
from benchmarks.sync_requests import _bare_stash

SIZES = (1_000, 100_000)
PLAYS = 10
FIGURES = [
    fig for n in SIZES for fig in (
        Figure(f"playstate.{n}.plex_requests", f"play-state import, {n:,} items: Plex requests "
               f"per pass ({PLAYS} new plays)", "req", limit=5.0,
               bound="2 to connect + 1 history page + 2 filtered listings (one library); "
               "not the library size"),
        Figure(f"playstate.{n}.seconds", f"play-state import, {n:,} items: seconds per pass "
               f"({PLAYS} new plays)", "s",
               bound="the pass's own Plex and Stash requests replayed bare"),
    )
]
T0 = 1_780_000_000


def world(items: int) -> tuple[Any, Commands, Callable[[], None]]:
    """A fake Plex of `items` movies (10 with plays) and a fake Stash with their 10 scenes."""
    from testkit.fake_plex import FakePlex
    from testkit.fake_stash import FakeStash

    plex, stash = FakePlex().start(), FakeStash().start()
    plex.add_section(1, "Movies", ["/media"])
    plex.add_many(1, [f"/media/v{i:06d}.mp4" for i in range(items)])
    matched = []
    for i in range(PLAYS):
        rk = i * (items // PLAYS) + 1
        sid = stash.add_scene(title=f"Scene {i}", files=[{"path": f"/data/v{rk - 1:06d}.mp4"}])
        matched.append((sid, rk))

    def play() -> None:
        for n, (_sid, rk) in enumerate(matched):
            plex.play(rk, at=T0 + n)
        plex.rate_as_user(matched[0][1], 8.0)
        plex.rate_as_user(matched[1][1], 6.0)
        plex.watch_partly(matched[2][1], 120_000)

    def plex_gets() -> list[str]:
        return [r.path + ("?" + urllib.parse.urlencode(r.query) if r.query else "")
                for r in plex.requests]

    def clear() -> None:
        plex.clear_requests()
        stash.clear_requests()

    def stop() -> None:
        plex.stop()
        stash.stop()

    info = {"plex_url": plex.url, "plex_token": plex.token, "stash": stash.server_connection(),
            "matched": matched}
    commands: Commands = {
        "play": play, "clear": clear, "plex_gets": plex_gets,
        "stash_posts": lambda: [(r.query, r.variables) for r in stash.requests],
    }
    return info, commands, stop


def _records(data_dir: str, matched: list[list[int]]) -> None:
    """The sync records a Sync All would have left: scene → its Plex item."""
    from plexsync.queue.job_queue import JobQueue

    JobQueue.open(data_dir).close()
    db = sqlite3.connect(f"{data_dir}/plexsync.db")
    with db:
        db.executemany(
            "INSERT INTO sync_records (scene_id, rating_key, section_id, stash_updated_at, "
            "fetched_at, values_hash, synced_at) VALUES (?, ?, 1, '', 0, '', 0)",
            [(sid, rk) for sid, rk in matched])
    db.close()


def _bare_plex(url: str, token: str, paths: list[str]) -> float:
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port)
    started = time.perf_counter()
    for path in paths:
        conn.request("GET", path, headers={"X-Plex-Token": token})
        conn.getresponse().read()
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


def measure(quick: bool) -> dict[str, float]:
    from benchmarks.common import quiet_log
    from plexsync.core.settings import Settings
    from plexsync.playstate.importer import PlayImport
    from plexsync.plex.client import PlexClient
    from plexsync.queue.job_queue import JobQueue
    from plexsync.stash.api import StashClient

    quiet_log()
    values: dict[str, float] = {}
    for items in SIZES:   # --quick too: the large case is cheap (see the module docstring)
        with FakeHost("benchmarks.play_state:world", items=items) as host, \
                tempfile.TemporaryDirectory() as data_dir:
            info = host.info
            _records(data_dir, info["matched"])
            settings = Settings.from_mapping({
                "plex_url": info["plex_url"], "plex_token": info["plex_token"],
                "path_map": "/data=/media", "import_play_state": True, "import_ratings": True})
            host.call("play")
            host.call("clear")
            store = JobQueue.open(data_dir)
            try:
                started = time.perf_counter()
                summary = PlayImport(PlexClient(settings, data_dir), StashClient(info["stash"]),
                                     store, settings, data_dir).run()
                seconds = time.perf_counter() - started
            finally:
                store.close()
            if summary.plays != PLAYS:
                raise RuntimeError(f"{items} items: imported {summary.plays} plays, not {PLAYS}")
            gets = host.call("plex_gets")
            posts = host.call("stash_posts")
            values[f"playstate.{items}.plex_requests"] = float(len(gets))
            values[f"playstate.{items}.seconds"] = seconds
            values[limit_key(f"playstate.{items}.seconds")] = (
                _bare_plex(info["plex_url"], info["plex_token"], gets)
                + _bare_stash(info["stash"], posts))
    del quick
    return values
