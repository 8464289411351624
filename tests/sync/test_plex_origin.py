"""A rating that came from Plex is left out of what the sync wants (sync/plex_origin.py)."""

from __future__ import annotations

from pathlib import Path

from plexsync.sync import plex_origin
from plexsync.sync.fields import Wanted

WANT = Wanted(scalars={"title": "T", "rating": 9.0})


def test_a_rating_still_equal_to_the_imported_one_is_left_out(tmp_path: Path) -> None:
    plex_origin.note(str(tmp_path), {7: 90})
    ratings = plex_origin.read(str(tmp_path))
    out = plex_origin.without_plex_rating(WANT, {"id": "7", "rating100": 90}, ratings)
    assert dict(out.scalars) == {"title": "T"}


def test_a_rating_changed_in_stash_since_the_import_syncs_as_usual(tmp_path: Path) -> None:
    plex_origin.note(str(tmp_path), {7: 90})
    ratings = plex_origin.read(str(tmp_path))
    assert plex_origin.without_plex_rating(WANT, {"id": "7", "rating100": 70}, ratings) is WANT
    assert plex_origin.without_plex_rating(WANT, {"id": "8", "rating100": 90}, ratings) is WANT


def test_notes_accumulate_and_a_missing_file_means_no_rating_came_from_plex(
        tmp_path: Path) -> None:
    assert plex_origin.read(str(tmp_path)) == {}
    plex_origin.note(str(tmp_path), {1: 10})
    plex_origin.note(str(tmp_path), {2: 20, 1: 30})
    assert plex_origin.read(str(tmp_path)) == {"1": 30, "2": 20}
