"""SyncProcessor against the fake Plex and Stash through the real clients, counting requests."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from plexsync.core.context import TaskContext
from plexsync.core.settings import Settings
from plexsync.errors import (
    Internal,
    LowConfidence,
    PlexAuth,
    PlexBadRequest,
    PlexNotFound,
    PlexServerDown,
)
from plexsync.plex import index as index_mod
from plexsync.plex.client import PlexClient
from plexsync.queue.drain import Drain
from plexsync.queue.job_queue import JobQueue
from plexsync.queue.model import Batch, Job, JobSource, JobState, Outcome, OutcomeKind, SyncRecord
from plexsync.stash.api import StashClient
from plexsync.sync.processor import SyncProcessor, build_processor
from testkit.fake_plex import FakePlex
from testkit.fake_stash import FakeStash
from testkit.plex_client import connect
from tests.helpers import FakeClock, captured_log, lines

STASH_ROOT, PLEX_ROOT = "/data/videos", "/media/videos"



@dataclass
class Env:
    plex: FakePlex
    stash: FakeStash
    data_dir: Path
    clock: FakeClock = field(default_factory=lambda: FakeClock(time.time()))
    records: dict[int, SyncRecord] = field(default_factory=dict)
    next_job: int = 1

    def ctx(self, **settings: Any) -> TaskContext:
        raw = {"plex_url": self.plex.url, "plex_token": self.plex.token,
               "path_map": f"{STASH_ROOT}={PLEX_ROOT}", **settings}
        return TaskContext(settings=Settings.from_mapping(raw), data_dir=str(self.data_dir),
                           stash=StashClient(self.stash.server_connection()), clock=self.clock)

    def job(self, scene_id: int, *, source: JobSource = JobSource.HOOK,
            cleared: Iterable[str] = (), event_at: float | None = None) -> Job:
        self.next_job += 1
        self.clock.now += 1              # every event happens after whatever came before
        at = self.clock.now if event_at is None else event_at
        return Job(id=self.next_job, scene_id=scene_id, state=JobState.IN_PROGRESS,
                   source=source, event_at=at, enqueued_at=at, not_before=at,
                   cleared_fields=frozenset(cleared))

    def run(self, *scene_ids: int, jobs: list[Job] | None = None, **settings: Any) -> list[Outcome]:
        """One drain batch in a fresh processor (a new process), keeping records like the queue."""
        self.clock.now += 1
        batch = Batch(jobs or [self.job(s) for s in scene_ids], dict(self.records))
        outcomes = list(build_processor(self.ctx(**settings)).process(batch))
        for o in outcomes:
            if o.record is not None:
                self.records[o.job.scene_id] = o.record
        return outcomes

    def scene(self, name: str, *, size: int = 1000, duration: float = 60.0,
              plex: bool = True, **fields: Any) -> tuple[int, int]:
        """A Stash scene and (when `plex`) its Plex item; returns (scene id, ratingKey)."""
        rel = f"{name}.mp4" if "/" in name else f"folder/{name}.mp4"
        sid = self.stash.add_scene(files=[{"path": f"{STASH_ROOT}/{rel}", "size": size,
                                           "duration": duration}], **fields)
        rk = self.plex.add_item(1, f"{PLEX_ROOT}/{rel}", size=size,
                                duration_ms=int(duration * 1000)) if plex else 0
        return sid, rk


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    with FakePlex() as plex, FakeStash() as stash:
        plex.add_section(1, "Movies", [PLEX_ROOT])
        yield Env(plex, stash, tmp_path / "data")


def kinds(outcomes: list[Outcome]) -> list[OutcomeKind]:
    return [o.kind for o in outcomes]


def user_edit(env: Env, rk: int) -> Any:
    """The item as a user's own plexapi script sees it (to make edits PlexSync did not)."""
    return connect(env.plex.url, env.plex.token).fetchItem(rk)


def rich(env: Env, name: str, **over: Any) -> tuple[int, int]:
    studio = env.stash.add_studio(f"Studio {name}")
    tags = [env.stash.add_tag(f"{name}-tag{i}") for i in range(3)]
    perf = env.stash.add_performer(f"{name} Performer")
    fields: dict[str, Any] = dict(title=f"Title {name}", details="Details\nline two",
                                  date="2021-02-03", rating100=80, studio_id=studio,
                                  tag_ids=tags, performer_ids=[perf], director="Dir")
    fields.update(over)
    return env.scene(name, **fields)


# --------------------------------------------------------------------------- request budget
def test_each_synced_scene_costs_one_read_one_write_and_one_poster_upload_read_back(
        env: Env) -> None:
    scenes = [rich(env, f"s{i}") for i in range(5)]
    outcomes = env.run(*(sid for sid, _ in scenes))

    assert kinds(outcomes) == [OutcomeKind.SYNCED] * 5
    posters = [r for r in env.plex.requests if r.path.endswith("/posters")]
    reads = [r for r in posters if r.method == "GET"]
    assert env.plex.count("GET", "/library/metadata/") - len(reads) == 5
    assert env.plex.count("PUT", "/library/sections/1/all") == 5
    assert env.plex.count("POST", "/library/metadata/") == 5
    # an upload's identity in Plex (whose poster it is later), read once after the upload
    assert [r.method for r in posters] == ["POST", "GET"] * 5
    assert env.plex.count("GET", "/library/sections/1/all") == 1    # the index: one page
    assert len(env.plex.requests) == 5 * 4 + 1 + 2                   # + GET / and /sections
    assert env.stash.count("findScenes") == 1                        # one query per batch


def test_a_second_sync_of_unchanged_scenes_sends_no_item_request_only_one_listing(
        env: Env) -> None:
    scenes = [rich(env, f"s{i}") for i in range(3)]
    env.run(*(sid for sid, _ in scenes))
    env.plex.clear_requests()

    again = env.run(*(sid for sid, _ in scenes), jobs=[env.job(sid, source=JobSource.SYNC_TASK)
                                                       for sid, _ in scenes])
    assert kinds(again) == [OutcomeKind.UNCHANGED] * 3
    # the check that each recorded item still holds its file: one listing page per drain
    assert [r.path for r in env.plex.requests] == ["/", "/library/sections",
                                                   "/library/sections/1/all"]
    assert all(o.record is not None for o in again)


def test_a_late_event_is_skipped_without_asking_stash_or_plex(env: Env) -> None:
    # The drain skips late events before a batch reaches the processor (model.superseded).
    sid, _ = rich(env, "late")
    queue = JobQueue(":memory:", clock=env.clock)
    drain = Drain(queue, lambda: build_processor(env.ctx()),
                  lock_path=str(env.data_dir / "drain.lock"), clock=env.clock,
                  sleep=lambda s: None, progress=lambda p: None)
    queue.enqueue(sid)
    with captured_log():
        drain.run()
    record = queue.records_for([sid])[sid]
    env.plex.clear_requests()
    env.stash.clear_requests()
    queue.enqueue(sid, event_at=record.fetched_at - 1)
    with captured_log() as stream:
        drain.run()
    assert any("late event" in line for line in lines(stream))
    assert queue.job(sid) is None and queue.records_for([sid])[sid] == record
    assert env.plex.requests == [] and env.stash.count() == 0


def test_reconcile_jobs_always_look_at_plex_and_repair_drift(env: Env) -> None:
    sid, rk = rich(env, "drift")
    env.run(sid)
    env.plex.clear_requests()
    user_edit(env, rk).editTitle("Changed")
    env.plex.clear_requests()
    outcomes = env.run(jobs=[env.job(sid, source=JobSource.RECONCILE)])
    assert kinds(outcomes) == [OutcomeKind.SYNCED]
    assert env.plex.item(rk).title == "Title drift"
    assert env.plex.count("PUT") == 1 and env.plex.count("POST") == 0


def test_an_edit_outside_synced_fields_reads_once_and_writes_nothing(env: Env) -> None:
    sid, _ = rich(env, "org")
    env.run(sid)
    env.stash.update_scene(sid, organized=True)   # moves updated_at and the screenshot ?t=
    env.plex.clear_requests()
    outcomes = env.run(sid)
    assert kinds(outcomes) == [OutcomeKind.UNCHANGED]
    assert env.plex.count("GET", "/library/metadata/") == 1
    assert env.plex.count("PUT") == 0 and env.plex.count("POST") == 0


def test_a_new_cover_is_one_upload_and_nothing_else(env: Env) -> None:
    sid, rk = rich(env, "cover")
    env.run(sid)
    env.stash.set_screenshot(sid, b"\xff\xd8\xff\xe0 a brand new cover")
    env.plex.clear_requests()
    outcomes = env.run(sid)
    assert kinds(outcomes) == [OutcomeKind.SYNCED] and outcomes[0].detail == "updated poster"
    assert env.plex.count("POST", f"/library/metadata/{rk}/posters") == 1
    assert env.plex.count("PUT") == 0
    assert env.plex.item(rk).poster == b"\xff\xd8\xff\xe0 a brand new cover"


def test_background_art_is_uploaded_from_the_same_download(env: Env) -> None:
    sid, rk = rich(env, "art")
    env.run(sid, sync_background=True)
    assert env.plex.count("POST", f"/library/metadata/{rk}/arts") == 1
    assert env.stash.count() >= 1
    assert {"thumb", "art"} <= env.plex.item(rk).locked


def test_a_batch_with_nothing_to_do_in_plex_never_connects(env: Env) -> None:
    sid, _ = env.scene("empty")                       # no metadata: quality gate
    gone = env.stash.add_scene(title="gone", files=[{"path": f"{STASH_ROOT}/g.mp4"}])
    env.stash.delete_scene(gone)
    outcomes = env.run(sid, gone)
    assert kinds(outcomes) == [OutcomeKind.SKIPPED, OutcomeKind.SKIPPED]
    assert "quality gate" in outcomes[0].detail and "no longer exists" in outcomes[1].detail
    assert env.plex.requests == []


# --------------------------------------------------------------------------- matching
def test_paths_are_mapped_through_path_map(env: Env) -> None:
    sid, rk = rich(env, "deep/nested/mapped")
    outcomes = env.run(sid)
    assert kinds(outcomes) == [OutcomeKind.SYNCED] and outcomes[0].record is not None
    assert outcomes[0].record.rating_key == rk and outcomes[0].confidence == "HIGH"


def test_basename_ambiguity_fails_low_confidence_with_candidates_under_strict(env: Env) -> None:
    sid, _ = rich(env, "new/clip", plex=False, size=10)
    env.plex.add_item(1, f"{PLEX_ROOT}/a/clip.mp4", size=11)
    env.plex.add_item(1, f"{PLEX_ROOT}/b/clip.mp4", size=12)
    outcomes = env.run(sid, path_map="")   # the basename search rescues a missing path_map
    assert kinds(outcomes) == [OutcomeKind.FAILED]
    assert isinstance(outcomes[0].error, LowConfidence)
    assert set(outcomes[0].candidates) == {f"{PLEX_ROOT}/a/clip.mp4", f"{PLEX_ROOT}/b/clip.mp4"}
    assert env.plex.count("PUT") == 0


def test_without_strict_matching_the_best_candidate_is_synced_as_low(env: Env) -> None:
    sid, _ = rich(env, "new/clip", plex=False, size=10)
    env.plex.add_item(1, f"{PLEX_ROOT}/a/clip.mp4", size=11)
    rk = env.plex.add_item(1, f"{PLEX_ROOT}/b/clip.mp4", size=10, duration_ms=1)
    outcomes = env.run(sid, strict_matching=False, path_map="")
    assert kinds(outcomes) == [OutcomeKind.SYNCED] and outcomes[0].confidence == "LOW"
    assert outcomes[0].record is not None and outcomes[0].record.rating_key == rk
    assert outcomes[0].record.confidence == "LOW"


def test_a_moved_file_with_unique_basename_and_size_is_high(env: Env) -> None:
    sid, _ = rich(env, "incoming/moved", plex=False, size=77)
    rk = env.plex.add_item(1, f"{PLEX_ROOT}/sorted/moved.mp4", size=77)
    outcomes = env.run(sid, path_map="")
    assert kinds(outcomes) == [OutcomeKind.SYNCED] and outcomes[0].confidence == "HIGH"
    assert env.plex.item(rk).title == "Title incoming/moved"


def test_an_absent_file_is_not_found_with_one_scan_of_its_folder_then_syncs(env: Env) -> None:
    sid, _ = rich(env, "fresh/new", plex=False)
    env.plex.stage_item(1, f"{PLEX_ROOT}/fresh/new.mp4", size=1000)
    first = env.run(sid)
    assert kinds(first) == [OutcomeKind.FAILED] and isinstance(first[0].error, PlexNotFound)
    assert env.plex.refreshes == [(1, f"{PLEX_ROOT}/fresh")]

    second = env.run(sid)                         # a moment later: no second scan, no rebuild
    assert kinds(second) == [OutcomeKind.FAILED] and len(env.plex.refreshes) == 1

    env.clock.now += index_mod.AFTER_SCAN_INTERVAL   # the retry a minute later finds it
    listing_before = env.plex.count("GET", "/library/sections/1/all")
    third = env.run(sid)
    assert kinds(third) == [OutcomeKind.SYNCED]
    assert env.plex.count("GET", "/library/sections/1/all") == listing_before + 1


def test_without_scan_missing_no_scan_is_asked(env: Env) -> None:
    sid, _ = rich(env, "fresh/new", plex=False)
    outcomes = env.run(sid, scan_missing=False)
    assert isinstance(outcomes[0].error, PlexNotFound) and env.plex.refreshes == []


def test_a_file_outside_every_section_is_out_of_scope_quietly(env: Env) -> None:
    sid = env.stash.add_scene(title="Elsewhere", files=[{"path": "/data/elsewhere/x.mp4"}])
    outcomes = env.run(sid)
    assert kinds(outcomes) == [OutcomeKind.OUT_OF_SCOPE] and outcomes[0].error is None
    assert env.plex.refreshes == []


def test_a_scene_with_several_files_matches_the_first_file_plex_has(env: Env) -> None:
    sid = env.stash.add_scene(title="Multi", files=[
        {"path": f"{STASH_ROOT}/m/part1.mp4", "size": 5},
        {"path": f"{STASH_ROOT}/m/part2.mp4", "size": 6}])
    rk = env.plex.add_item(1, f"{PLEX_ROOT}/m/part2.mp4", size=6)
    outcomes = env.run(sid)
    assert kinds(outcomes) == [OutcomeKind.SYNCED] and env.plex.item(rk).title == "Multi"
    primary = env.plex.add_item(1, f"{PLEX_ROOT}/m/part1.mp4", size=5)
    env.records.clear()
    env.clock.now += index_mod.MAX_AGE
    env.run(sid)
    assert env.plex.item(primary).title == "Multi"


def test_an_item_replaced_in_plex_is_found_again_through_the_index(env: Env) -> None:
    sid, rk = rich(env, "replaced")
    env.run(sid)
    env.plex.remove_item(rk)
    new_rk = env.plex.add_item(1, f"{PLEX_ROOT}/folder/replaced.mp4", size=1000)
    env.clock.now += index_mod.MISS_INTERVAL
    outcomes = env.run(jobs=[env.job(sid, source=JobSource.RECONCILE)])
    assert kinds(outcomes) == [OutcomeKind.SYNCED]
    assert outcomes[0].record is not None and outcomes[0].record.rating_key == new_rk
    assert env.plex.item(new_rk).title == "Title replaced"


# --------------------------------------------------------------------------- field content
def test_every_field_lands_in_plex_with_its_lock(env: Env) -> None:
    group = env.stash.add_group("Series One")
    sid, rk = rich(env, "full", group_ids=[group])
    env.run(sid)
    item = env.plex.item(rk)
    assert (item.title, item.summary, item.originally_available_at, item.year) == (
        "Title full", "Details\nline two", "2021-02-03", 2021)
    assert (item.studio, item.user_rating) == ("Studio full", 8.0)
    assert item.tags["genre"] == ["full-tag0", "full-tag1", "full-tag2"]
    assert item.tags["actor"] == ["full Performer"] and item.tags["director"] == ["Dir"]
    assert item.tags["collection"] == ["Studio full", "Series One"]
    assert item.poster == env.stash.screenshot_bytes(sid)
    assert {"title", "summary", "originallyAvailableAt", "studio", "userRating", "genre",
            "actor", "director", "collection", "thumb"} <= item.locked


def test_without_lock_fields_nothing_is_locked(env: Env) -> None:
    sid, rk = rich(env, "nolock")
    env.run(sid, lock_fields=False)
    assert env.plex.item(rk).locked == set()


def test_unicode_long_summaries_and_control_characters(env: Env) -> None:
    title = "Zoë \u2603 日本語 “quoted” — e\u0301\x07"
    summary = "First line\r\nSecond\tline\x00\x1b " + "é" * 20_000
    sid, rk = env.scene("unicode", title=title, details=summary)
    env.run(sid)
    item = env.plex.item(rk)
    assert item.title == "Zoë ☃ 日本語 “quoted” — é"
    assert item.summary is not None and len(item.summary) == 10_000
    assert item.summary.startswith("First line\nSecond\tline ") and "\x00" not in item.summary


def test_empty_stash_fields_leave_plex_unless_explicitly_cleared(env: Env) -> None:
    sid, rk = env.scene("sparse", title="Only a title")
    env.plex.add_item(1, f"{PLEX_ROOT}/x.mp4")   # unrelated
    user_edit(env, rk).editSummary("Plex summary", locked=False)
    env.run(sid)
    assert env.plex.item(rk).summary == "Plex summary" and env.plex.item(rk).title == "Only a title"

    env.stash.update_scene(sid, details="Stash details")   # PlexSync pushes it: now it owns it
    env.run(sid)
    env.stash.update_scene(sid, details="")
    env.run(jobs=[env.job(sid, cleared={"details"})])
    assert not env.plex.item(rk).summary


def test_a_tag_removed_in_stash_leaves_plex(env: Env) -> None:
    sid, rk = rich(env, "tags")
    env.run(sid)
    scene = env.stash.scene(sid)
    keep = [int(t["id"]) for t in scene["tags"][:1]]
    env.stash.update_scene(sid, tag_ids=keep)
    env.plex.clear_requests()
    env.run(sid)
    assert env.plex.item(rk).tags["genre"] == ["tags-tag0"]
    assert env.plex.count("PUT") == 1


def test_studio_removed_drops_only_the_collection_plexsync_added(env: Env) -> None:
    group = env.stash.add_group("Series One")
    sid, rk = rich(env, "studio", group_ids=[group])
    env.run(sid)
    user_edit(env, rk).addCollection("Mine")
    env.stash.update_scene(sid, studio_id=None)
    env.run(jobs=[env.job(sid, cleared={"studio_id"})])
    item = env.plex.item(rk)
    assert sorted(item.tags["collection"]) == ["Mine", "Series One"]
    assert not item.studio
    assert env.records[sid].collections_added == ("Series One",)


def test_preserve_plex_edits_keeps_what_the_user_wrote_in_plex(env: Env) -> None:
    sid, rk = rich(env, "keep")
    user_edit(env, rk).editTitle("My Title")
    env.run(sid, preserve_plex_edits=True)
    item = env.plex.item(rk)
    assert item.title == "My Title" and item.summary == "Details\nline two"


# --------------------------------------------------------------------------- failures
def test_plex_down_aborts_the_batch_after_the_jobs_already_done(env: Env) -> None:
    done, _ = rich(env, "done")
    todo, _ = rich(env, "todo")
    processor = build_processor(env.ctx())
    stream = processor.process(Batch([env.job(done), env.job(todo)], dict(env.records)))
    assert next(stream).kind is OutcomeKind.SYNCED
    env.plex.go_down()
    with pytest.raises(PlexServerDown):
        next(stream)


def test_plex_down_aborts_even_an_unchanged_scene_whose_item_cannot_be_checked(
        env: Env) -> None:
    done, _ = rich(env, "done")
    env.run(done)
    env.plex.go_down()
    processor = build_processor(env.ctx())
    stream = processor.process(Batch([env.job(done, source=JobSource.SYNC_TASK)],
                                     dict(env.records)))
    with pytest.raises(PlexServerDown):
        next(stream)


def test_a_revoked_token_aborts_with_plex_auth(env: Env) -> None:
    sid, _ = rich(env, "auth")
    ctx = env.ctx(plex_token="revoked-token")
    with pytest.raises(PlexAuth):
        list(SyncProcessor(ctx).process(Batch([env.job(sid)])))


def test_stash_unreachable_fails_every_job_retryably(env: Env) -> None:
    sid, _ = rich(env, "stash")
    env.stash.go_down()
    outcomes = env.run(sid)
    assert kinds(outcomes) == [OutcomeKind.FAILED]
    assert outcomes[0].error is not None and outcomes[0].error.retryable


def test_a_rejected_poster_upload_is_a_warning_on_a_synced_job(
    env: Env, monkeypatch: pytest.MonkeyPatch,
) -> None:
    sid, rk = rich(env, "poster")

    def reject(self: PlexClient, rating_key: int, kind: str, data: bytes) -> None:
        raise PlexBadRequest("Plex rejected POST /library/metadata/1/posters (400).")

    monkeypatch.setattr(PlexClient, "upload_image", reject)
    outcomes = env.run(sid)
    assert kinds(outcomes) == [OutcomeKind.SYNCED] and outcomes[0].warnings
    assert env.plex.item(rk).title == "Title poster" and "thumb" not in env.plex.item(rk).locked
    assert outcomes[0].record is not None and outcomes[0].record.poster_key == ""


def test_an_unexpected_bug_is_a_failed_internal_job_not_a_crash(
    env: Env, monkeypatch: pytest.MonkeyPatch,
) -> None:
    sid, _ = rich(env, "bug")
    monkeypatch.setattr("plexsync.sync.fields.wanted", lambda *a: 1 / 0)
    outcomes = env.run(sid)
    assert kinds(outcomes) == [OutcomeKind.FAILED] and isinstance(outcomes[0].error, Internal)


def test_a_scene_deleted_in_stash_does_not_hold_up_the_rest_of_its_batch(env: Env) -> None:
    kept, rk = rich(env, "kept")
    gone, _ = rich(env, "gone")
    env.stash.delete_scene(gone)
    outcomes = env.run(kept, gone)
    assert kinds(outcomes) == [OutcomeKind.SYNCED, OutcomeKind.SKIPPED]
    assert env.plex.item(rk).title == "Title kept"


def test_a_clear_that_raced_an_earlier_sync_still_empties_plex(env: Env) -> None:
    # The earlier sync read the scene after the user emptied its details, but its job did not
    # carry the clear, so it left Plex's summary alone. The clear's job comes next with an
    # event time before that read: it must still clear the summary.
    sid, rk = rich(env, "race")
    env.run(sid)
    assert env.plex.item(rk).summary
    env.stash.update_scene(sid, details="")
    clear_event = env.clock.now + 0.5
    env.run(sid)                                    # reads after the clear, without the flag
    assert env.plex.item(rk).summary, "an empty Stash field alone must not wipe Plex"
    outcomes = env.run(jobs=[env.job(sid, cleared={"details"}, event_at=clear_event)])
    assert [o.kind for o in outcomes] == [OutcomeKind.SYNCED]
    assert not env.plex.item(rk).summary
