"""A reconciliation killed with SIGKILL halfway leaves nothing the next run cannot finish."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from plexsync.core.context import TaskContext
from plexsync.core.settings import Settings
from plexsync.stash.api import StashClient
from plexsync.tasks.reconcile import run_reconcile_all
from testkit.fake_plex import FakePlex
from testkit.fake_stash import FakeStash
from testkit.world import generate, populate

SCRIPT = Path(__file__).with_name("reconcile_script.py")
PAGE = "PlexSyncReconcilePage"


def count(data_dir: Path, sql: str) -> int:
    with sqlite3.connect(data_dir / "plexsync.db", timeout=30) as conn:
        value: int = conn.execute(sql).fetchone()[0]
    return value


def test_a_reconciliation_killed_halfway_is_finished_by_the_next_run(
    fakes: tuple[FakeStash, FakePlex], tmp_path: Path,
) -> None:
    stash, plex = fakes
    world = generate(24)
    populate(world, stash, plex, stage_absent=False)   # nothing synced: all gaps
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o700)
    settings = {"plex_url": plex.url, "plex_token": plex.token, "path_map": world.path_map}
    stash.latency = 0.3
    proc = subprocess.Popen(
        [sys.executable, str(SCRIPT), str(data_dir), json.dumps(settings),
         json.dumps(stash.server_connection()), "4"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while stash.count(PAGE) < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert stash.count(PAGE) >= 3, "the run never reached its third Stash page"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
    stash.latency = 0.0
    assert proc.returncode == -signal.SIGKILL
    queued = count(data_dir, "SELECT count(*) FROM jobs")
    assert 0 < queued < 20, "killed halfway: some pages queued, not all"
    assert count(data_dir, "SELECT count(*) FROM reconcile_runs") == 0

    now = [time.time()]   # the drain's waits pass at once (a retry due soon, a folder scan)

    def sleep(seconds: float) -> None:
        now[0] += seconds

    ctx = TaskContext(settings=Settings.from_mapping(settings), data_dir=str(data_dir),
                      stash=StashClient(stash.server_connection()), progress=lambda p: None,
                      clock=lambda: now[0], sleep=sleep)
    out = run_reconcile_all(ctx)

    assert out["already_queued"] == queued and out["scanned"] == 24
    assert count(data_dir, "SELECT count(*) FROM reconcile_runs") == 1
    for scene in world.scenes:   # every scene Plex has at its own path now carries its title
        path = scene.files[0].plex_path
        if path is not None:
            item = plex.find_by_file(path)
            assert item is not None and item.title == scene.title, scene.key
    again = run_reconcile_all(ctx)
    assert again["gaps_by_type"] == {"stale": 0, "empty": 0, "missing": 0}
    assert not (data_dir / "reconcile-listing.sqlite").exists()
