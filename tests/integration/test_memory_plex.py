"""The in-memory Plex (unit tests' `PlexPort`) answers as the loopback FakePlex does when read
through the real `PlexClient`: same items, same listings, same edits applied, same refusals."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from plexsync.core.settings import Settings
from plexsync.errors import PlexBadRequest, PlexNotFound
from plexsync.plex.client import PlexClient
from plexsync.sync.ports import PlexPort
from testkit.fake_plex import FakePlex
from testkit.memory_plex import MemoryPlex
from testkit.plex_state import PlexLibrary

JPEG = b"\xff\xd8\xff" + b"\x00" * 32


def populate(lib: PlexLibrary) -> None:
    lib.add_section(1, "Movies", ["/media/movies"])
    lib.add_section(2, "Shows", ["/media/shows"], type="show")
    lib.add_section(3, "Other", ["/media/other"])
    lib.add_item(1, "/media/movies/a.mp4", size=10, duration_ms=1000, rating_key=11,
                 summary="s", studio="Studio", originally_available_at="2020-01-02",
                 user_rating=7.5, tags={"genre": ["G1", "G2"], "actor": ["Ada"],
                                        "collection": ["C"]},
                 locked={"title", "originallyAvailableAt", "genre", "thumb"})
    lib.add_item(1, "/media/movies/b.mp4", rating_key=12,
                 files=[("/media/movies/b.mp4", 5, 500), ("/media/movies/b2.mp4", 6, 600)])
    lib.add_item(3, "/media/other/c.mp4", size=3, rating_key=13)
    lib.stage_item(3, "/media/other/new/d.mp4", size=4, rating_key=14)


@pytest.fixture
def both(tmp_path: Path) -> Iterator[tuple[PlexPort, PlexPort]]:
    memory = MemoryPlex()
    populate(memory)
    with FakePlex() as fake:
        populate(fake)
        settings = Settings.from_mapping({"plex_url": fake.url, "plex_token": fake.token})
        yield PlexClient(settings, str(tmp_path)), memory


def test_items_sections_and_listings_read_the_same(both: tuple[PlexPort, PlexPort]) -> None:
    client, memory = both
    for plex in both:
        plex.connect()
    assert client.configured_sections() == memory.configured_sections()
    for rk in (11, 12, 13):
        assert client.fetch_item(rk) == memory.fetch_item(rk)
    for section, start, size in ((1, 0, 10), (1, 1, 1), (3, 0, 5)):
        assert client.section_page(section, start, size) == memory.section_page(section, start,
                                                                                size)


def test_edits_and_uploads_leave_the_same_item(both: tuple[PlexPort, PlexPort]) -> None:
    params = {"title.value": "New", "summary.value": "", "originallyAvailableAt.value":
              "2021-03-04", "year.value": "2021", "userRating.value": "8.0",
              "genre[0].tag.tag": "G2", "genre[1].tag.tag": "G3", "genre[].tag.tag-": "G1",
              "actor[].tag.tag-": "Ada", "collection[0].tag.tag": "C",
              "collection[1].tag.tag": "D E", "studio.locked": "1", "art.locked": "1"}
    for plex in both:
        plex.edit(1, 11, params)
        plex.upload_image(11, "art", JPEG)
        plex.upload_image(12, "poster", JPEG)
    client, memory = both
    assert client.fetch_item(11) == memory.fetch_item(11)
    assert client.fetch_item(12) == memory.fetch_item(12)


def test_a_folder_scan_turns_staged_files_into_items_in_both(
        both: tuple[PlexPort, PlexPort]) -> None:
    for plex in both:
        plex.scan_folder(3, "/media/other/new")
    client, memory = both
    assert client.fetch_item(14) == memory.fetch_item(14)
    assert client.section_page(3, 0, 10) == memory.section_page(3, 0, 10)


@pytest.mark.plex_offspec("edits Plex rejects, sent on purpose: both fakes must refuse them")
@pytest.mark.parametrize(("call", "error"), [
    (lambda p: p.fetch_item(99), PlexNotFound),
    (lambda p: p.edit(1, 99, {"title.value": "x"}), PlexNotFound),
    (lambda p: p.edit(1, 13, {"title.value": "x"}), PlexNotFound),     # item of another section
    (lambda p: p.edit(1, 11, {"bogus.value": "x"}), PlexBadRequest),
    (lambda p: p.edit(1, 11, {"title.value": ""}), PlexBadRequest),
    (lambda p: p.edit(1, 11, {"genre[].tag.tag": "x"}), PlexBadRequest),
    (lambda p: p.upload_image(99, "poster", JPEG), PlexNotFound),
])
def test_both_refuse_what_plex_refuses_with_the_same_class(
        both: tuple[PlexPort, PlexPort], call: Callable[[PlexPort], object],
        error: type[Exception]) -> None:
    for plex in both:
        with pytest.raises(error):
            call(plex)
