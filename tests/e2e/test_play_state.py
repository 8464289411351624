"""Plex → Stash play state, tried as a user would (docs/play-state.md).

A library synced by Sync All, then `import_play_state` turned on; someone watches and rates in
Plex (the fake Plex's history, resume points and ratings, as PMS keeps them), and the task
Import Plex Play State runs `plexsync.py` as Stash does. What must hold: each play lands once
at its own time, other accounts' plays and items without a scene are ignored, resume points
follow Plex, ratings a person set in Plex arrive (PlexSync's own never come back), a re-run
changes nothing, a Plex outage halfway imports nothing and loses nothing, and the Stash edits
the import causes send Plex nothing when Stash runs the plugin's hooks for them.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from testkit.fake_plex import FakePlex
from testkit.fake_stash import FakeStash
from testkit.stash_jobs import PluginJobs
from tests.e2e.conftest import Run, library, run_plugin

T0 = 1_780_000_000   # a fixed past moment (Plex's viewedAt, epoch seconds)


def iso(epoch: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def synced(stash: FakeStash, plex: FakePlex, data_dir: Path, n: int = 3,
           **settings: object) -> tuple[list[int], list[int]]:
    """`n` scenes synced to Plex, then the import's settings on; (scene ids, rating keys)."""
    ids = library(stash, plex, n)
    assert run_plugin(stash.task_input({"mode": "sync_all"}), data_dir).returncode == 0
    stash.plugin_config["PlexSync"].update(import_play_state=True, **settings)
    keys = []
    for i in range(n):
        item = plex.find_by_file(f"/media/s{i}.mp4")
        assert item is not None
        keys.append(item.rating_key)
    return ids, keys


def import_state(stash: FakeStash, data_dir: Path) -> dict[str, Any]:
    run = run_plugin(stash.task_input({"mode": "import_play_state"}), data_dir)
    assert run.returncode == 0 and not run.answer.get("error"), run.answer
    output: dict[str, Any] = run.answer["output"]
    return output


def plays(stash: FakeStash, scene_id: int) -> list[str]:
    return sorted(stash.scene(scene_id)["play_history"])


def stash_writes(stash: FakeStash) -> int:
    return sum(stash.count(op) for op in ("PlexSyncAddPlay", "PlexSyncSaveActivity",
                                          "PlexSyncSetRating"))


def test_each_plex_play_becomes_one_stash_play_at_its_own_time(
        fakes: tuple[FakeStash, FakePlex], tmp_path: Path) -> None:
    stash, plex = fakes
    ids, keys = synced(stash, plex, tmp_path)
    plex.play(keys[0], at=T0)
    for n in range(3):                       # watched three times
        plex.play(keys[1], at=T0 + 3600 * (n + 1))

    out = import_state(stash, tmp_path)

    assert plays(stash, ids[0]) == [iso(T0)]
    assert plays(stash, ids[1]) == [iso(T0 + 3600), iso(T0 + 7200), iso(T0 + 10800)]
    assert stash.scene(ids[1])["play_count"] == 3
    assert plays(stash, ids[2]) == []
    assert (out["plays"], out["scenes"]) == (4, 2)
    assert stash.count("PlexSyncSetRating") == 0


def test_other_accounts_plays_and_items_without_a_scene_are_ignored(
        fakes: tuple[FakeStash, FakePlex], tmp_path: Path) -> None:
    stash, plex = fakes
    ids, keys = synced(stash, plex, tmp_path)
    stranger = plex.add_item(1, "/media/not-in-stash.mp4")
    plex.play(keys[0], at=T0, account_id=2)   # a managed user's play
    plex.play(stranger, at=T0 + 60)           # the owner's play of an item no scene has

    out = import_state(stash, tmp_path)

    assert all(plays(stash, sid) == [] for sid in ids)
    assert out["plays"] == 0 and out["unmatched_plays"] == 1
    assert stash_writes(stash) == 0


def test_a_partly_watched_item_becomes_the_resume_point_and_finishing_clears_it(
        fakes: tuple[FakeStash, FakePlex], tmp_path: Path) -> None:
    stash, plex = fakes
    ids, keys = synced(stash, plex, tmp_path)
    plex.watch_partly(keys[0], 754_000, at=T0)

    out = import_state(stash, tmp_path)

    assert stash.scene(ids[0])["resume_time"] == 754.0
    assert out["resume_points"] == 1 and plays(stash, ids[0]) == []
    plex.play(keys[0], at=T0 + 600)           # watched to the end later

    out = import_state(stash, tmp_path)

    assert stash.scene(ids[0])["resume_time"] == 0.0
    assert plays(stash, ids[0]) == [iso(T0 + 600)]
    assert out["resume_points"] == 1


def test_a_rating_set_in_plex_after_the_sync_becomes_the_scene_rating(
        fakes: tuple[FakeStash, FakePlex], tmp_path: Path) -> None:
    stash, plex = fakes
    ids = library(stash, plex, 2)
    stash.update_scene(ids[0], rating100=60)   # PlexSync writes this one to Plex (6.0)
    assert run_plugin(stash.task_input({"mode": "sync_all"}), tmp_path).returncode == 0
    stash.plugin_config["PlexSync"].update(import_play_state=True, import_ratings=True)
    first = plex.find_by_file("/media/s0.mp4")
    second = plex.find_by_file("/media/s1.mp4")
    assert first is not None and second is not None and first.user_rating == 6.0
    plex.rate_as_user(second.rating_key, 9.0)   # on the couch, after the sync

    out = import_state(stash, tmp_path)

    assert stash.scene(ids[1])["rating100"] == 90
    assert stash.scene(ids[0])["rating100"] == 60   # PlexSync's own rating never comes back
    assert out["ratings"] == 1


def test_ratings_stay_in_plex_unless_import_ratings_is_on(
        fakes: tuple[FakeStash, FakePlex], tmp_path: Path) -> None:
    stash, plex = fakes
    ids, keys = synced(stash, plex, tmp_path)
    plex.rate_as_user(keys[0], 8.0)

    out = import_state(stash, tmp_path)

    assert stash.scene(ids[0])["rating100"] is None and out["ratings"] == 0


def test_a_second_run_changes_nothing_and_new_plays_after_it_arrive(
        fakes: tuple[FakeStash, FakePlex], tmp_path: Path) -> None:
    stash, plex = fakes
    ids, keys = synced(stash, plex, tmp_path, import_ratings=True)
    plex.play(keys[0], at=T0)
    plex.watch_partly(keys[1], 30_000, at=T0)
    plex.rate_as_user(keys[2], 7.0)
    import_state(stash, tmp_path)
    stash.clear_requests()

    again = import_state(stash, tmp_path)

    assert (again["plays"], again["resume_points"], again["ratings"]) == (0, 0, 0)
    assert stash_writes(stash) == 0
    assert plays(stash, ids[0]) == [iso(T0)]
    plex.play(keys[0], at=T0 + 86_400)

    later = import_state(stash, tmp_path)

    assert later["plays"] == 1
    assert plays(stash, ids[0]) == [iso(T0), iso(T0 + 86_400)]


def test_a_play_already_in_stash_at_the_same_second_is_not_added_again(
        fakes: tuple[FakeStash, FakePlex], tmp_path: Path) -> None:
    stash, plex = fakes
    ids, keys = synced(stash, plex, tmp_path)
    stash.execute("mutation($id: ID!, $t: [Timestamp!]) { sceneAddPlay(id: $id, times: $t) "
                  "{ count } }", {"id": str(ids[0]), "t": [iso(T0)]})
    plex.play(keys[0], at=T0)
    plex.play(keys[0], at=T0 + 5)

    out = import_state(stash, tmp_path)

    assert plays(stash, ids[0]) == [iso(T0), iso(T0 + 5)]
    assert out["plays"] == 1


def test_plex_going_down_mid_import_imports_nothing_and_loses_nothing(
        fakes: tuple[FakeStash, FakePlex], tmp_path: Path) -> None:
    stash, plex = fakes
    ids, keys = synced(stash, plex, tmp_path)
    plex.play(keys[0], at=T0)
    plex.watch_partly(keys[1], 90_000, at=T0)
    # the history answers, then the connection drops on the resume-point listing
    plex.hostile.add("reset", method="GET", path=r"/library/sections/\d+/all", times=3)

    run = run_plugin(stash.task_input({"mode": "import_play_state"}), tmp_path)

    assert plex.count("GET", "/status/sessions/history/all") >= 1
    assert run.answer.get("error") and "nothing was imported" in run.answer["error"]
    assert plays(stash, ids[0]) == [] and stash.scene(ids[1])["resume_time"] == 0.0
    assert stash_writes(stash) == 0
    plex.hostile.clear()

    out = import_state(stash, tmp_path)

    assert plays(stash, ids[0]) == [iso(T0)]
    assert stash.scene(ids[1])["resume_time"] == 90.0
    assert (out["plays"], out["resume_points"]) == (1, 1)


def test_the_hooks_the_import_causes_send_plex_no_write(
        fakes: tuple[FakeStash, FakePlex], tmp_path: Path) -> None:
    """Stash runs the plugin's Scene.Update.Post hook for the import's rating edit (its
    sceneAddPlay and sceneSaveActivity fire none); the sync that hook queues must find
    nothing to send: no value and no lock for a rating that came from Plex."""
    stash, plex = fakes
    ids, keys = synced(stash, plex, tmp_path, import_ratings=True)
    hooks: list[Run] = []
    stash.on_hook = lambda args: hooks.append(run_plugin(
        {"server_connection": stash.server_connection(), "args": args}, tmp_path))
    plex.rate_as_user(keys[0], 9.0)
    plex.play(keys[1], at=T0)
    plex.watch_partly(keys[2], 60_000, at=T0)
    plex.clear_requests()

    with PluginJobs(stash, tmp_path) as jobs:
        out = import_state(stash, tmp_path)
        assert jobs.wait_idle(120)

    assert (out["ratings"], out["plays"], out["resume_points"]) == (1, 1, 1)
    assert stash.scene(ids[0])["rating100"] == 90
    assert len(hooks) == 1 and all(h.returncode == 0 for h in hooks)
    drains = [r for r in jobs.runs if r.mode == "process_queue"]
    assert drains and all(r.returncode == 0 for r in drains), [r.answer for r in jobs.runs]
    assert plex.count("PUT") == 0 and plex.count("POST") == 0, [
        (r.method, r.path, r.query) for r in plex.requests if r.method != "GET"]
    assert plex.item(keys[0]).user_rating == 9.0 and "userRating" not in plex.item(
        keys[0]).locked


def test_any_task_runs_the_import_when_it_is_due_and_the_timer_is_armed_for_the_next(
        fakes: tuple[FakeStash, FakePlex], tmp_path: Path) -> None:
    stash, plex = fakes
    ids, keys = synced(stash, plex, tmp_path)
    plex.play(keys[0], at=T0)

    run = run_plugin(stash.task_input({"mode": "queue_status"}), tmp_path)

    assert run.answer["output"]["auto_import"]["plays"] == 1
    assert plays(stash, ids[0]) == [iso(T0)]
    again = run_plugin(stash.task_input({"mode": "queue_status"}), tmp_path)
    assert "auto_import" not in again.answer["output"]   # not due for 15 minutes


def test_status_and_health_check_show_the_last_import_and_the_next(
        fakes: tuple[FakeStash, FakePlex], tmp_path: Path) -> None:
    stash, plex = fakes
    _ids, keys = synced(stash, plex, tmp_path, import_ratings=True)
    plex.play(keys[0], at=T0)
    plex.watch_partly(keys[1], 10_000, at=T0)
    plex.rate_as_user(keys[2], 6.0)
    import_state(stash, tmp_path)

    status = run_plugin(stash.task_input({"mode": "queue_status"}), tmp_path)
    health = run_plugin(stash.task_input({"mode": "health_check"}), tmp_path)

    block = status.answer["output"]["play_import"]
    assert (block["plays"], block["resume_points"], block["ratings"]) == (1, 1, 1)
    assert block["last_run_at"] and block["next_run_at"] > block["last_run_at"]
    assert any(line.startswith("Last play-state import") for line in status.log_lines)
    check = next(c for c in health.answer["output"]["checks"] if c["name"] == "play_import")
    assert check["ok"] and check["play_import"] == block


def test_a_resume_point_set_in_stash_later_is_not_overwritten_by_an_unchanged_plex_one(
        fakes: tuple[FakeStash, FakePlex], tmp_path: Path) -> None:
    stash, plex = fakes
    ids, keys = synced(stash, plex, tmp_path)
    plex.watch_partly(keys[0], 120_000, at=T0)
    import_state(stash, tmp_path)
    stash.execute("mutation($id: ID!) { sceneSaveActivity(id: $id, resume_time: 500) }",
                  {"id": str(ids[0])})        # watched on in Stash's own player

    out = import_state(stash, tmp_path)

    assert stash.scene(ids[0])["resume_time"] == 500.0 and out["resume_points"] == 0
    plex.watch_partly(keys[0], 900_000, at=T0 + 60)   # then on in Plex again

    out = import_state(stash, tmp_path)

    assert stash.scene(ids[0])["resume_time"] == 900.0 and out["resume_points"] == 1


def test_a_rating_changed_in_stash_after_an_import_is_not_imported_again(
        fakes: tuple[FakeStash, FakePlex], tmp_path: Path) -> None:
    stash, plex = fakes
    ids, keys = synced(stash, plex, tmp_path, import_ratings=True, sync_rating=False)
    plex.rate_as_user(keys[0], 9.0)
    import_state(stash, tmp_path)
    assert stash.scene(ids[0])["rating100"] == 90
    stash.update_scene(ids[0], rating100=70)   # the user disagrees, in Stash

    out = import_state(stash, tmp_path)

    assert stash.scene(ids[0])["rating100"] == 70 and out["ratings"] == 0
    plex.rate_as_user(keys[0], 10.0, at=int(time.time()) + 5)   # rated again in Plex, later

    out = import_state(stash, tmp_path)

    assert stash.scene(ids[0])["rating100"] == 100 and out["ratings"] == 1


def test_stash_failing_halfway_loses_no_play_and_doubles_none(
        fakes: tuple[FakeStash, FakePlex], tmp_path: Path) -> None:
    stash, plex = fakes
    ids, keys = synced(stash, plex, tmp_path)
    plex.play(keys[0], at=T0)
    plex.play(keys[1], at=T0 + 60)
    real = stash._scene_add_play
    calls: list[str] = []

    def second_one_fails(info: Any, id: str, times: list[str] | None = None) -> Any:
        calls.append(id)
        if len(calls) == 2:
            raise ValueError("database is locked")
        return real(info, id, times)

    stash._scene_add_play = second_one_fails  # type: ignore[method-assign]
    run = run_plugin(stash.task_input({"mode": "import_play_state"}), tmp_path)
    stash._scene_add_play = real  # type: ignore[method-assign]

    assert run.answer.get("error") and "adds the rest, none twice" in run.answer["error"]
    assert plays(stash, ids[0]) == [iso(T0)] and plays(stash, ids[1]) == []

    out = import_state(stash, tmp_path)   # the marks did not move: the same plays again

    assert plays(stash, ids[0]) == [iso(T0)] and plays(stash, ids[1]) == [iso(T0 + 60)]
    assert out["plays"] == 1
