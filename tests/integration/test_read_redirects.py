"""A redirect to another origin never carries the Plex token there, on reads as on writes.

Regression tests: plexapi's GETs went through a `requests.Session` that followed every
redirect, and `requests` strips only `Authorization` on a cross-host redirect, never the
`X-Plex-Token` header, so a proxy answering a read with `Location: http://other-host/...` was
sent the user's token. Here a second FakePlex stands for the other origin and records
whatever reaches it; it must see nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from plexsync.core.settings import Settings
from plexsync.errors import PlexSetupError
from plexsync.plex.client import PlexClient
from testkit.fake_plex import FakePlex

pytestmark = pytest.mark.plex_offspec("the fake Plex answers as a hostile proxy on purpose")

TOKEN = "s3cret-plex-token-XYZ"
LISTING = r"/library/sections/\d+/all"


@pytest.fixture
def plex() -> Iterator[FakePlex]:
    with FakePlex(token=TOKEN) as server:
        server.add_section(1, "Movies", ["/media/videos"])
        server.add_item(1, "/media/videos/a.mp4", title="A")
        yield server


@pytest.fixture
def other() -> Iterator[FakePlex]:
    """Another origin (another port): it records every request that reaches it."""
    with FakePlex(token="the-other-hosts-token") as server:
        yield server


def _client(plex: FakePlex, tmp_path: Path) -> PlexClient:
    settings = Settings.from_mapping({"plex_url": plex.url, "plex_token": TOKEN})
    return PlexClient(settings, str(tmp_path))


READS: list[tuple[str, str, Callable[[PlexClient], Any]]] = [
    ("/", "GET /", lambda c: c.connect()),
    ("/identity", "GET /identity", lambda c: c.identity()),
    ("/library/sections", "GET /library/sections", lambda c: c.sections()),
    (LISTING, "GET /library/sections/1/all", lambda c: c.section_page(1, 0, 50)),
    (LISTING, "GET /library/sections/1/all", lambda c: c.listing_page(1, 0, 50)),
    (r"/library/metadata/\d+", "GET /library/metadata/1", lambda c: c.fetch_item(1)),
    (r"/library/sections/\d+/refresh", "GET /library/sections/1/refresh",
     lambda c: c.scan_folder(1, "/media/videos")),
]


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize(("path", "what", "call"), READS,
                         ids=[f"{what}-{i}" for i, (_, what, _) in enumerate(READS)])
def test_a_read_redirected_to_another_origin_is_refused_and_the_token_never_goes_there(
        plex: FakePlex, other: FakePlex, tmp_path: Path, path: str, what: str,
        call: Callable[[PlexClient], Any], status: int) -> None:
    plex.hostile.add("redirect", method="GET", path=path, status=status, to=other.url)
    with pytest.raises(PlexSetupError) as info:
        call(_client(plex, tmp_path))

    leaked = [(r.method, r.path, r.headers.get("X-Plex-Token")) for r in other.requests]
    assert leaked == []
    message = str(info.value)
    assert f"answered {what} with a redirect ({status}) to {other.url}/" in message
    assert "plex_url" in message and "\n" not in message
    assert TOKEN not in message


def test_a_write_redirected_to_another_origin_sends_nothing_there(
        plex: FakePlex, other: FakePlex, tmp_path: Path) -> None:
    plex.hostile.add("redirect", method="PUT", path=LISTING, status=307, to=other.url)
    with pytest.raises(PlexSetupError, match=r"answered PUT /library/sections/1/all with a "
                                             r"redirect \(307\) to http://127\.0\.0\.1:\d+/"):
        _client(plex, tmp_path).edit(1, 1, {"title.value": "B"})
    assert other.requests == []
    assert plex.item(1).title == "A"


def test_a_same_origin_redirect_on_a_read_is_followed(
        plex: FakePlex, tmp_path: Path) -> None:
    # Plex (or a proxy in front of it) moving a read within the same scheme, host and port
    # is harmless: the token goes back to the server plex_url names.
    plex.hostile.add("redirect", method="GET", path="/library/sections", status=301)
    plex.hostile.add("redirect", method="GET", path=r"/library/metadata/\d+", status=307)
    client = _client(plex, tmp_path)
    assert [s.title for s in client.sections()] == ["Movies"]
    assert client.fetch_item(1).title == "A"
    assert plex.hostile.served == 2


def test_the_redirect_target_in_the_error_never_carries_a_query_or_credentials(
        plex: FakePlex, other: FakePlex, tmp_path: Path) -> None:
    # The Location's query (here `proxied=1`; a proxy may echo the token there) and a login
    # in it must not reach the Stash log (tests/plex/test_session.py: a token in the query).
    target = other.url.replace("http://", "http://admin:pw@")
    plex.hostile.add("redirect", method="GET", path="/", status=302, to=target)
    with pytest.raises(PlexSetupError) as info:
        _client(plex, tmp_path).connect()
    message = str(info.value)
    assert f"to {other.url}/;" in message
    assert "proxied" not in message and "admin" not in message and "pw@" not in message
    assert other.requests == []
