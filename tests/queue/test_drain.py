from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from filelock import FileLock

from plexsync.core.context import TaskContext
from plexsync.core.settings import Settings
from plexsync.errors import (
    ConfigError,
    LowConfidence,
    PlexAuth,
    PlexNotFound,
    PlexServerDown,
    StashError,
)
from plexsync.queue import drain as drain_mod
from plexsync.queue import markers
from plexsync.queue.backoff import Backoff
from plexsync.queue.drain import Drain
from plexsync.queue.job_queue import JobQueue
from plexsync.queue.model import Batch, Job, JobSource, JobState, Outcome, Processor
from plexsync.tasks.process_queue import run_process_queue
from tests.helpers import (
    FakeClock,
    ScriptedProcessor,
    captured_log,
    failed,
    lines,
    record,
    synced,
)


@dataclass
class World:
    tmp: Path
    clock: FakeClock
    queue: JobQueue
    progress: list[float] = field(default_factory=list)
    builds: int = 0

    def drain(self, processor: Processor, **kwargs: Any) -> Drain:
        def factory() -> Processor:
            self.builds += 1
            return processor

        return Drain(self.queue, factory, lock_path=str(self.tmp / "drain.lock"),
                     clock=self.clock, sleep=self.clock.sleep,
                     progress=self.progress.append, **kwargs)

    def run(self, processor: Processor, **kwargs: Any) -> dict[str, Any]:
        with captured_log():
            return self.drain(processor, **kwargs).run()


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    clock = FakeClock()
    queue = JobQueue(str(tmp_path / "q.db"), clock=clock,
                     backoff=Backoff(max_retries=3, rng=lambda: 0.5))
    yield World(tmp_path, clock, queue)
    queue.close()


def fill(world: World, scenes: range | list[int], source: JobSource = JobSource.HOOK) -> None:
    for scene in scenes:
        world.queue.enqueue(scene, source=source)


# ---------------------------------------------------------------------- the happy path


def test_the_drain_processes_every_job_in_batches_and_summarises(world: World) -> None:
    fill(world, range(1, 61))
    processor = ScriptedProcessor()
    out = world.run(processor)
    assert [len(b) for b in processor.batches] == [25, 25, 10]
    assert out["synced"] == 60 and out["stopped"] == "empty" and out["pending"] == 0
    assert world.queue.counts()["synced"] == 60
    assert world.progress[-1] == 1.0 and world.progress[0] > 0
    assert world.queue.markers.state() == "idle"


def test_outcomes_are_acked_as_they_arrive(world: World) -> None:
    fill(world, [1, 2, 3])
    seen_done: list[bool] = []

    def check(job: Job) -> None:
        seen_done.append(all(world.queue.job(s) is None for s in range(1, job.scene_id)))

    world.run(ScriptedProcessor(before_each=check))
    assert seen_done == [True, True, True]


def test_the_summary_and_each_outcome_get_one_log_line(world: World) -> None:
    fill(world, [12, 13, 14])
    processor = ScriptedProcessor({
        13: lambda j: failed(j, PlexNotFound("no Plex item for a.mp4 yet")),
        14: lambda j: failed(j, LowConfidence("2 candidates")),
    })
    with captured_log() as stream:
        world.drain(processor).run()
    info = lines(stream, "i") + lines(stream, "w")
    assert "scene 12 → synced (ratingKey 1012, HIGH)" in info
    assert "scene 13 → retry in 45 s: PlexNotFound no Plex item for a.mp4 yet" in info
    assert "scene 14 → dead-lettered: LowConfidence 2 candidates" in info
    [summary] = [line for line in info if line.startswith("Process Queue finished")]
    assert "1 synced" in summary and "1 to retry" in summary and "1 dead-lettered" in summary


def test_a_job_queued_while_draining_is_drained_before_the_drain_exits(world: World) -> None:
    fill(world, [1])
    processor = ScriptedProcessor(before_each=lambda job: (
        world.queue.enqueue(99) if job.scene_id == 1 else None))
    out = world.run(processor)
    assert processor.seen == [1, 99] and out["synced"] == 2


def test_an_edit_during_processing_is_synced_again(world: World) -> None:
    fill(world, [5])
    processor = ScriptedProcessor(before_each=lambda job: (
        world.queue.enqueue(5) if len(processor.seen) == 1 else None))
    world.run(processor)
    assert processor.seen == [5, 5]


def test_an_empty_queue_never_builds_the_processor(world: World) -> None:
    out = world.run(ScriptedProcessor())
    assert world.builds == 0 and out["stopped"] == "empty"


def test_starting_fulfils_the_drain_request_and_finishing_clears_the_heartbeat(
        world: World) -> None:
    world.queue.update_meta(
        lambda m, d: {markers.SCHEDULED_AT: f"{world.clock():.6f} 1"})
    fill(world, [1])
    states: list[str] = []
    world.run(ScriptedProcessor(before_each=lambda job: states.append(
        world.queue.markers.state())))
    assert states == ["running"]
    assert world.queue.markers.state() == "idle"


# ---------------------------------------------------------------------- one drain at a time


def test_a_second_drain_exits_at_once_while_another_is_running(world: World) -> None:
    fill(world, [1])
    world.queue.markers.begin("first")
    with FileLock(str(world.tmp / "drain.lock")), captured_log() as stream:
        out = world.drain(ScriptedProcessor()).run()
    assert out == {"skipped": "another drain is running"}
    assert world.clock.sleeps == [] and world.builds == 0
    assert "already running" in lines(stream, "i")[0]


def test_a_newcomer_waits_for_a_drain_that_is_just_finishing(world: World) -> None:
    fill(world, [1])
    lock = FileLock(str(world.tmp / "drain.lock"))
    lock.acquire()

    def sleep(seconds: float) -> None:  # the finishing drain lets go during our first wait
        if lock.is_locked:
            lock.release()

    processor = ScriptedProcessor()
    drain = world.drain(processor)
    drain.sleep = sleep
    with captured_log():
        out = drain.run()
    assert out["synced"] == 1 and processor.seen == [1]


def test_a_newcomer_stops_waiting_after_a_bounded_time(world: World) -> None:
    with FileLock(str(world.tmp / "drain.lock")), captured_log():
        out = world.drain(ScriptedProcessor()).run()
    assert out == {"skipped": "another drain is running"}
    assert len(world.clock.sleeps) == drain_mod.LOCK_POLLS


def test_jobs_left_claimed_by_a_killed_drain_are_processed_at_once(world: World) -> None:
    fill(world, [1, 2, 3])
    world.queue.claim(3, 600, "killed-drain")
    with captured_log() as stream:
        out = world.drain(ScriptedProcessor()).run()
    assert out["synced"] == 3 and world.queue.counts()["in_progress"] == 0
    assert any("left claimed" in line for line in lines(stream, "i"))


# ---------------------------------------------------------------------- retries and time


def test_a_retry_due_soon_is_not_waited_for(world: World) -> None:
    fill(world, [1])
    tries: list[int] = []

    def flaky(job: Job) -> Outcome:
        tries.append(job.attempts)
        return failed(job, PlexNotFound("not yet")) if job.attempts == 0 else synced(job)

    out = world.run(ScriptedProcessor(default=flaky))
    # the retry (30 s floor + 0.5 x 30 s) is left to the wake-up timer: Stash's queue is free
    assert tries == [0] and out["retried"] == 1 and out["retrying"] == 1
    assert out["stopped"] == "empty" and world.clock.sleeps == []
    assert world.queue.markers.state() == "idle"
    assert world.queue.next_due_at() == world.clock() + 45.0


def test_an_edit_made_while_a_retry_waits_gets_a_drain_request_from_its_hook(
        world: World) -> None:
    fill(world, [1])
    world.run(ScriptedProcessor(default=lambda j: failed(j, PlexNotFound("x"))))
    # the drain has ended: the next hook sees no drain and requests one (markers.py)
    meta = world.queue.enqueue(2, world.clock(), JobSource.HOOK,
                               meta_fn=markers.schedule_if_idle(world.clock(), "tok"))
    assert meta.get(markers.SCHEDULED_AT) == "tok"


def test_queue_timeout_stops_the_drain_mid_batch_and_releases_the_rest(world: World) -> None:
    fill(world, range(1, 11))
    processor = ScriptedProcessor(before_each=lambda job: world.clock.advance(4))
    out = world.run(processor, queue_timeout=10)
    assert out["stopped"] == "timeout" and out["synced"] == 3
    assert out["released"] == 7 and out["pending"] == 7
    assert world.queue.counts()["in_progress"] == 0
    assert world.queue.markers.state() == "idle"


# ---------------------------------------------------------------------- failures


def test_plex_auth_releases_the_batch_uncounted_and_fails_the_task(world: World) -> None:
    fill(world, [1, 2, 3])

    def auth(job: Job) -> Outcome:
        if job.scene_id == 2:
            raise PlexAuth("Plex rejected the token (401); paste a fresh X-Plex-Token.")
        return synced(job)

    with pytest.raises(PlexAuth):
        world.run(ScriptedProcessor(default=auth))
    counts = world.queue.counts()
    assert counts["synced"] == 1 and counts["pending"] == 2 and counts["in_progress"] == 0
    assert all(world.queue.job(s).attempts == 0 for s in (2, 3))  # type: ignore[union-attr]
    assert world.queue.markers.state() == "idle"


def test_a_plex_auth_outcome_stops_the_drain_the_same_way(world: World) -> None:
    fill(world, [1, 2])
    with pytest.raises(PlexAuth):
        world.run(ScriptedProcessor(default=lambda j: failed(j, PlexAuth("401"))))
    assert world.queue.counts()["pending"] == 2


def test_plex_down_for_a_batch_releases_the_rest_and_stops_with_a_warning(
        world: World) -> None:
    fill(world, [1, 2, 3])

    def down(job: Job) -> Outcome:
        if job.scene_id == 2:
            raise PlexServerDown("connection refused")
        return synced(job)

    with captured_log() as stream:
        out = world.drain(ScriptedProcessor(default=down)).run()
    assert out["stopped"] == "plex_down" and out["synced"] == 1 and out["released"] == 2
    job = world.queue.job(2)
    assert job is not None and job.attempts == 0 and job.state is JobState.PENDING
    assert job.not_before == world.clock()  # it keeps its place in line
    assert any("Plex unreachable" in line for line in lines(stream, "w"))


def test_a_config_error_building_the_processor_releases_jobs_and_fails(world: World) -> None:
    fill(world, [1, 2])

    def broken() -> Processor:
        raise ConfigError("plex_url is not set; enter your Plex address.")

    drain = Drain(world.queue, broken, lock_path=str(world.tmp / "drain.lock"),
                  clock=world.clock, sleep=world.clock.sleep)
    with captured_log(), pytest.raises(ConfigError):
        drain.run()
    assert world.queue.counts()["pending"] == 2 and world.queue.counts()["dlq"] == 0


def test_a_stash_error_for_the_whole_batch_schedules_retries(world: World) -> None:
    fill(world, [1, 2])

    class StashDown:
        def process(self, batch: Batch) -> Iterator[Outcome]:
            raise StashError("could not reach Stash")
            yield  # pragma: no cover

    out = world.run(StashDown())
    assert out["retried"] == 2 and world.queue.counts()["retrying"] == 2


def test_a_processor_bug_dead_letters_its_jobs_as_internal(world: World) -> None:
    fill(world, [1])

    def bug(job: Job) -> Outcome:
        raise ValueError("oops")

    out = world.run(ScriptedProcessor(default=bug))
    assert out["dead_lettered"] == 1
    [dead] = world.queue.dlq_entries()
    assert dead.error_class == "Internal" and "ValueError: oops" in dead.message


def test_a_job_the_processor_forgot_is_dead_lettered_as_internal(world: World) -> None:
    fill(world, [1, 2])

    class Forgetful:
        def process(self, batch: Batch) -> Iterator[Outcome]:
            yield synced(batch.jobs[0])

    out = world.run(Forgetful())
    assert out["synced"] == 1 and out["dead_lettered"] == 1
    assert "no outcome" in world.queue.dlq_entries()[0].message


# ---------------------------------------------------------------------- skipping


def test_hook_jobs_are_dropped_with_one_line_when_plexsync_is_disabled(world: World) -> None:
    fill(world, [1, 2])
    fill(world, [3], source=JobSource.SYNC_TASK)
    processor = ScriptedProcessor()
    with captured_log() as stream:
        out = world.drain(processor, enabled=False).run()
    assert processor.seen == [3] and out["disabled"] == 2 and out["synced"] == 1
    assert len([ln for ln in lines(stream, "i") if ln.startswith("PlexSync is disabled")]) == 1


def test_a_late_event_is_skipped_without_asking_the_processor(world: World) -> None:
    world.queue.enqueue(1, event_at=world.clock() - 10)
    _settle_record(world, 1, fetched_at=world.clock() - 5)
    world.queue.enqueue(1, event_at=world.clock() - 10)
    out = world.run(ScriptedProcessor())
    assert out["skipped"] == 1 and world.builds == 0


def test_a_late_event_with_explicit_clears_is_still_synced(world: World) -> None:
    _settle_record(world, 1, fetched_at=world.clock() - 5, pushed_fields=("summary",))
    world.queue.enqueue(1, event_at=world.clock() - 10, cleared_fields=["details"])
    processor = ScriptedProcessor()
    world.run(processor)
    assert processor.seen == [1]


def _settle_record(world: World, scene_id: int, fetched_at: float, **changes: Any) -> None:
    world.queue.enqueue(scene_id)
    [job] = world.queue.claim(1, 60, "setup")
    world.queue.apply(Outcome(job, synced(job).kind,
                              record=record(scene_id, fetched_at, **changes)), "setup")


# ---------------------------------------------------------------------- the task


def test_process_queue_task_uses_the_sync_processor_only_when_there_is_work(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import plexsync.sync.processor

    built: list[TaskContext] = []

    def build(ctx: TaskContext) -> Processor:
        built.append(ctx)
        return ScriptedProcessor()

    monkeypatch.setattr(plexsync.sync.processor, "build_processor", build)
    clock = FakeClock()
    ctx = TaskContext(settings=Settings(), data_dir=str(tmp_path), stash=None, clock=clock,
                      sleep=clock.sleep, progress=lambda p: None)
    with captured_log():
        assert run_process_queue(ctx)["synced"] == 0 and built == []
        queue = JobQueue.open(str(tmp_path), clock=clock)
        queue.enqueue(1)
        queue.close()
        assert run_process_queue(ctx)["synced"] == 1 and built == [ctx]
