"""Ownership by value (sync/owned.py): whose is the value a Plex field holds."""

from __future__ import annotations

from plexsync.plex.model import PlexItem
from plexsync.sync.owned import LEGACY, Owned, canonical, digest, names, scanner_default

ITEM = PlexItem(1, 1, files=("/media/My_Movie.2020.mp4",))


def test_values_compare_as_plex_compares_them() -> None:
    assert digest(("B", "a")) == digest(("A", "b"))        # tags: case and order
    assert digest(7.0) == digest(7.04)                      # ratings: one decimal
    assert digest("Text") != digest("text")                 # text: exactly
    assert digest("") == digest(None) == digest(()) == ""   # nobody owns an empty field
    assert names(canonical(("Drama", "Été"))) == {"drama", "été"}


def test_the_scanner_s_title_from_the_file_name_is_a_plex_default() -> None:
    assert scanner_default(ITEM, "title", "My_Movie.2020")
    assert scanner_default(ITEM, "title", "my movie 2020")
    assert not scanner_default(ITEM, "title", "My Movie")
    assert not scanner_default(ITEM, "summary", "My_Movie.2020")


def test_a_value_is_plexsync_s_only_while_plex_holds_exactly_what_it_wrote() -> None:
    owned = Owned({"summary": digest("Ours"), "studio": LEGACY})
    assert owned.mine("summary", "Ours") and not owned.mine("summary", "Typed")
    assert owned.mine("studio", "anything")                          # by name (pre-V5)
    assert not owned.mine("studio", "anything", by_name=False)
    # a clear keeps the user's value; preserve keeps it against a new value too
    assert owned.keeps(ITEM, "summary", "Typed", None, preserve=False)
    assert not owned.keeps(ITEM, "summary", "Typed", "New", preserve=False)
    assert owned.keeps(ITEM, "summary", "Typed", "New", preserve=True)
    assert not owned.keeps(ITEM, "summary", "Ours", "New", preserve=True)
    assert not owned.keeps(ITEM, "title", "My_Movie.2020", "Nice", preserve=True)
    assert owned.keeps(ITEM, "studio", "Agent's", "New", preserve=True)  # by name: kept
