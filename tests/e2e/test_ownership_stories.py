"""Issue 21's stories, end to end: Plex keeps what the user has (docs/design.md#ownership).

plexsync.py runs as a subprocess exactly as Stash runs it (hooks, then the Process Queue task
they schedule), against the loopback fakes. Each test tells one story of the issue.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from testkit.fake_plex import FakePlex
from testkit.fake_stash import FakeStash
from testkit.plex_client import connect
from tests.e2e.conftest import library, run_plugin
from tests.e2e.test_sync_world import drain_scheduled


def save(stash: FakeStash, data_dir: Path, scene_id: int, done: int,
         **changes: object) -> int:
    """The user saves the scene in Stash's edit form (which names every field), then Stash
    runs the Process Queue task the hook scheduled. Returns the task runs played so far."""
    if changes:
        stash.update_scene(scene_id, **changes)
    names = ["id", "title", "details", "date", "studio_id", "performer_ids", "tag_ids",
             "rating100", "director"]
    scene = stash.scene(scene_id)
    values = {"id": str(scene_id), "title": scene["title"] or "", "details": scene["details"] or "",
              "date": scene["date"], "rating100": scene["rating100"],
              "studio_id": (scene["studio"] or {}).get("id"),
              "performer_ids": [p["id"] for p in scene["performers"]],
              "tag_ids": [t["id"] for t in scene["tags"]], "director": scene["director"] or ""}
    result = run_plugin(stash.hook_input(scene_id, input=values, input_fields=names), data_dir)
    assert result.returncode == 0 and result.answer["error"] is None, result.answer
    return drain_scheduled(stash, data_dir, done)


def rating_key(plex: FakePlex, path: str) -> int:
    item = plex.find_by_file(path)
    assert item is not None
    return item.rating_key


def test_a_value_typed_in_plex_survives_a_clear_in_stash(
    fakes: tuple[FakeStash, FakePlex], tmp_path: Path
) -> None:
    """Story 2: PlexSync pushes a summary and a studio; the user types their own in Plex;
    later they empty details and studio in Stash. Plex keeps the user's text."""
    stash, plex = fakes
    data_dir = tmp_path / "data"
    [sid] = library(stash, plex, 1, wake_timer=False)
    studio = stash.add_studio("Pushed Studio")
    done = save(stash, data_dir, sid, 0, studio_id=studio)
    rk = rating_key(plex, "/media/s0.mp4")
    assert (plex.item(rk).summary, plex.item(rk).studio) == ("About it", "Pushed Studio")

    video = connect(plex.url, plex.token).fetchItem(rk)
    video.editSummary("My own words")
    video.editStudio("My studio")

    save(stash, data_dir, sid, done, details="", studio_id=None)

    item = plex.item(rk)
    assert item.summary == "My own words"
    assert item.studio == "My studio"
    assert item.title == "Scene 0"


def test_a_clear_in_stash_still_empties_what_plexsync_wrote(
    fakes: tuple[FakeStash, FakePlex], tmp_path: Path
) -> None:
    """Story 2's other half: a value Plex still holds exactly as PlexSync wrote it is
    PlexSync's, so clearing it in Stash clears it in Plex."""
    stash, plex = fakes
    data_dir = tmp_path / "data"
    [sid] = library(stash, plex, 1, wake_timer=False)
    done = save(stash, data_dir, sid, 0, date="2020-02-03")
    rk = rating_key(plex, "/media/s0.mp4")
    assert plex.item(rk).originally_available_at == "2020-02-03"

    save(stash, data_dir, sid, done, details="", date=None)

    item = plex.item(rk)
    assert (item.summary or "", item.originally_available_at) == ("", None)


def test_preserve_plex_edits_keeps_only_what_someone_else_put_in_plex(
    fakes: tuple[FakeStash, FakePlex], tmp_path: Path
) -> None:
    """Story 7: with "Preserve Plex edits" on, the scanner's title (the file name) is not a
    user edit; PlexSync's own earlier values are not either; a summary typed in Plex is."""
    stash, plex = fakes
    data_dir = tmp_path / "data"
    [sid] = library(stash, plex, 1, wake_timer=False, preserve_plex_edits=True)
    rk = rating_key(plex, "/media/s0.mp4")
    assert plex.item(rk).title == "s0"                       # the scanner's default
    tag = stash.add_tag("First tag")

    done = save(stash, data_dir, sid, 0, tag_ids=[tag])
    item = plex.item(rk)
    assert (item.title, item.summary, item.tags["genre"]) == ("Scene 0", "About it",
                                                              ["First tag"])

    other = stash.add_tag("Second tag")
    done = save(stash, data_dir, sid, done, details="Edited in Stash", tag_ids=[other])
    item = plex.item(rk)
    assert (item.summary, item.tags["genre"]) == ("Edited in Stash", ["Second tag"])

    connect(plex.url, plex.token).fetchItem(rk).editSummary("Typed in Plex")
    save(stash, data_dir, sid, done, details="Edited again", title="Renamed")
    item = plex.item(rk)
    assert (item.title, item.summary) == ("Renamed", "Typed in Plex")


def settings_change(stash: FakeStash, **changes: object) -> None:
    stash.plugin_config["PlexSync"] = {**stash.plugin_config["PlexSync"], **changes}


def test_switched_settings_leave_no_stale_values_but_keep_the_user_s(
    fakes: tuple[FakeStash, FakePlex], tmp_path: Path
) -> None:
    """Story 6: after "Tags as" goes from genres to labels, the genres PlexSync wrote go (a
    genre the user added in Plex stays); details cleared while "Sync summary" was off leave no
    old summary once it is back on."""
    stash, plex = fakes
    data_dir = tmp_path / "data"
    [sid, other] = library(stash, plex, 2, wake_timer=False)
    tag = stash.add_tag("Drama")
    done = save(stash, data_dir, sid, 0, tag_ids=[tag])
    done = save(stash, data_dir, other, done, tag_ids=[tag])
    rk, rk_other = rating_key(plex, "/media/s0.mp4"), rating_key(plex, "/media/s1.mp4")
    assert plex.item(rk).tags["genre"] == ["Drama"]
    connect(plex.url, plex.token).fetchItem(rk_other).addGenre("Typed in Plex")

    settings_change(stash, tags_as="labels")
    done = save(stash, data_dir, sid, done, tag_ids=[])
    done = save(stash, data_dir, other, done)

    assert (plex.item(rk).tags["genre"], plex.item(rk).tags["label"]) == ([], [])
    item = plex.item(rk_other)
    assert (item.tags["genre"], item.tags["label"]) == (["Typed in Plex"], ["Drama"])

    settings_change(stash, sync_summary=False)
    done = save(stash, data_dir, sid, done, details="")
    settings_change(stash, sync_summary=True)
    save(stash, data_dir, sid, done)
    assert (plex.item(rk).summary or "") == ""


def test_a_scene_re_created_for_the_same_file_keeps_everything_in_plex(
    fakes: tuple[FakeStash, FakePlex], tmp_path: Path
) -> None:
    """Story 1: Clean deletes a scene whose drive was offline; the next Scan creates a new
    scene for the same file. Its first edit (the title back) must not undo the old scene's
    values: Plex may hold the only copy left."""
    stash, plex = fakes
    data_dir = tmp_path / "data"
    [old] = library(stash, plex, 1, wake_timer=False)
    done = save(stash, data_dir, old, 0, date="2019-05-06", rating100=80,
                studio_id=stash.add_studio("Studio"),
                performer_ids=[stash.add_performer("Ann")], tag_ids=[stash.add_tag("Drama")],
                group_ids=[stash.add_group("Series")])
    rk = rating_key(plex, "/media/s0.mp4")
    before = plex.item(rk)
    assert before.summary == "About it" and before.tags["collection"]

    new = stash.clean_and_scan(old)
    # the deleted scene's job (as a destroy hook queues it): no Plex write, the record stays
    plex.clear_requests()
    gone = run_plugin(stash.hook_input(old), data_dir)
    assert gone.returncode == 0 and gone.answer["error"] is None, gone.answer
    runs, done = done, drain_scheduled(stash, data_dir, done)
    assert done > runs and plex.count("PUT") == plex.count("POST") == 0
    db = sqlite3.connect(data_dir / "plexsync.db")
    assert db.execute("SELECT rating_key FROM sync_records WHERE scene_id = ?",
                      (old,)).fetchall() == [(rk,)]
    db.close()

    save(stash, data_dir, new, done, title="Scene 0, re-titled")

    after = plex.item(rk)
    assert after.title == "Scene 0, re-titled"
    assert (after.summary, after.originally_available_at, after.user_rating, after.studio) == (
        "About it", "2019-05-06", 8.0, "Studio")
    assert (after.tags["actor"], after.tags["genre"]) == (["Ann"], ["Drama"])
    assert sorted(after.tags["collection"]) == sorted(before.tags["collection"])


def test_items_plex_re_added_under_new_rating_keys_are_filled_again_by_sync_all(
    fakes: tuple[FakeStash, FakePlex], tmp_path: Path
) -> None:
    """Story 3: Plex re-adds the same files as new items (trash emptied while a drive was
    offline). Sync All must not call them "unchanged": the listing it reads shows the scene's
    file under another ratingKey, so the record moves there and the new item is filled."""
    stash, plex = fakes
    data_dir = tmp_path / "data"
    ids = library(stash, plex, 3, wake_timer=False, queue_timeout=60)
    done = 0
    for sid in ids:
        done = save(stash, data_dir, sid, done)
    old_keys = [rating_key(plex, f"/media/s{i}.mp4") for i in range(3)]
    new_keys = [plex.readd_item(rk) for rk in old_keys]
    assert [plex.item(rk).title for rk in new_keys] == ["s0", "s1", "s2"]

    assert run_plugin(stash.task_input({"mode": "sync_all"}), data_dir).returncode == 0
    drain_scheduled(stash, data_dir, done)

    for i, rk in enumerate(new_keys):
        item = plex.item(rk)
        assert (item.title, item.summary) == (f"Scene {i}", "About it")
        assert item.poster == stash.screenshot_bytes(ids[i])


def test_a_file_split_off_to_a_new_scene_hands_its_item_over_clean(
    fakes: tuple[FakeStash, FakePlex], tmp_path: Path
) -> None:
    """Story 5: a scene with two files is split in Stash (its first file goes to a new scene
    with only a title). The old scene moves to its other file's item; the first item takes the
    new scene's values and keeps none of the old scene's (a value typed in Plex stays)."""
    stash, plex = fakes
    data_dir = tmp_path / "data"
    plex.add_section(1, "Movies", ["/media"])
    first = plex.add_item(1, "/media/a1.mp4", size=101)
    second = plex.add_item(1, "/media/a2.mp4", size=102)
    old = stash.add_scene(title="Old scene", details="Old details", date="2018-01-02",
                          rating100=60, studio_id=stash.add_studio("Old studio"),
                          performer_ids=[stash.add_performer("Bea")],
                          tag_ids=[stash.add_tag("Old tag")],
                          files=[{"path": "/data/a1.mp4", "size": 101},
                                 {"path": "/data/a2.mp4", "size": 102}])
    stash.plugin_config["PlexSync"] = {"plex_url": plex.url, "plex_token": plex.token,
                                       "path_map": "/data=/media", "wake_timer": False}
    done = save(stash, data_dir, old, 0)
    assert plex.item(first).summary == "Old details"
    connect(plex.url, plex.token).fetchItem(first).editTagline("typed in Plex")

    stash.update_scene(old, files=[{"path": "/data/a2.mp4", "size": 102}])
    new = stash.add_scene(title="New scene", files=[{"path": "/data/a1.mp4", "size": 101}])
    assert run_plugin(stash.task_input({"mode": "sync_all"}), data_dir).returncode == 0
    drain_scheduled(stash, data_dir, done)

    item = plex.item(first)
    assert item.title == "New scene" and new
    assert (item.summary or "", item.originally_available_at, item.user_rating,
            item.studio) == ("", None, None, None)
    assert (item.tags["actor"], item.tags["genre"], item.tags["collection"]) == ([], [], [])
    assert item.tagline == "typed in Plex"
    moved = plex.item(second)
    assert (moved.title, moved.summary, moved.studio) == ("Old scene", "Old details",
                                                          "Old studio")


def reconcile_all(stash: FakeStash, data_dir: Path) -> dict[str, object]:
    result = run_plugin(stash.task_input({"mode": "reconcile_all"}), data_dir)
    assert result.returncode == 0 and result.answer["error"] is None, result.answer
    out: dict[str, object] = result.answer["output"]
    return out


def test_a_scene_without_a_real_cover_is_no_gap_run_after_run(
    fakes: tuple[FakeStash, FakePlex], tmp_path: Path
) -> None:
    """Story 8: scenes without a cover (Stash serves its placeholder SVG) are synced without
    a poster; Reconcile All must not call them "empty" on every run, nor download again."""
    stash, plex = fakes
    data_dir = tmp_path / "data"
    ids = library(stash, plex, 3, wake_timer=False)
    for sid in ids:
        stash.remove_screenshot(sid)
    done = 0
    for sid in ids:
        done = save(stash, data_dir, sid, done)
    assert all(plex.item(rating_key(plex, f"/media/s{i}.mp4")).poster is None
               for i in range(3))

    stash.clear_requests()
    plex.clear_requests()
    first = reconcile_all(stash, data_dir)
    second = reconcile_all(stash, data_dir)

    for out in (first, second):
        assert out["gaps_by_type"] == {"stale": 0, "empty": 0, "missing": 0}, out
    assert not [r for r in stash.http_requests if "/screenshot" in r.path]
    assert plex.count("GET", "/library/metadata/") == 0


def test_after_split_apart_recover_syncs_the_conflicted_scene_to_its_own_item(
    fakes: tuple[FakeStash, FakePlex], tmp_path: Path
) -> None:
    """Story 4: two scenes' files in one Plex item go to Conflict. The user follows the
    message: Split Apart in Plex, then Recover DLQ Jobs. The scene is synced to its own item
    at once (no false Conflict, no Clear Match Cache needed); the other item is untouched."""
    stash, plex = fakes
    data_dir = tmp_path / "data"
    plex.add_section(1, "Movies", ["/media"])
    merged = plex.add_item(1, "/media/x.mp4", files=[("/media/x.mp4", 10, 0),
                                                     ("/media/y.mp4", 20, 0)])
    x = stash.add_scene(title="X", details="About X", files=[{"path": "/data/x.mp4", "size": 10}])
    y = stash.add_scene(title="Y", details="About Y", files=[{"path": "/data/y.mp4", "size": 20}])
    stash.plugin_config["PlexSync"] = {"plex_url": plex.url, "plex_token": plex.token,
                                       "path_map": "/data=/media", "wake_timer": False}
    done = save(stash, data_dir, x, 0)
    save(stash, data_dir, y, done)
    dead = run_plugin(stash.task_input({"mode": "queue_status"}), data_dir).answer["output"]
    assert dead["dlq_by_error"] == {"Conflict": 1}
    assert plex.item(merged).title == "X"

    own = plex.split_apart(merged, "/media/y.mp4")
    after = run_plugin(stash.task_input({"mode": "recover_dlq", "error_types": "Conflict"}),
                       data_dir).answer["output"]

    assert after["requeued"] == 1 and after["drain"]["synced"] == 1, after
    assert (plex.item(own).title, plex.item(own).summary) == ("Y", "About Y")
    assert (plex.item(merged).title, plex.item(merged).summary) == ("X", "About X")
    final = run_plugin(stash.task_input({"mode": "queue_status"}), data_dir).answer["output"]
    assert final["dlq"] == 0


def test_an_edit_never_lands_on_an_item_that_no_longer_holds_the_scene_s_file(
    fakes: tuple[FakeStash, FakePlex], tmp_path: Path
) -> None:
    """Story 4, second case: the scene's file is split apart from a Plex-only home video it
    was merged with. The next edit goes to the scene's own new item, never to the item that
    now holds only the home video."""
    stash, plex = fakes
    data_dir = tmp_path / "data"
    plex.add_section(1, "Movies", ["/media"])
    home = plex.add_item(1, "/media/home.mp4", files=[("/media/home.mp4", 5, 0),
                                                      ("/media/z.mp4", 30, 0)])
    z = stash.add_scene(title="Z", details="About Z",
                        files=[{"path": "/data/z.mp4", "size": 30}])
    stash.plugin_config["PlexSync"] = {"plex_url": plex.url, "plex_token": plex.token,
                                       "path_map": "/data=/media", "wake_timer": False}
    done = save(stash, data_dir, z, 0)
    assert plex.item(home).title == "Z"

    own = plex.split_apart(home, "/media/z.mp4")
    save(stash, data_dir, z, done, title="Z edited")

    assert plex.item(own).title == "Z edited"
    assert plex.item(home).title == "Z"        # what the first sync wrote; nothing new
