"""Posters owned by value, end to end (docs/design.md#ownership): the poster Plex shows is
PlexSync's only while it is the one PlexSync uploaded; Plex's generated thumbnail is nobody's.

plexsync.py runs as a subprocess exactly as Stash runs it, against the loopback fakes; the user
acts in Plex through plexapi (as Plex Web does: upload, or pick a poster from the list).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from testkit.fake_plex import FakePlex
from testkit.fake_stash import FakeStash
from testkit.plex_client import connect
from tests.e2e.conftest import library
from tests.e2e.test_ownership_stories import rating_key, save

MINE = b"\xff\xd8\xff\xe0 the poster the user chose \xff\xd9"


def new_cover(stash: FakeStash, scene_id: int, version: int) -> bytes:
    """The user sets another cover on the scene in Stash; returns its bytes."""
    data = b"\xff\xd8\xff\xe0 cover %d of scene %d \xff\xd9" % (version, scene_id)
    stash.set_screenshot(scene_id, data)
    return data


def user_picks(plex: FakePlex, rk: int, how: str, tmp_path: Path) -> bytes:
    """In Plex, the user uploads their own poster, or selects one of the item's earlier ones
    (the first in the list that is not shown now). Returns the poster Plex shows then."""
    video = connect(plex.url, plex.token).fetchItem(rk)
    if how == "uploads":
        image = tmp_path / "mine.jpg"
        image.write_bytes(MINE)
        video.uploadPoster(filepath=str(image))
    else:
        earlier = next(p for p in video.posters() if not p.selected)
        video.setPoster(earlier)
    shown = plex.item(rk).poster
    assert shown is not None
    return shown


def test_an_item_showing_only_plex_s_generated_thumbnail_gets_the_cover_under_preserve(
    fakes: tuple[FakeStash, FakePlex], tmp_path: Path
) -> None:
    """Plex shows the thumbnail it extracted from the video (a `thumb`, no poster selected).
    That is nobody's edit: even with "Preserve Plex edits" on, the Stash cover replaces it."""
    stash, plex = fakes
    data_dir = tmp_path / "data"
    [sid] = library(stash, plex, 1, wake_timer=False, preserve_plex_edits=True)
    rk = rating_key(plex, "/media/s0.mp4")
    video = connect(plex.url, plex.token).fetchItem(rk)
    assert video.thumb and plex.item(rk).poster is None      # the generated thumbnail

    save(stash, data_dir, sid, 0)

    assert plex.item(rk).poster == stash.screenshot_bytes(sid)


@pytest.mark.parametrize("how", ["selects", "uploads"])
def test_with_preserve_a_poster_the_user_picked_in_plex_stays_when_the_cover_changes(
    fakes: tuple[FakeStash, FakePlex], tmp_path: Path, how: str
) -> None:
    """PlexSync uploads the cover, and a new cover replaces its own poster; then the user picks
    another poster in Plex. With "Preserve Plex edits" on, the next cover leaves it alone."""
    stash, plex = fakes
    data_dir = tmp_path / "data"
    [sid] = library(stash, plex, 1, wake_timer=False, preserve_plex_edits=True)
    rk = rating_key(plex, "/media/s0.mp4")
    done = save(stash, data_dir, sid, 0)
    second = new_cover(stash, sid, 2)
    done = save(stash, data_dir, sid, done)
    assert plex.item(rk).poster == second                    # PlexSync's own gave way

    chosen = user_picks(plex, rk, how, tmp_path)
    assert chosen != second

    new_cover(stash, sid, 3)
    done = save(stash, data_dir, sid, done, details="Edited in Stash")

    item = plex.item(rk)
    assert item.summary == "Edited in Stash"                 # the scene did sync
    assert item.poster == chosen

    plex.clear_requests()   # a later field edit does not ask about the poster again
    save(stash, data_dir, sid, done, details="Edited once more")
    assert plex.item(rk).summary == "Edited once more"
    assert (plex.item(rk).poster, plex.count("GET", f"/library/metadata/{rk}/posters")) == (
        chosen, 0)


def test_without_preserve_a_new_cover_replaces_the_poster_the_user_picked(
    fakes: tuple[FakeStash, FakePlex], tmp_path: Path
) -> None:
    """The same story with "Preserve Plex edits" off: the user's poster is theirs, but a new
    Stash cover replaces it, as a new Stash value replaces a field they typed."""
    stash, plex = fakes
    data_dir = tmp_path / "data"
    [sid] = library(stash, plex, 1, wake_timer=False)
    rk = rating_key(plex, "/media/s0.mp4")
    done = save(stash, data_dir, sid, 0)
    user_picks(plex, rk, "uploads", tmp_path)

    third = new_cover(stash, sid, 3)
    save(stash, data_dir, sid, done)

    assert plex.item(rk).poster == third
