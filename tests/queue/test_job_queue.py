"""Queue semantics (the `JobQueue` contract) on a temporary SQLite file."""

from __future__ import annotations

from plexsync.core.log import log
from plexsync.errors import (
    LowConfidence,
    PlexAuth,
    PlexNotFound,
    PlexServerDown,
    StashError,
)
from plexsync.queue.backoff import Backoff
from plexsync.queue.enums import SettleAction
from plexsync.queue.job_queue import JobQueue
from plexsync.queue.model import JobSource, JobState, Outcome, OutcomeKind
from plexsync.tasks.status import queue_status
from tests.helpers import LEASE, OWNER, T0, FakeClock, claim_one, failed, record, synced

# ---------------------------------------------------------------------- enqueue / coalescing


def test_enqueue_creates_one_pending_job_per_scene(queue: JobQueue) -> None:
    queue.enqueue(1)
    queue.enqueue(2)
    job = queue.job(1)
    assert job is not None and job.state is JobState.PENDING and job.attempts == 0
    assert queue.counts()["pending"] == 2


def test_newer_event_updates_the_pending_job_instead_of_adding_one(
        queue: JobQueue, clock: FakeClock) -> None:
    queue.enqueue(7, event_at=T0, cleared_fields=["title"])
    queue.enqueue(7, event_at=T0 + 5, cleared_fields=["details"])
    job = queue.job(7)
    assert job is not None
    assert job.event_at == T0 + 5
    assert job.cleared_fields == {"title", "details"}
    assert queue.counts()["pending"] == 1


def test_an_older_event_never_moves_event_at_back(queue: JobQueue) -> None:
    queue.enqueue(7, event_at=T0 + 10)
    queue.enqueue(7, event_at=T0)
    job = queue.job(7)
    assert job is not None and job.event_at == T0 + 10


def test_a_hook_event_pulls_a_retrying_job_forward(queue: JobQueue, clock: FakeClock) -> None:
    queue.enqueue(3)
    queue.apply(failed(claim_one(queue), StashError("stash hiccup")), OWNER)
    retrying = queue.job(3)
    assert retrying is not None and retrying.not_before > clock()
    queue.enqueue(3, source=JobSource.HOOK)
    job = queue.job(3)
    assert job is not None and job.not_before == clock() and job.attempts == 1


def test_a_task_event_leaves_the_retry_schedule_alone(queue: JobQueue, clock: FakeClock) -> None:
    queue.enqueue(3)
    queue.apply(failed(claim_one(queue), StashError("stash hiccup")), OWNER)
    before = queue.job(3)
    queue.enqueue_many([3], JobSource.SYNC_TASK)
    after = queue.job(3)
    assert before is not None and after is not None and after.not_before == before.not_before


def test_a_job_reads_back_with_its_lease_and_the_mark_of_an_event_during_processing(
        queue: JobQueue) -> None:
    queue.enqueue(3, cleared_fields=["title"])
    claimed = claim_one(queue)
    assert claimed.lease_owner == OWNER and claimed.lease_until == queue.clock() + LEASE
    queue.enqueue(3)
    job = queue.job(3)
    assert job is not None and job.dirty and job.state is JobState.IN_PROGRESS
    assert job.lease_owner == OWNER and job.cleared_fields == {"title"}


def test_a_task_job_does_not_turn_into_a_hook_job(queue: JobQueue) -> None:
    queue.enqueue(4, source=JobSource.SYNC_TASK)
    queue.enqueue(4, source=JobSource.HOOK)
    job = queue.job(4)
    assert job is not None and job.source is JobSource.SYNC_TASK
    queue.enqueue(5, source=JobSource.HOOK)
    queue.enqueue_many([5], JobSource.SYNC_TASK)
    job = queue.job(5)
    assert job is not None and job.source is JobSource.SYNC_TASK


def test_enqueue_many_adds_new_scenes_and_folds_known_ones(queue: JobQueue) -> None:
    queue.enqueue(1, event_at=T0 - 100)
    assert queue.enqueue_many(range(1, 1201), JobSource.SYNC_TASK, chunk=500) == 1200
    assert queue.counts()["pending"] == 1200
    job = queue.job(1)
    assert job is not None and job.event_at == T0


def test_an_edit_during_processing_keeps_the_job_after_the_ack(queue: JobQueue) -> None:
    queue.enqueue(9)
    job = claim_one(queue)
    queue.enqueue(9, cleared_fields=["title"])
    marked = queue.job(9)
    assert marked is not None and marked.dirty and marked.state is JobState.IN_PROGRESS
    assert queue.apply(synced(job), OWNER).action == "done"
    again = queue.job(9)
    assert again is not None and again.state is JobState.PENDING
    assert again.cleared_fields == {"title"}
    assert queue.counts()["synced"] == 1


def test_an_edit_during_processing_survives_a_dead_letter(queue: JobQueue) -> None:
    queue.enqueue(9)
    job = claim_one(queue)
    queue.enqueue(9)
    applied = queue.apply(failed(job, LowConfidence("two candidates")), OWNER)
    assert applied.action == SettleAction.DEAD
    again = queue.job(9)
    assert again is not None and again.state is JobState.PENDING and again.attempts == 0
    assert queue.counts()["dlq"] == 1


# ---------------------------------------------------------------------- claim / lease


def test_claim_returns_due_jobs_oldest_first_up_to_the_limit(
        queue: JobQueue, clock: FakeClock) -> None:
    for scene in (5, 6, 7):
        queue.enqueue(scene)
        clock.advance(1)
    jobs = queue.claim(2, LEASE, OWNER)
    assert [j.scene_id for j in jobs] == [5, 6]
    assert all(j.state is JobState.IN_PROGRESS and j.lease_until == clock() + LEASE
               for j in jobs)


def test_a_job_not_yet_due_is_not_claimed(queue: JobQueue, clock: FakeClock) -> None:
    queue.enqueue(1)
    queue.apply(failed(claim_one(queue), StashError("x")), OWNER)
    assert queue.claim(10, LEASE, OWNER) == []
    clock.advance(3600)
    assert [j.scene_id for j in queue.claim(10, LEASE, OWNER)] == [1]


def test_a_leased_job_is_not_claimed_twice(queue: JobQueue) -> None:
    queue.enqueue(1)
    claim_one(queue)
    assert queue.claim(10, LEASE, "drain-b") == []


def test_expired_lease_makes_job_claimable_again(queue: JobQueue, clock: FakeClock) -> None:
    queue.enqueue(1)
    claim_one(queue, "dead-drain")
    clock.advance(LEASE + 1)
    job = claim_one(queue, "drain-b")
    assert job.scene_id == 1 and job.attempts == 0


def test_renew_extends_only_our_leases(queue: JobQueue, clock: FakeClock) -> None:
    queue.enqueue(1)
    queue.enqueue(2)
    claim_one(queue, OWNER)
    claim_one(queue, "other")
    clock.advance(LEASE - 1)
    assert queue.renew(OWNER, LEASE) == 1
    clock.advance(2)
    assert [j.scene_id for j in queue.claim(10, LEASE, "third")] == [2]


def test_release_gives_jobs_back_without_counting_an_attempt(
        queue: JobQueue, clock: FakeClock) -> None:
    queue.enqueue(1)
    job = claim_one(queue)
    assert queue.release([job], OWNER, delay=30) == 1
    released = queue.job(1)
    assert released is not None and released.state is JobState.PENDING
    assert released.attempts == 0 and released.not_before == clock() + 30


def test_release_of_someone_elses_job_does_nothing(queue: JobQueue) -> None:
    queue.enqueue(1)
    job = claim_one(queue, "other")
    assert queue.release([job], OWNER) == 0


def test_orphaned_jobs_of_a_dead_drain_are_released(queue: JobQueue) -> None:
    queue.enqueue(1)
    queue.enqueue(2)
    claim_one(queue, "killed-drain")
    claim_one(queue, OWNER)
    assert queue.release_orphans(OWNER) == 1
    job = queue.job(1)
    assert job is not None and job.state is JobState.PENDING


# ---------------------------------------------------------------------- outcomes


def test_synced_outcome_stores_the_record_and_deletes_the_job(queue: JobQueue) -> None:
    queue.enqueue(1)
    assert queue.apply(synced(claim_one(queue)), OWNER).action == "done"
    assert queue.job(1) is None
    rec = queue.records_for([1, 2])
    assert set(rec) == {1} and rec[1].rating_key == 1001
    status = queue_status(queue)
    assert status["synced"] == 1
    assert status["stats"]["succeeded"] == 1 and status["stats"]["by_confidence"] == {"HIGH": 1}


def test_unchanged_outcome_refreshes_the_record(queue: JobQueue) -> None:
    queue.enqueue(1)
    job = claim_one(queue)
    queue.apply(Outcome(job, OutcomeKind.UNCHANGED, record=record(1, fetched_at=T0 + 9)), OWNER)
    assert queue.records_for([1])[1].fetched_at == T0 + 9
    assert queue_status(queue)["stats"]["unchanged"] == 1


def test_skipped_outcome_deletes_the_job_without_a_record(queue: JobQueue) -> None:
    queue.enqueue(1)
    queue.apply(Outcome(claim_one(queue), OutcomeKind.SKIPPED, detail="gone"), OWNER)
    assert queue.job(1) is None and queue.records_for([1]) == {}


def test_out_of_scope_scenes_are_counted_until_synced(queue: JobQueue) -> None:
    queue.enqueue(1)
    queue.apply(Outcome(claim_one(queue), OutcomeKind.OUT_OF_SCOPE), OWNER)
    assert queue.counts()["out_of_scope"] == 1
    queue.enqueue(1)
    queue.apply(synced(claim_one(queue)), OWNER)
    assert queue.counts()["out_of_scope"] == 0


def test_synced_without_a_record_is_treated_as_an_internal_error(queue: JobQueue) -> None:
    queue.enqueue(1)
    queue.apply(Outcome(claim_one(queue), OutcomeKind.SYNCED), OWNER)
    [dead] = queue.dlq_entries()
    assert dead.error_class == "Internal"


def test_a_transient_failure_schedules_a_retry(queue: JobQueue, clock: FakeClock) -> None:
    queue.enqueue(1)
    applied = queue.apply(failed(claim_one(queue), PlexNotFound("not in Plex yet")), OWNER)
    assert applied.action == SettleAction.RETRY and applied.delay == 45.0  # 30 s floor + 0.5 x 30 s
    job = queue.job(1)
    assert job is not None and job.state is JobState.RETRYING and job.attempts == 1
    assert job.not_before == clock() + 45 and job.first_failure_at == clock()
    assert str(job.last_error_class) == "PlexNotFound"
    assert queue_status(queue)["retrying"] == 1


def test_plex_not_found_is_dead_lettered_after_twelve_retries(
        queue: JobQueue, clock: FakeClock) -> None:
    queue.enqueue(1)
    actions = []
    for _ in range(13):
        clock.advance(4000)
        actions.append(queue.apply(failed(claim_one(queue), PlexNotFound("x")), OWNER).action)
    assert actions == [SettleAction.RETRY] * 12 + [SettleAction.DEAD]
    [dead] = queue.dlq_entries()
    assert dead.attempts == 13 and dead.error_class == "PlexNotFound"
    assert dead.first_failure_at == T0 + 4000 and dead.last_failure_at == clock()


def test_plex_server_down_alone_never_dead_letters_a_job(
        queue: JobQueue, clock: FakeClock) -> None:
    queue.enqueue(1)
    for _ in range(40):
        clock.advance(1000)
        assert queue.apply(failed(claim_one(queue), PlexServerDown("down")), OWNER).action \
            == SettleAction.RETRY
    assert queue.counts()["dlq"] == 0


def test_stash_errors_dead_letter_after_max_retries(queue: JobQueue, clock: FakeClock) -> None:
    queue.enqueue(1)
    actions = []
    for _ in range(4):
        clock.advance(1000)
        actions.append(queue.apply(failed(claim_one(queue), StashError("x")), OWNER).action)
    assert actions == [SettleAction.RETRY] * 3 + [SettleAction.DEAD]


def test_low_confidence_is_dead_lettered_at_once_with_its_candidates(queue: JobQueue) -> None:
    queue.enqueue(1, source=JobSource.SYNC_TASK)
    error = LowConfidence("2 candidates", candidates=("/m/a.mp4", "/n/a.mp4"))
    assert queue.apply(failed(claim_one(queue), error), OWNER).action == SettleAction.DEAD
    [dead] = queue.dlq_entries()
    assert dead.candidates == ("/m/a.mp4", "/n/a.mp4") and dead.source == "sync"
    assert queue_status(queue)["dlq_by_error"] == {"LowConfidence": 1}


def test_plex_auth_failure_is_released_uncounted(queue: JobQueue) -> None:
    queue.enqueue(1)
    assert queue.apply(failed(claim_one(queue), PlexAuth("401")), OWNER).action == "released"
    job = queue.job(1)
    assert job is not None and job.attempts == 0 and job.state is JobState.PENDING


def test_failure_messages_are_redacted(queue: JobQueue, clock: FakeClock) -> None:
    log.add_secret("sekrit-token-123")
    queue.enqueue(1)
    queue.apply(failed(claim_one(queue), PlexNotFound("GET /x?X-Plex-Token=sekrit-token-123")),
                OWNER)
    job = queue.job(1)
    assert job is not None and job.last_error is not None and "sekrit" not in job.last_error
    clock.advance(10_000)
    queue.apply(failed(claim_one(queue), LowConfidence("see sekrit-token-123")), OWNER)
    [dead] = queue.dlq_entries()
    assert "sekrit" not in dead.message and "[REDACTED]" in dead.message


def test_an_ack_after_losing_the_lease_changes_only_the_record(
        queue: JobQueue, clock: FakeClock) -> None:
    queue.enqueue(1)
    stale = claim_one(queue, "slow-drain")
    clock.advance(LEASE + 1)
    claim_one(queue, "new-drain")
    assert queue.apply(synced(stale), "slow-drain").action == "stale"
    job = queue.job(1)
    assert job is not None and job.state is JobState.IN_PROGRESS
    assert queue.records_for([1])  # the Plex write happened: remember it


# ---------------------------------------------------------------------- status / maintenance


def test_status_counts_every_state_and_the_stats(queue: JobQueue, clock: FakeClock) -> None:
    for scene in range(1, 6):
        queue.enqueue(scene)
    jobs = queue.claim(3, LEASE, OWNER)
    queue.apply(synced(jobs[0]), OWNER)
    queue.apply(failed(jobs[1], StashError("x")), OWNER)
    status = queue_status(queue)
    assert (status["pending"], status["in_progress"], status["retrying"]) == (2, 1, 1)
    assert status["last_sync_at"] is not None and status["next_due_at"] is not None
    assert status["stats"]["processed"] == 2 and status["stats"]["failed"] == 1
    assert status["stats"]["avg_seconds"] == 0.25


def test_clear_pending_keeps_jobs_in_flight(queue: JobQueue) -> None:
    for scene in (1, 2, 3):
        queue.enqueue(scene)
    claim_one(queue)
    assert queue.clear_pending() == 2
    assert queue.counts()["in_progress"] == 1


def test_purge_dlq_drops_only_entries_older_than_the_horizon(
        queue: JobQueue, clock: FakeClock) -> None:
    queue.enqueue(1)
    queue.apply(failed(claim_one(queue), LowConfidence("x")), OWNER)
    clock.advance(10 * 86400)
    queue.enqueue(2)
    queue.apply(failed(claim_one(queue), LowConfidence("x")), OWNER)
    assert queue.purge_dlq(5 * 86400) == 1
    assert [d.scene_id for d in queue.dlq_entries()] == [2]
    assert queue.clear_dlq() == 1


def test_the_newest_dead_letters_are_the_latest_failures_newest_first(
        queue: JobQueue, clock: FakeClock) -> None:
    for scene in (5, 3, 9, 1):
        clock.advance(60)
        queue.enqueue(scene)
        queue.apply(failed(claim_one(queue), LowConfidence("x")), OWNER)
    assert [d["scene_id"] for d in queue.newest_dead_letter_rows(3)] == [1, 9, 3]
    assert [d["scene_id"] for d in queue.newest_dead_letter_rows(10)] == [1, 9, 3, 5]


def test_requeue_dlq_filters_by_class_since_and_scene(queue: JobQueue, clock: FakeClock) -> None:
    for scene, error in ((1, LowConfidence("x")), (2, PlexNotFound("x")), (3, PlexAuth("x"))):
        queue.enqueue(scene)
        job = claim_one(queue)
        if scene == 2:
            queue.backoff = Backoff(max_retries=0, rng=lambda: 0.5)
            queue.apply(failed(job, StashError("x")), OWNER)
        else:
            queue.apply(failed(job, error), OWNER)
        clock.advance(100)
    assert {d.error_class for d in queue.dlq_entries()} == {"LowConfidence", "StashError"}
    assert queue.requeue_dlq(["StashError"], since=T0 + 50) == 1
    requeued = queue.job(2)
    assert requeued is not None and requeued.source is JobSource.RECOVER
    assert requeued.attempts == 0
    assert queue.requeue_dlq(None, scene_ids={99}) == 0
    assert [d.scene_id for d in queue.dlq_entries()] == [1]
