"""The fake Plex, driven through the real plexapi client (state is read from the fake directly)."""

from __future__ import annotations

import math
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from plexapi.exceptions import BadRequest, NotFound, Unauthorized

from testkit.fake_plex import FakePlex
from testkit.plex_client import PlexClient, connect

MOVIES = "/data/movies"


@pytest.fixture
def fake() -> Iterator[FakePlex]:
    with FakePlex() as server:
        server.add_section(1, "Movies", [MOVIES])
        server.add_section(2, "Other", ["/data/other"])
        yield server


@pytest.fixture
def plex(fake: FakePlex) -> PlexClient:
    return connect(fake.url, fake.token)


def _movie(fake: FakePlex, name: str = "scene", **fields: Any) -> int:
    return fake.add_item(1, f"{MOVIES}/{name}.mp4", size=1234, duration_ms=60_000, **fields)


def _xml(plex: PlexClient, key: str) -> ET.Element:
    """``plex.query(key)`` for a route the fake answers with an XML body."""
    data = plex.query(key)
    assert data is not None, f"empty answer to GET {key}"
    return data


# --------------------------------------------------------------------------- connecting
def test_connecting_sends_one_root_get_and_reads_identity(fake: FakePlex) -> None:
    plex = connect(fake.url, fake.token)

    assert [(r.method, r.path) for r in fake.requests] == [("GET", "/")]
    assert fake.requests[0].headers["X-Plex-Token"] == fake.token
    assert plex.machineIdentifier and plex.version
    identity = plex.identity()
    assert identity.machineIdentifier == plex.machineIdentifier
    assert identity.claimed is True


def test_sections_carry_type_title_agent_and_location_paths(plex: PlexClient) -> None:
    movies = plex.library.sectionByID(1)

    assert movies.type == "movie"
    assert movies.title == "Movies"
    assert movies.locations == [MOVIES]
    assert movies.agent and movies.scanner and movies.uuid
    assert plex.library.section("Other").key == 2


def test_a_wrong_token_raises_unauthorized_with_an_html_body(fake: FakePlex) -> None:
    with pytest.raises(Unauthorized, match="401"):
        connect(fake.url, "wrong-token")

    assert fake.requests[-1].status == 401


def test_the_token_is_also_accepted_as_a_query_parameter(fake: FakePlex) -> None:
    plex = connect(fake.url, fake.token)
    plex._session.headers.clear()
    plex._token = None

    data = _xml(plex, f"/identity?X-Plex-Token={fake.token}")

    assert data.attrib["machineIdentifier"] == plex.machineIdentifier
    assert "X-Plex-Token" not in fake.requests[-1].headers


# --------------------------------------------------------------------------- listing
def test_section_listing_pages_through_plexapi_in_ceil_n_over_page_size_requests(
    fake: FakePlex, plex: PlexClient,
) -> None:
    for i in range(250):
        _movie(fake, f"scene{i:03d}")
    section = plex.library.sectionByID(1)
    fake.clear_requests()

    items = section.all()

    lists = [r for r in fake.requests if r.path == "/library/sections/1/all"]
    assert len(lists) == math.ceil(250 / 100) == len(fake.requests)
    assert [r.headers["X-Plex-Container-Start"] for r in lists] == ["0", "100", "200"]
    assert {r.query["type"] for r in lists} == {"1"}
    assert len(items) == 250
    assert len({item.ratingKey for item in items}) == 250
    assert {loc for item in items for loc in item.locations} == {
        f"{MOVIES}/scene{i:03d}.mp4" for i in range(250)}


def test_list_views_truncate_tags_while_fetch_item_returns_the_full_lists(
    fake: FakePlex, plex: PlexClient,
) -> None:
    actors = [f"Actor {i}" for i in range(6)]
    rk = _movie(fake, tags={"actor": actors, "genre": ["A", "B", "C", "D"]})

    listed = plex.library.sectionByID(1).all()[0]
    full = plex.fetchItem(rk)

    assert [a.tag for a in listed.actors] == actors[:3]
    assert [g.tag for g in listed.genres] == ["A", "B", "C"]
    assert [a.tag for a in full.actors] == actors
    assert [g.tag for g in full.genres] == ["A", "B", "C", "D"]
    assert full.librarySectionID == 1


def test_list_items_carry_media_parts_and_library_section_id(
    fake: FakePlex, plex: PlexClient,
) -> None:
    fake.add_item(1, f"{MOVIES}/a.mkv", files=[(f"{MOVIES}/a.mkv", 10, 1000),
                                               (f"{MOVIES}/a-4k.mkv", 40, 1001)],
                  title="Alpha", summary="S", studio="Studio", originally_available_at="2021-02-03",
                  user_rating=7.5)

    (item,) = plex.library.sectionByID(1).all()

    assert item.locations == [f"{MOVIES}/a.mkv", f"{MOVIES}/a-4k.mkv"]
    assert [(p.size, p.duration) for p in item.iterParts()] == [(10, 1000), (40, 1001)]
    assert (item.title, item.summary, item.studio, item.year) == ("Alpha", "S", "Studio", 2021)
    assert item.userRating == 7.5
    assert item.librarySectionID == 1
    assert item.isPartialObject()


def test_paging_also_reads_query_parameters_and_reports_total_size(
    fake: FakePlex, plex: PlexClient,
) -> None:
    for name in "edcba":
        _movie(fake, name)

    data = _xml(plex, "/library/sections/1/all?X-Plex-Container-Start=1&X-Plex-Container-Size=2")

    assert (data.attrib["size"], data.attrib["totalSize"], data.attrib["offset"]) == ("2", "5", "1")
    assert data.attrib["librarySectionID"] == "1"
    assert [v.attrib["title"] for v in data] == ["b", "c"]  # default order is titleSort


def test_a_listing_without_a_size_returns_page_size_default_items() -> None:
    with FakePlex(page_size_default=2) as small:
        small.add_section(1, "Movies", [MOVIES])
        for name in "abc":
            small.add_item(1, f"{MOVIES}/{name}.mp4")
        client = connect(small.url, small.token)

        data = _xml(client, "/library/sections/1/all")
        everything = client.library.sectionByID(1).all()

    assert (data.attrib["size"], data.attrib["totalSize"]) == ("2", "3")
    assert len(everything) == 3


def test_library_all_and_title_search_filter_on_the_server(
    fake: FakePlex, plex: PlexClient,
) -> None:
    _movie(fake, "Blue Moon")
    _movie(fake, "red sun")
    fake.add_item(2, "/data/other/blue.mp4")

    found = plex.library.sectionByID(1).search(title="MOON")

    assert [i.title for i in found] == ["Blue Moon"]
    assert fake.requests[-1].query["title"] == "MOON"
    assert len(plex.library.search(libtype="movie")) == 3


def test_unknown_metadata_and_unknown_routes_are_not_found(plex: PlexClient) -> None:
    with pytest.raises(NotFound):
        plex.fetchItem(999)
    with pytest.raises(NotFound):
        plex.query("/no/such/route")
    with pytest.raises(NotFound):
        plex.query("/library/sections/9/all")


# --------------------------------------------------------------------------- edits
def test_batch_edits_send_exactly_one_put_that_sets_fields_tags_and_locks(
    fake: FakePlex, plex: PlexClient,
) -> None:
    rk = _movie(fake, tags={"genre": ["Drama", "Old"], "label": ["keep"]})
    item = plex.fetchItem(rk)
    item.reload()  # full object: editTags reads existing tags without another GET
    plex.library.sectionByID(1)  # plexapi caches the section lookup that _edit needs
    fake.clear_requests()

    item.batchEdits()
    item.editTitle("New Title").editSummary("A summary\nwith two lines")
    item.editTags("actor", ["Alice", "Bob"]).addGenre(["Sci-Fi"]).removeGenre(["Old"])
    item.addCollection(["Coll A"]).addLabel(["lab"]).lockPoster()
    item.saveEdits()

    assert [(r.method, r.path, r.status) for r in fake.requests] == [
        ("PUT", "/library/sections/1/all", 200)]
    state = fake.item(rk)
    assert state.title == "New Title"
    assert state.summary == "A summary\nwith two lines"
    assert state.tags["actor"] == ["Alice", "Bob"]
    assert state.tags["genre"] == ["Drama", "Sci-Fi"]  # adds applied, then removes
    assert state.tags["collection"] == ["Coll A"]
    assert state.tags["label"] == ["keep", "lab"]
    assert {"title", "summary", "actor", "genre", "collection", "label", "thumb"} <= state.locked

    reloaded = plex.fetchItem(rk)
    assert reloaded.isLocked("title") and reloaded.isLocked("thumb")
    assert not reloaded.isLocked("studio")
    assert reloaded.summary == "A summary\nwith two lines"
    assert [r.tag for r in reloaded.roles] == ["Alice", "Bob"]


def test_an_indexed_tag_list_replaces_the_items_tags_of_that_kind(
    fake: FakePlex, plex: PlexClient,
) -> None:
    rk = _movie(fake, tags={"genre": ["Old 1", "Old 2"], "director": ["D"]})
    item = plex.fetchItem(rk)

    item.edit(**{"genre[0].tag.tag": "New", "genre.locked": 1})

    state = fake.item(rk)
    assert state.tags["genre"] == ["New"]
    assert state.tags["director"] == ["D"]


def test_removing_tags_decodes_each_quoted_comma_joined_value(
    fake: FakePlex, plex: PlexClient,
) -> None:
    rk = _movie(fake, tags={"label": ["a,b", "c & d", "e+f", "keep"]})

    plex.fetchItem(rk).removeLabel(["a,b", "c & d", "e+f"], locked=False)

    state = fake.item(rk)
    assert state.tags["label"] == ["keep"]
    assert "label" not in state.locked


def test_field_edits_unlock_clear_and_leave_the_year_to_its_own_field(
    fake: FakePlex, plex: PlexClient,
) -> None:
    rk = _movie(fake, studio="Old Studio", locked={"studio"})
    item = plex.fetchItem(rk)

    item.batchEdits()
    item.editStudio(None, locked=False).editOriginallyAvailable("2019-12-31")
    item.editSortTitle("Sort Me").editTagline("Tag").editContentRating("R")
    item.saveEdits()

    state = fake.item(rk)
    assert state.studio is None
    assert "studio" not in state.locked
    assert (state.originally_available_at, state.year) == ("2019-12-31", None)
    item.editField("year", 2019)
    assert fake.item(rk).year == 2019
    assert (state.title_sort, state.tagline, state.content_rating) == ("Sort Me", "Tag", "R")


def test_every_edit_bumps_updated_at(fake: FakePlex, plex: PlexClient) -> None:
    rk = _movie(fake)
    item = plex.fetchItem(rk)
    before = fake.item(rk).updated_at

    item.editTitle("One")
    item.editTitle("Two")

    assert fake.item(rk).updated_at >= before + 2


def test_a_role_name_sent_as_tagging_text_is_kept_with_the_actor(
    fake: FakePlex, plex: PlexClient,
) -> None:
    rk = _movie(fake)

    plex.fetchItem(rk).edit(**{"actor[0].tag.tag": "Alice", "actor[0].tagging.text": "Hero"})

    assert fake.item(rk).roles == {"Alice": "Hero"}
    assert [(r.tag, r.role) for r in plex.fetchItem(rk).roles] == [("Alice", "Hero")]


def test_an_unknown_edit_key_is_rejected_with_400_and_nothing_changes(
    fake: FakePlex, plex: PlexClient,
) -> None:
    rk = _movie(fake)
    item = plex.fetchItem(rk)

    with pytest.raises(BadRequest, match="400"):
        item.edit(**{"title.value": "Changed", "bogus.value": "x"})
    with pytest.raises(BadRequest, match="400"):
        item.edit(**{"mood[0].tag.tag": "x"})
    with pytest.raises(BadRequest, match="400"):
        item.editUserRating(11)
    with pytest.raises(BadRequest, match="400"):
        item.editOriginallyAvailable("31/12/2019")

    assert fake.item(rk).title == "scene"
    assert fake.requests[-1].status == 400


def test_an_edit_needs_type_and_id_and_items_of_that_section(
    fake: FakePlex, plex: PlexClient,
) -> None:
    rk = _movie(fake)
    other = fake.add_item(2, "/data/other/x.mp4")
    put = plex._session.put

    with pytest.raises(BadRequest, match="400"):
        plex.query(f"/library/sections/1/all?id={rk}&title.value=x", method=put)
    with pytest.raises(BadRequest, match="400"):
        plex.query("/library/sections/1/all?type=1&title.value=x", method=put)
    with pytest.raises(NotFound):
        plex.query(f"/library/sections/1/all?type=1&id={other}&title.value=x", method=put)
    with pytest.raises(NotFound):
        plex.query("/library/sections/1/all?type=1&id=4242&title.value=x", method=put)

    assert fake.item(rk).title == "scene"
    assert fake.item(other).title == "x"


def test_multi_edit_applies_to_every_comma_separated_id(fake: FakePlex, plex: PlexClient) -> None:
    first, second = _movie(fake, "one"), _movie(fake, "two")
    section = plex.library.sectionByID(1)
    items = section.all()

    section.batchMultiEdits(items)
    section.editStudio("Shared Studio")
    section.saveMultiEdits()

    assert fake.requests[-1].query["id"] in (f"{first},{second}", f"{second},{first}")
    assert fake.item(first).studio == fake.item(second).studio == "Shared Studio"


def test_user_rating_is_set_by_edit_and_by_rate_and_cleared_by_rate_none(
    fake: FakePlex, plex: PlexClient,
) -> None:
    rk = _movie(fake)
    item = plex.fetchItem(rk)

    item.editUserRating(7.5)
    assert fake.item(rk).user_rating == 7.5
    assert "userRating" in fake.item(rk).locked

    item.rate(4)
    assert fake.item(rk).user_rating == 4.0
    assert fake.requests[-1].path == "/:/rate"

    item.rate(None)
    assert fake.item(rk).user_rating is None


# --------------------------------------------------------------------------- images
def test_upload_poster_from_a_file_stores_the_raw_bytes(
    fake: FakePlex, plex: PlexClient, tmp_path: Path,
) -> None:
    rk = _movie(fake)
    image = tmp_path / "poster.jpg"
    image.write_bytes(b"\xff\xd8\xff\xe0 jpeg bytes")
    item = plex.fetchItem(rk)

    item.uploadPoster(filepath=str(image))

    record = fake.requests[-1]
    assert (record.method, record.path, record.body_len) == (
        "POST", f"/library/metadata/{rk}/posters", len(image.read_bytes()))
    assert fake.item(rk).poster == image.read_bytes()
    assert plex.fetchItem(rk).thumb.startswith(f"/library/metadata/{rk}/thumb/")
    assert [p.selected for p in item.posters()] == [True]


def test_an_item_shows_its_generated_thumbnail_until_a_poster_is_selected(
    fake: FakePlex, plex: PlexClient, tmp_path: Path,
) -> None:
    rk = _movie(fake)
    item = plex.fetchItem(rk)
    assert item.thumb.startswith(f"/library/metadata/{rk}/thumb/")   # the extracted frame
    assert item.posters() == []                                      # no poster selected

    for name in ("a", "b"):
        image = tmp_path / f"{name}.jpg"
        image.write_bytes(b"\xff\xd8\xff\xe0 poster " + name.encode())
        item.uploadPoster(filepath=str(image))
    posters = item.posters()
    assert [p.ratingKey.startswith("upload://posters/") for p in posters] == [True, True]
    assert [p.selected for p in posters] == [False, True]            # the last upload

    item.setPoster(posters[0])                                       # PUT .../poster?url=

    assert [p.selected for p in item.posters()] == [True, False]
    assert fake.item(rk).poster == b"\xff\xd8\xff\xe0 poster a"
    assert plex.fetchItem(rk).thumb != item.thumb                    # updatedAt moved


def test_selecting_a_poster_the_item_does_not_have_is_not_found(
    fake: FakePlex, plex: PlexClient,
) -> None:
    rk = _movie(fake)
    with pytest.raises(NotFound):
        plex.query(f"/library/metadata/{rk}/poster?url=upload%3A%2F%2Fposters%2Fnone",
                   method=plex._session.put)


def test_upload_art_by_url_stores_the_url(fake: FakePlex, plex: PlexClient) -> None:
    rk = _movie(fake)

    plex.fetchItem(rk).uploadArt(url="http://stash.local/scene/1/screenshot?t=1&x=a b")

    state = fake.item(rk)
    assert state.art_url == "http://stash.local/scene/1/screenshot?t=1&x=a b"
    assert state.art is None


def test_uploading_to_an_unknown_item_is_not_found(plex: PlexClient) -> None:
    post = plex._session.post
    with pytest.raises(NotFound):
        plex.query("/library/metadata/999/posters", method=post, data=b"img")


# --------------------------------------------------------------------------- scanning
def test_a_staged_file_becomes_an_item_after_a_refresh_of_its_folder(
    fake: FakePlex, plex: PlexClient,
) -> None:
    fake.stage_item(1, f"{MOVIES}/new/clip.mp4", size=5, duration_ms=9)
    fake.stage_item(1, f"{MOVIES}/elsewhere/other.mp4")
    section = plex.library.sectionByID(1)
    assert section.all() == []
    assert fake.find_by_file(f"{MOVIES}/new/clip.mp4") is None

    section.update(path=f"{MOVIES}/new")

    (item,) = section.all()
    assert item.locations == [f"{MOVIES}/new/clip.mp4"]
    assert item.title == "clip"
    assert fake.refreshes == [(1, f"{MOVIES}/new")]
    assert fake.staged == [f"{MOVIES}/elsewhere/other.mp4"]

    section.update()
    assert len(section.all()) == 2
    assert fake.staged == []


def test_refreshing_an_unknown_section_is_not_found(plex: PlexClient) -> None:
    with pytest.raises(NotFound):
        plex.query("/library/sections/9/refresh")


# --------------------------------------------------------------------------- faults
def test_go_down_refuses_connections_and_come_up_serves_again_on_the_same_port(
    fake: FakePlex, plex: PlexClient,
) -> None:
    url = fake.url

    fake.go_down()
    with pytest.raises(requests.exceptions.ConnectionError):
        plex.query("/identity")

    fake.come_up()
    assert fake.url == url
    assert _xml(plex, "/identity").attrib["machineIdentifier"] == plex.machineIdentifier


def test_the_server_survives_several_down_up_cycles_and_reset_faults(
    fake: FakePlex, plex: PlexClient,
) -> None:
    for _ in range(3):
        fake.go_down()
        assert not fake.is_up
        with pytest.raises(requests.exceptions.ConnectionError):
            plex.query("/identity")
        fake.come_up()
        plex.query("/identity")

    fake.go_down()
    fake.fail_next(2, 500)
    fake.set_delay(1)
    fake.reset_faults()

    assert fake.is_up
    plex.query("/identity")
    assert fake.requests[-1].status == 200


def test_fail_next_answers_the_injected_status_then_recovers(
    fake: FakePlex, plex: PlexClient,
) -> None:
    fake.fail_next(1, 503)
    with pytest.raises(BadRequest, match="503"):
        plex.identity()

    assert plex.identity().machineIdentifier == plex.machineIdentifier
    assert [r.status for r in fake.requests[-2:]] == [503, 200]


def test_an_injected_429_carries_retry_after(fake: FakePlex, plex: PlexClient) -> None:
    fake.fail_next(1, 429)

    response = plex._session.get(plex.url("/identity"), headers=plex._headers())

    assert response.status_code == 429
    assert response.headers["Retry-After"] == "1"


def test_a_slow_server_makes_plexapi_raise_read_timeout(fake: FakePlex) -> None:
    fake.set_delay(0.3)

    with pytest.raises(requests.exceptions.ReadTimeout):
        connect(fake.url, fake.token, timeout=0.05)

    fake.set_delay(0)
    connect(fake.url, fake.token, timeout=2)


def test_stop_is_fast_even_with_a_delayed_request_in_flight() -> None:
    fake = FakePlex().start()
    fake.set_delay(5)
    with pytest.raises(requests.exceptions.ReadTimeout):
        connect(fake.url, fake.token, timeout=0.05)

    started = time.monotonic()
    fake.stop()

    assert time.monotonic() - started < 1.0
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(fake.url, timeout=1)


# --------------------------------------------------------------------------- log
def test_the_request_log_keeps_decoded_query_keys_and_counts_by_method_and_path(
    fake: FakePlex, plex: PlexClient,
) -> None:
    rk = _movie(fake)
    item = plex.fetchItem(rk)
    fake.clear_requests()

    item.editTags("genre", ["Sci-Fi & Fantasy"], locked=True)

    put = fake.requests[-1]
    assert put.query["genre[0].tag.tag"] == "Sci-Fi & Fantasy"
    assert put.query["genre.locked"] == "1"
    assert fake.count("PUT") == 1
    assert fake.count("GET", "/library/metadata/") == 1  # plexapi's reload to read the genres
    assert fake.count("PUT", "/library/sections/1/all") == 1


def test_with_a_scan_delay_a_refresh_answers_at_once_and_the_file_appears_later(
        fake: FakePlex, plex: PlexClient) -> None:
    fake.stage_item(1, f"{MOVIES}/new/late.mp4", size=10, duration_ms=1000)
    fake.scan_delay = 0.3
    plex.query(f"/library/sections/1/refresh?path={MOVIES}/new")
    assert fake.find_by_file(f"{MOVIES}/new/late.mp4") is None     # PMS scans in the background
    deadline = time.monotonic() + 5
    while fake.find_by_file(f"{MOVIES}/new/late.mp4") is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert fake.find_by_file(f"{MOVIES}/new/late.mp4") is not None
