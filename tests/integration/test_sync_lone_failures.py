"""A Plex request that fails for one scene while Plex itself answers is that scene's failure,
not an outage: the real SyncProcessor against the fake Plex and Stash, drained by a real Drain
over SQLite (the reviewer's r5 reproduction, as a regression test)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from plexsync.core.context import TaskContext
from plexsync.core.settings import Settings
from plexsync.errors import PlexServerDown
from plexsync.plex.client import PlexClient
from plexsync.plex.index import LibraryIndex
from plexsync.queue.backoff import Backoff
from plexsync.queue.drain import Drain
from plexsync.queue.job_queue import JobQueue
from plexsync.queue.model import Batch, Job, JobSource, JobState, OutcomeKind
from plexsync.stash.api import StashClient
from plexsync.sync.processor import SyncProcessor
from plexsync.tasks import args
from plexsync.tasks.status import queue_status
from testkit.fake_plex import FakePlex
from testkit.fake_stash import FakeStash
from tests.helpers import FakeClock, captured_log, lines

TIMEOUT = "Plex did not answer PUT /library/sections/1/all in time (timeout)."


@dataclass
class Env:
    plex: FakePlex
    stash: FakeStash
    data_dir: Path
    clock: FakeClock
    scenes: list[int]
    keys: list[int]

    def ctx(self) -> TaskContext:
        raw = {"plex_url": self.plex.url, "plex_token": self.plex.token,
               "path_map": "/data=/media"}
        return TaskContext(settings=Settings.from_mapping(raw), data_dir=str(self.data_dir),
                           stash=StashClient(self.stash.server_connection()),
                           clock=self.clock, sleep=self.clock.sleep)

    def queue(self) -> JobQueue:
        return JobQueue(str(self.data_dir / "q.db"), clock=self.clock,
                        backoff=Backoff(max_retries=3, rng=lambda: 0.5))

    def drain(self, queue: JobQueue, **kwargs: Any) -> dict[str, Any]:
        ctx = self.ctx()
        with captured_log():
            return Drain(queue, lambda: SyncProcessor(ctx),
                         lock_path=str(self.data_dir / "drain.lock"), clock=self.clock,
                         sleep=self.clock.sleep, progress=lambda p: None, **kwargs).run()

    def titles(self) -> list[str]:
        return [self.plex.item(rk).title for rk in self.keys]

    def jobs(self) -> list[Job]:
        return [Job(id=n + 1, scene_id=sid, state=JobState.IN_PROGRESS,
                    source=JobSource.HOOK, event_at=self.clock(), enqueued_at=self.clock(),
                    not_before=self.clock()) for n, sid in enumerate(self.scenes)]


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    with FakePlex() as plex, FakeStash() as stash:
        plex.add_section(1, "Movies", ["/media"])
        scenes = [stash.add_scene(title=f"T{i}", files=[{"path": f"/data/{i}.mp4", "size": 10}])
                  for i in range(5)]
        keys = [plex.add_item(1, f"/media/{i}.mp4", size=10) for i in range(5)]
        data_dir = tmp_path / "data"
        data_dir.mkdir()
        yield Env(plex, stash, data_dir, FakeClock(), scenes, keys)


def poison_edit(monkeypatch: pytest.MonkeyPatch, rating_key: int) -> None:
    """Every edit of one item times out (a proxy 504, a stuck item); all else works."""
    original = PlexClient.edit

    def edit(self: PlexClient, section_id: int, rk: int, params: Mapping[str, str]) -> None:
        if rk == rating_key:
            raise PlexServerDown(TIMEOUT)
        original(self, section_id, rk, params)

    monkeypatch.setattr(PlexClient, "edit", edit)


def test_a_scene_whose_edit_keeps_timing_out_no_longer_stalls_the_queue(
        env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    poison_edit(monkeypatch, env.keys[0])
    queue = env.queue()
    for sid in env.scenes:
        queue.enqueue(sid)
    out = env.drain(queue)
    assert out["stopped"] == "empty" and out["synced"] == 4 and out["retried"] == 1
    assert env.titles() == ["0", "T1", "T2", "T3", "T4"]
    job = queue.job(env.scenes[0])
    assert job is not None and job.attempts == 1 and job.state is JobState.RETRYING
    queue.close()


def test_that_scene_is_dead_lettered_as_plex_server_down_and_recover_dlq_takes_it_back(
        env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    poison_edit(monkeypatch, env.keys[0])
    queue = env.queue()
    for sid in env.scenes:
        queue.enqueue(sid)
    for _ in range(4):
        env.clock.advance(3600)
        env.drain(queue)
    [dead] = queue.dlq_entries()
    assert dead.scene_id == env.scenes[0] and dead.error_class == "PlexServerDown"
    assert dead.attempts == 4 and "timeout" in dead.message
    assert "GET /identity" in dead.message          # says why it is not an outage
    monkeypatch.undo()
    assert queue.requeue_dlq(args.parse_error_types(None)) == 1
    assert env.drain(queue)["synced"] == 1 and env.titles()[0] == "T0"
    queue.close()


def test_the_processor_probes_plex_once_per_failed_job_and_yields_a_limited_failure(
        env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    poison_edit(monkeypatch, env.keys[0])
    outcomes = list(SyncProcessor(env.ctx()).process(Batch(env.jobs())))
    assert [o.kind for o in outcomes] == [OutcomeKind.FAILED] + [OutcomeKind.SYNCED] * 4
    error = outcomes[0].error
    assert isinstance(error, PlexServerDown) and error.outage is False
    assert env.plex.count("GET", "/identity") == 1


def test_when_the_probe_fails_too_it_is_an_outage_and_the_batch_aborts(
        env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    poison_edit(monkeypatch, env.keys[0])

    def probe(self: PlexClient, timeout: Any = None) -> dict[str, str]:
        raise PlexServerDown("cannot connect to Plex for GET /identity")

    monkeypatch.setattr(PlexClient, "identity", probe)
    stream = SyncProcessor(env.ctx()).process(Batch(env.jobs()))
    with pytest.raises(PlexServerDown) as info:
        next(stream)
    assert info.value.outage is True and str(info.value) == TIMEOUT


def test_a_real_outage_still_stops_the_drain_and_keeps_every_job(env: Env) -> None:
    queue = env.queue()
    for sid in env.scenes:
        queue.enqueue(sid)
    env.plex.go_down()
    ctx = env.ctx()
    with captured_log() as stream:
        out = Drain(queue, lambda: SyncProcessor(ctx),
                    lock_path=str(env.data_dir / "drain.lock"), clock=env.clock,
                    sleep=env.clock.sleep, progress=lambda p: None).run()
    assert out["stopped"] == "plex_down" and out["released"] == 5
    assert queue.dlq_entries() == [] and queue.counts()["pending"] == 5
    assert any(ln.startswith("Plex unreachable; 5 jobs wait for the next run")
               for ln in lines(stream, "w"))
    queue.close()


def test_a_failed_index_build_aborts_the_batch_even_while_plex_answers(
        env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    # Connecting, listing sections or building the index concern the whole server (a busy or
    # starting Plex), never one item: no job is failed for them and no probe is needed.
    builds: list[int] = []

    def ensure_fresh(self: LibraryIndex) -> None:
        builds.append(1)
        raise PlexServerDown("Plex did not answer GET /library/sections/1/all in time.")

    monkeypatch.setattr(LibraryIndex, "ensure_fresh", ensure_fresh)
    processor = SyncProcessor(env.ctx())
    with pytest.raises(PlexServerDown):
        list(processor.process(Batch(env.jobs())))
    assert builds == [1] and env.plex.count("GET", "/identity") == 0


def test_a_plex_that_cannot_list_its_library_never_dead_letters_the_backlog(
        env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    # The second reviewer's r_setup503: the listing keeps failing while /identity answers.
    def connect(self: PlexClient) -> None:
        raise PlexServerDown("Plex failed (503) for GET /; will retry.")

    monkeypatch.setattr(PlexClient, "connect", connect)
    queue = env.queue()
    for sid in env.scenes:
        queue.enqueue(sid)
    for _ in range(5):                       # five drains, as five bursts of edits would start
        out = env.drain(queue)
        assert out["stopped"] == "plex_down" and out["dead_lettered"] == 0
    status = queue_status(queue)
    assert status["dlq"] == 0 and status["pending"] + status["retrying"] == len(env.scenes)
    assert all(job.attempts == 0 for sid in env.scenes if (job := queue.job(sid)))
