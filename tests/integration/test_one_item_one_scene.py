"""One Plex item belongs to one scene, through the real processor against the fakes."""

from __future__ import annotations

import unicodedata

import pytest

from plexsync.errors import Conflict
from plexsync.queue.model import Batch, JobSource, OutcomeKind, SyncRecord
from plexsync.sync.processor import build_processor
from tests.integration.test_sync_processor import PLEX_ROOT, STASH_ROOT, Env, env, kinds, rich

__all__ = ["env"]   # the fixture


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def test_a_scene_outside_every_library_stays_out_of_scope_beside_a_namesake_of_another_scene(
    env: Env,
) -> None:
    owner, rk = rich(env, "studio-a/Summer.Quiet.17", size=500)
    private = env.stash.add_scene(title="Private", details="mine", files=[
        {"path": "/private/Summer.Quiet.17.mp4", "size": 500, "duration": 60.0}])
    outcomes = env.run(private, owner)
    assert kinds(outcomes) == [OutcomeKind.OUT_OF_SCOPE, OutcomeKind.SYNCED]
    assert env.plex.item(rk).title == "Title studio-a/Summer.Quiet.17"
    assert all(r.query.get("title.value") != "Private" for r in env.plex.requests)


@pytest.mark.parametrize("stash_form, plex_form", [(nfc, nfd), (nfd, nfc)])
@pytest.mark.parametrize("with_map", [True, False])
def test_nfc_and_nfd_spellings_of_one_path_match_high_by_exact_path(
    env: Env, stash_form: object, plex_form: object, with_map: bool,
) -> None:
    name = "Zoë à la plage.mp4"
    stash_root = STASH_ROOT if with_map else PLEX_ROOT
    assert callable(stash_form) and callable(plex_form)
    sid = env.stash.add_scene(title="Plage", files=[
        {"path": stash_form(f"{stash_root}/Été/{name}"), "size": 10, "duration": 5.0}])
    rk = env.plex.add_item(1, plex_form(f"{PLEX_ROOT}/Été/{name}"), size=10, duration_ms=5000)
    path_map = plex_form(f"{STASH_ROOT}/Été={PLEX_ROOT}/Été") if with_map else ""
    outcomes = env.run(sid, path_map=path_map)
    assert kinds(outcomes) == [OutcomeKind.SYNCED]
    assert outcomes[0].record is not None and outcomes[0].record.rating_key == rk
    assert outcomes[0].confidence == "HIGH"
    assert env.plex.item(rk).title == "Plage"


def held(env: Env) -> Batch:
    """A batch whose record-on-item lookup sees env.records, as the queue does."""
    return Batch([], dict(env.records), lambda rk: [
        r for r in env.records.values() if r.rating_key == rk])


def test_two_scenes_whose_files_plex_merged_into_one_item_never_share_it(env: Env) -> None:
    one = env.stash.add_scene(title="One", files=[{"path": f"{STASH_ROOT}/m/one.mp4",
                                                    "size": 1}])
    two = env.stash.add_scene(title="Two", files=[{"path": f"{STASH_ROOT}/m/two.mp4",
                                                    "size": 2}])
    rk = env.plex.add_item(1, f"{PLEX_ROOT}/m/one.mp4", files=[
        (f"{PLEX_ROOT}/m/one.mp4", 1, 0), (f"{PLEX_ROOT}/m/two.mp4", 2, 0)])
    first = env.run(one)
    assert kinds(first) == [OutcomeKind.SYNCED]
    env.plex.clear_requests()

    batch = held(env)
    processor = build_processor(env.ctx())
    outcomes = list(processor.process(Batch([env.job(two)], batch.records,
                                            batch.records_on_item)))
    assert kinds(outcomes) == [OutcomeKind.FAILED]
    error = outcomes[0].error
    assert isinstance(error, Conflict)
    assert f"scenes {two} and {one}" in str(error) and f"ratingKey {rk}" in str(error)
    assert env.plex.count("PUT") == 0 and env.plex.item(rk).title == "One"


def test_the_unchanged_shortcut_looks_again_once_the_scenes_own_file_is_in_plex(
    env: Env,
) -> None:
    sid, _ = rich(env, "incoming/clip", plex=False, size=77)
    guess = env.plex.add_item(1, f"{PLEX_ROOT}/copies/clip.mp4", size=77)
    rescued = env.run(sid, path_map="")             # rescued by basename: the only copy
    assert kinds(rescued) == [OutcomeKind.SYNCED]
    record = env.records[sid]
    assert isinstance(record, SyncRecord) and record.rating_key == guess

    own = env.plex.add_item(1, f"{PLEX_ROOT}/incoming/clip.mp4", size=77)
    env.clock.now += 3600                          # the index may be rebuilt on a miss
    again = env.run(jobs=[env.job(sid, source=JobSource.SYNC_TASK)])
    assert kinds(again) == [OutcomeKind.SYNCED]    # not "unchanged" on the guessed item
    assert again[0].record is not None and again[0].record.rating_key == own
    assert env.plex.item(own).title == "Title incoming/clip"
