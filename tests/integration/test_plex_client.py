"""The Plex client layer against the fake Plex: one device, few requests, translated errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from plexsync import __version__
from plexsync.core import datadir
from plexsync.core.settings import Settings
from plexsync.errors import ConfigError, PlexAuth, PlexBadRequest, PlexNotFound, PlexServerDown
from plexsync.plex.client import PlexClient
from testkit.fake_plex import FakePlex

TOKEN = "s3cret-plex-token-XYZ"


@pytest.fixture
def fake() -> Iterator[FakePlex]:
    with FakePlex(token=TOKEN) as server:
        server.add_section(1, "Movies", ["/media/videos"])
        server.add_section(2, "Shows", ["/media/shows"], type="show")
        server.add_section(3, "Other Videos", ["/media/other"])
        yield server


def client(fake: FakePlex, tmp_path: Path, **over: Any) -> PlexClient:
    raw = {"plex_url": fake.url, "plex_token": TOKEN, **over}
    return PlexClient(Settings.from_mapping(raw), str(tmp_path))


def test_connecting_is_one_root_get_announcing_one_stable_plexsync_device(
    fake: FakePlex, tmp_path: Path,
) -> None:
    client(fake, tmp_path).connect()
    client(fake, tmp_path).connect()

    assert [(r.method, r.path) for r in fake.requests] == [("GET", "/"), ("GET", "/")]
    first, second = (r.headers for r in fake.requests)
    device = datadir.device_id(str(tmp_path))
    assert first["X-Plex-Client-Identifier"] == second["X-Plex-Client-Identifier"] == device
    assert first["X-Plex-Product"] == "PlexSync" and first["X-Plex-Version"] == __version__
    assert first["X-Plex-Token"] == TOKEN


def test_nothing_is_sent_before_a_request_is_needed(fake: FakePlex, tmp_path: Path) -> None:
    client(fake, tmp_path)
    assert fake.requests == []


def test_identity_probe_is_a_single_get_without_connecting(fake: FakePlex, tmp_path: Path) -> None:
    attrs = client(fake, tmp_path).identity()
    assert attrs["machineIdentifier"]
    assert [(r.method, r.path) for r in fake.requests] == [("GET", "/identity")]


def test_a_wrong_token_is_plex_auth_naming_the_setting_never_the_token(
    fake: FakePlex, tmp_path: Path,
) -> None:
    bad = PlexClient(Settings.from_mapping({"plex_url": fake.url, "plex_token": "wrong-token-1"}),
                     str(tmp_path))
    with pytest.raises(PlexAuth) as info:
        bad.connect()
    assert "plex_token" in str(info.value) and "wrong-token-1" not in str(info.value)
    # /identity needs no token on PMS (the OpenAPI spec: `security: - {}`): the health probe
    # still sees Plex up, so a wrong token never looks like an outage
    assert bad.identity()["machineIdentifier"]


def test_plex_down_is_server_down_for_connect_and_probe(fake: FakePlex, tmp_path: Path) -> None:
    fake.go_down()
    with pytest.raises(PlexServerDown):
        client(fake, tmp_path).connect()
    with pytest.raises(PlexServerDown):
        client(fake, tmp_path).identity()


@pytest.mark.parametrize(("status", "error"), [(500, PlexServerDown), (503, PlexServerDown),
                                               (429, PlexServerDown), (400, PlexBadRequest),
                                               (409, PlexBadRequest), (401, PlexAuth)])
def test_status_codes_map_to_error_classes(fake: FakePlex, tmp_path: Path, status: int,
                                           error: type[Exception]) -> None:
    plex = client(fake, tmp_path)
    plex.connect()
    fake.fail_next(1, status)
    with pytest.raises(error) as info:
        plex.sections()
    assert TOKEN not in str(info.value) and "GET /library/sections" in str(info.value)


def test_404_is_not_found_for_an_item_and_bad_request_elsewhere(
    fake: FakePlex, tmp_path: Path,
) -> None:
    plex = client(fake, tmp_path)
    with pytest.raises(PlexNotFound):
        plex.fetch_item(999)
    with pytest.raises(PlexBadRequest):
        plex.scan_folder(42, "/media/videos/x")


def test_a_slow_plex_is_server_down_after_the_read_timeout(fake: FakePlex, tmp_path: Path) -> None:
    plex = client(fake, tmp_path, read_timeout=0.2)
    plex.connect()
    fake.set_delay(1.0)
    with pytest.raises(PlexServerDown, match="timeout"):
        plex.sections()


def test_all_movie_sections_are_used_when_no_library_is_named(
    fake: FakePlex, tmp_path: Path,
) -> None:
    assert [s.title for s in client(fake, tmp_path).configured_sections()] == [
        "Movies", "Other Videos"]
    named = client(fake, tmp_path, plex_library="other videos").configured_sections()
    assert [(s.id, s.locations) for s in named] == [(3, ("/media/other",))]


def test_an_unknown_library_name_lists_the_libraries_that_exist(
    fake: FakePlex, tmp_path: Path,
) -> None:
    with pytest.raises(ConfigError) as info:
        client(fake, tmp_path, plex_library="Movies, Filmz").configured_sections()
    assert "Filmz" in str(info.value) and "'Movies'" in str(info.value)
    with pytest.raises(ConfigError, match="show"):
        client(fake, tmp_path, plex_library="Shows").configured_sections()


def test_fetch_item_reads_full_tags_locks_and_files_in_one_get(
    fake: FakePlex, tmp_path: Path,
) -> None:
    genres = [f"G{i}" for i in range(8)]   # more than the list view's limit of 3
    rk = fake.add_item(1, "/media/videos/a.mp4", size=5, duration_ms=1000,
                       files=[("/media/videos/a.mp4", 5, 1000), ("/media/videos/b.mp4", 6, 1000)],
                       summary="Two\nlines", studio="S", user_rating=7.5,
                       originally_available_at="2020-01-02",
                       tags={"genre": genres, "actor": ["Ada"], "collection": ["C"]},
                       locked={"title", "originallyAvailableAt", "thumb", "genre"})
    plex = client(fake, tmp_path)
    plex.connect()
    fake.clear_requests()
    item = plex.fetch_item(rk)
    assert [(r.method, r.path) for r in fake.requests] == [("GET", f"/library/metadata/{rk}")]
    assert item.tags["genre"] == tuple(genres) and item.tags["actor"] == ("Ada",)
    assert (item.summary, item.studio, item.rating, item.date) == ("Two\nlines", "S", 7.5,
                                                                   "2020-01-02")
    assert item.locked == {"title", "date", "poster", "genre"}
    assert item.files == ("/media/videos/a.mp4", "/media/videos/b.mp4")
    assert item.section_id == 1


def test_one_edit_is_one_put_that_plex_applies(fake: FakePlex, tmp_path: Path) -> None:
    rk = fake.add_item(1, "/media/videos/a.mp4", tags={"genre": ["Old, with comma", "Keep"]})
    plex = client(fake, tmp_path)
    plex.connect()
    fake.clear_requests()
    plex.edit(1, rk, {"title.value": "Zoë “T” — x/y&z", "title.locked": "1",
                      "genre[0].tag.tag": "Keep", "genre[1].tag.tag": "New",
                      "genre[].tag.tag-": "Old%2C%20with%20comma"})
    assert fake.count("PUT") == 1 and len(fake.requests) == 1
    after = fake.item(rk)
    assert after.title == "Zoë “T” — x/y&z" and "title" in after.locked
    assert after.tags["genre"] == ["Keep", "New"]


def test_section_page_returns_one_row_per_file_and_the_total(
    fake: FakePlex, tmp_path: Path,
) -> None:
    fake.add_item(1, "/media/videos/a.mp4", size=5, duration_ms=7000,
                  files=[("/media/videos/a.mp4", 5, 7000), ("/media/videos/a2.mp4", 6, 8000)])
    fake.add_item(1, "/media/videos/b.mp4", size=9, duration_ms=9000)
    page = client(fake, tmp_path).section_page(1, 0, 1)
    assert page.total == 2 and page.videos == 1
    assert page.rows == [("/media/videos/a.mp4", 1, 5, 7000), ("/media/videos/a2.mp4", 1, 6, 8000)]


def test_image_upload_and_folder_scan_are_single_requests(fake: FakePlex, tmp_path: Path) -> None:
    rk = fake.add_item(1, "/media/videos/a.mp4")
    fake.stage_item(1, "/media/videos/new folder/b.mp4")
    plex = client(fake, tmp_path)
    plex.connect()
    fake.clear_requests()
    plex.upload_image(rk, "poster", b"\xff\xd8\xffdata")
    plex.scan_folder(1, "/media/videos/new folder")
    assert [(r.method, r.path) for r in fake.requests] == [
        ("POST", f"/library/metadata/{rk}/posters"), ("GET", "/library/sections/1/refresh")]
    assert fake.item(rk).poster == b"\xff\xd8\xffdata"
    assert fake.refreshes == [(1, "/media/videos/new folder")]


@pytest.fixture
def plexapi_globals(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """plexapi's module-level identity set to marker values (restored afterwards), and a
    snapshot of them: what a user's own plexapi script in the same process would see."""
    import plexapi
    import plexapi.server

    for name in [n for n in vars(plexapi) if n.startswith("X_PLEX_")]:
        monkeypatch.setattr(plexapi, name, f"users-{name}")
    for key in list(plexapi.BASE_HEADERS):
        monkeypatch.setitem(plexapi.BASE_HEADERS, key, f"users-{key}")
    yield _plexapi_globals()


def _plexapi_globals() -> dict[str, Any]:
    import plexapi
    import plexapi.server

    found: dict[str, Any] = {n: v for n, v in vars(plexapi).items() if n.startswith("X_PLEX_")}
    found["BASE_HEADERS"] = dict(plexapi.BASE_HEADERS)
    # plexapi.server imported the dict by name: it must stay the very same object
    found["server.BASE_HEADERS is plexapi.BASE_HEADERS"] = \
        vars(plexapi.server)["BASE_HEADERS"] is plexapi.BASE_HEADERS
    return found


def _every_request(fake: FakePlex, plex: PlexClient) -> None:
    rk = fake.add_item(1, "/media/videos/a.mp4")
    plex.identity()
    plex.connect()
    plex.sections()
    plex.section_page(1, 0, 10)
    plex.fetch_item(rk)
    plex.edit(1, rk, {"title.value": "T", "title.locked": "1"})


def test_using_the_plex_client_leaves_plexapis_module_globals_as_they_were(
    fake: FakePlex, tmp_path: Path, plexapi_globals: dict[str, Any],
) -> None:
    import plexapi.config

    _every_request(fake, client(fake, tmp_path))

    assert _plexapi_globals() == plexapi_globals
    # a user's own plexapi call afterwards still announces the user's values, not PlexSync's
    users = plexapi.config.reset_base_headers()  # type: ignore[no-untyped-call]
    assert users["X-Plex-Product"] == "users-X_PLEX_PRODUCT"


def test_every_request_carries_plexsyncs_identity_whatever_plexapis_globals_say(
    fake: FakePlex, tmp_path: Path, plexapi_globals: dict[str, Any],
) -> None:
    import socket

    _every_request(fake, client(fake, tmp_path))

    device = datadir.device_id(str(tmp_path))
    assert [r.path for r in fake.requests] == [
        "/identity", "/", "/library/sections", "/library/sections/1/all",
        "/library/metadata/1", "/library/sections/1/all"]
    for request in fake.requests:
        assert request.headers["X-Plex-Client-Identifier"] == device
        assert request.headers["X-Plex-Product"] == "PlexSync"
        assert request.headers["X-Plex-Version"] == __version__
        assert request.headers["X-Plex-Device-Name"] == f"PlexSync ({socket.gethostname()})"
        assert request.headers["X-Plex-Token"] == TOKEN
        # the rest of plexapi's header set is sent too, as plexapi sends it
        assert {k for k in plexapi_globals["BASE_HEADERS"]} <= set(request.headers)
