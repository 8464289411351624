"""An explicit clear in Stash empties a Plex field only where PlexSync pushed a value before.

Stash's scene edit form sends every field on save, so `inputFields` names all of them and every
empty Stash field looks explicitly cleared: a user fixing a title must not wipe the summary or
genres a Plex agent (or the user, in Plex) filled in.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from plexsync.hook.handler import gate
from plexsync.queue.enums import SettleAction
from plexsync.queue.job_queue import JobQueue
from plexsync.queue.model import Outcome, OutcomeKind, SyncRecord
from testkit.fake_plex import FakePlex
from testkit.fake_stash import FakeStash
from tests.helpers import T0, database_at_version, record
from tests.integration.test_sync_processor import PLEX_ROOT, Env, kinds, rich, user_edit

# What Stash's scene edit form sends for a scene with only a title: every field, most empty.
EDIT_FORM: dict[str, Any] = {
    "id": "1", "title": "New title", "code": "", "details": "", "director": "", "urls": [],
    "date": "", "rating100": None, "organized": False, "studio_id": None, "gallery_ids": [],
    "performer_ids": [], "groups": [], "tag_ids": [], "stash_ids": [],
}


def edit_form_clears(**values: Any) -> frozenset[str]:
    """The cleared fields the hook reports for one save of Stash's edit form."""
    payload = {**EDIT_FORM, **values}
    reason, cleared = gate({"type": "Scene.Update.Post", "id": 1, "input": payload,
                            "inputFields": list(payload)}, {})
    assert reason is None
    return frozenset(cleared)


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    with FakePlex() as plex, FakeStash() as stash:
        plex.add_section(1, "Movies", [PLEX_ROOT])
        yield Env(plex, stash, tmp_path / "data")


def agent_filled(env: Env, name: str, **over: Any) -> tuple[int, int]:
    """A scene with only a title in Stash, its Plex item filled in by a Plex agent."""
    sid, _ = env.scene(name, plex=False, title=f"Title {name}", **over)
    rk = env.plex.add_item(1, f"{PLEX_ROOT}/folder/{name}.mp4", size=1000, duration_ms=60_000,
                           summary="Agent summary", studio="Agent studio",
                           originally_available_at="1999-09-09", user_rating=6.0,
                           tags={"genre": ["Agent genre"], "actor": ["Agent actor"],
                                 "director": ["Agent director"]})
    return sid, rk


def assert_agent_values_kept(env: Env, rk: int) -> None:
    item = env.plex.item(rk)
    assert (item.summary, item.studio, item.originally_available_at, item.user_rating) == (
        "Agent summary", "Agent studio", "1999-09-09", 6.0)
    assert item.tags["genre"] == ["Agent genre"] and item.tags["actor"] == ["Agent actor"]
    assert item.tags["director"] == ["Agent director"]


# --------------------------------------------------------------------------- end to end
def test_the_edit_form_on_a_scene_never_synced_wipes_nothing_plex_had(env: Env) -> None:
    sid, rk = agent_filled(env, "first")
    outcomes = env.run(jobs=[env.job(sid, cleared=edit_form_clears(title="Title first"))])
    assert kinds(outcomes) == [OutcomeKind.SYNCED]
    assert env.plex.item(rk).title == "Title first"
    assert_agent_values_kept(env, rk)


def test_editing_a_title_later_wipes_nothing_plexsync_did_not_write(env: Env) -> None:
    sid, rk = agent_filled(env, "later")
    env.run(sid)
    env.stash.update_scene(sid, title="Fixed title")
    outcomes = env.run(jobs=[env.job(sid, cleared=edit_form_clears(title="Fixed title"))])
    assert kinds(outcomes) == [OutcomeKind.SYNCED]
    assert env.plex.item(rk).title == "Fixed title"
    assert_agent_values_kept(env, rk)


def test_fields_plexsync_wrote_and_the_user_cleared_are_cleared_in_plex(env: Env) -> None:
    sid, rk = rich(env, "owned")
    env.run(sid)
    env.stash.update_scene(sid, details="", tag_ids=[], performer_ids=[], rating100=None,
                           director="")
    outcomes = env.run(jobs=[env.job(sid, cleared=edit_form_clears(title="Title owned"))])
    assert kinds(outcomes) == [OutcomeKind.SYNCED]
    item = env.plex.item(rk)
    assert not item.summary and item.user_rating is None
    assert item.tags["genre"] == [] and item.tags["actor"] == [] and item.tags["director"] == []
    assert item.studio == "Studio owned"          # not cleared in Stash: still there
    assert "summary" not in env.records[sid].pushed_fields
    assert "studio" in env.records[sid].pushed_fields


def test_after_clearing_a_field_plexsync_no_longer_owns_what_plex_gets_next(env: Env) -> None:
    sid, rk = rich(env, "released")
    env.run(sid)
    env.stash.update_scene(sid, details="")
    env.run(jobs=[env.job(sid, cleared={"details"})])
    assert not env.plex.item(rk).summary

    user_edit(env, rk).editSummary("Written in Plex", locked=False)
    env.stash.update_scene(sid, title="Retitled")
    env.run(jobs=[env.job(sid, cleared={"details"})])
    assert env.plex.item(rk).summary == "Written in Plex"


def test_a_value_kept_by_preserve_plex_edits_is_not_plexsync_s_to_clear(env: Env) -> None:
    sid, rk = rich(env, "preserved")
    user_edit(env, rk).editSummary("Mine", locked=False)
    env.run(sid, preserve_plex_edits=True)
    assert "summary" not in env.records[sid].pushed_fields
    env.stash.update_scene(sid, details="")
    env.run(jobs=[env.job(sid, cleared={"details"})])
    assert env.plex.item(rk).summary == "Mine"


def test_ownership_does_not_follow_the_scene_to_another_plex_item(env: Env) -> None:
    sid, rk = rich(env, "moved")
    env.run(sid)
    env.plex.remove_item(rk)
    new_rk = env.plex.add_item(1, f"{PLEX_ROOT}/folder/moved.mp4", size=1000,
                               duration_ms=60_000, summary="Agent summary")
    env.stash.update_scene(sid, details="")
    env.clock.now += 300
    env.run(jobs=[env.job(sid, cleared={"details"})])
    assert env.plex.item(new_rk).summary == "Agent summary"


# --------------------------------------------------------------------------- storage
def test_pushed_fields_round_trip_through_the_queue(queue: JobQueue) -> None:
    queue.enqueue(1)
    [job] = queue.claim(5, 60, "me")
    kept = record(1, pushed_fields=("summary", "genre"))
    queue.apply(Outcome(job, OutcomeKind.SYNCED, record=kept, confidence="HIGH"), "me")
    assert queue.records_for([1])[1].pushed_fields == ("summary", "genre")


def test_a_row_without_pushed_fields_reads_back_as_owning_nothing(queue: JobQueue) -> None:
    queue.enqueue(1)
    [job] = queue.claim(5, 60, "me")
    queue.settle(job.id, "me", SettleAction.DONE, record=SyncRecord(
        scene_id=1, rating_key=9, section_id=2, stash_updated_at="x", fetched_at=T0,
        values_hash="h", synced_at=T0,
    ))
    assert queue.records_for([1])[1].pushed_fields == ()


def test_a_database_of_the_first_schema_is_migrated_and_its_records_own_nothing(
    tmp_path: Path,
) -> None:
    db = database_at_version(str(tmp_path / "old.db"), 1,
        "INSERT INTO sync_records (scene_id, rating_key, section_id, stash_updated_at,"
        " fetched_at, values_hash, synced_at) VALUES (1, 9, 1, 'x', 0, 'h', 0)")

    store = JobQueue(db)
    try:
        assert store.records_for([1])[1].pushed_fields == ()
    finally:
        store.close()
