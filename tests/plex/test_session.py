"""The redirect policy of `PlexSession`, against a scripted transport (no server, no socket)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
import requests

from plexsync.errors import PlexSetupError
from plexsync.plex.session import PlexSession
from tests.helpers import ScriptedTransport

TOKEN = "tok-abc-123"
BASE = "http://plex.lan:32400"


class Script(ScriptedTransport):
    """Answers Plex XML; records (method, url, X-Plex-Token header)."""

    body = b"<MediaContainer/>"

    def note(self, request: requests.PreparedRequest, kwargs: Mapping[str, Any]) -> Any:
        return (request.method or "", request.url or "", request.headers.get("X-Plex-Token"))


def session(answers: Mapping[str, tuple[int, str]], base: str = BASE) -> tuple[PlexSession,
                                                                              Script]:
    script = Script(answers)
    plex = PlexSession(base, {"X-Plex-Client-Identifier": "test-device"})
    plex.mount("http://", script)
    plex.mount("https://", script)
    return plex, script


def get(plex: PlexSession, url: str) -> requests.Response:
    return plex.get(url, headers={"X-Plex-Token": TOKEN})


@pytest.mark.parametrize("location", [
    "/library/sections/",                               # relative: Plex adding a slash
    "http://plex.lan:32400/library/sections/",          # absolute, same origin
    "HTTP://PLEX.LAN:32400/library/sections/",          # scheme and host are case-insensitive
])
def test_a_redirect_within_plex_urls_origin_is_followed(location: str) -> None:
    plex, script = session({f"{BASE}/library/sections": (301, location)})
    assert get(plex, f"{BASE}/library/sections").status_code == 200
    assert [u.lower() for _, u, _ in script.sent] == [f"{BASE}/library/sections",
                                                      f"{BASE}/library/sections/"]


def test_the_default_port_is_the_same_origin_written_or_not() -> None:
    plex, script = session({"http://plex.lan/a": (302, "http://plex.lan:80/b")},
                           base="http://plex.lan")
    assert get(plex, "http://plex.lan/a").status_code == 200
    assert len(script.sent) == 2


@pytest.mark.parametrize("location", [
    "http://evil.example/library/sections",             # another host
    "http://plex.lan:8080/library/sections",            # another port
    "https://plex.lan:32400/library/sections",          # http → https on the same host and port
    "https://plex.lan/library/sections",                # a proxy's https upgrade
    "//evil.example/library/sections",                  # scheme-relative
    "http://127.0.0.2:32400/library/sections",          # another loopback address
])
@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_to_another_origin_is_refused_before_anything_is_sent_there(
        location: str, status: int) -> None:
    plex, script = session({f"{BASE}/library/sections": (status, location)})
    with pytest.raises(PlexSetupError) as info:
        get(plex, f"{BASE}/library/sections")
    assert script.sent == [("GET", f"{BASE}/library/sections", TOKEN)]   # only to Plex
    message = str(info.value)
    assert message.startswith(f"Plex at {BASE} answered GET /library/sections with a redirect "
                              f"({status}) to ")
    assert "does not follow it" in message and "set plex_url" in message.lower()


def test_a_chain_that_leaves_the_origin_on_a_later_hop_is_refused_at_that_hop() -> None:
    plex, script = session({f"{BASE}/": (302, "/web"),
                            f"{BASE}/web": (307, "http://evil.example/steal")})
    with pytest.raises(PlexSetupError, match=r"answered GET /web with a redirect \(307\) to "
                                             r"http://evil\.example/steal;"):
        get(plex, f"{BASE}/")
    assert [u for _, u, _ in script.sent] == [f"{BASE}/", f"{BASE}/web"]


def test_a_token_or_login_in_the_location_never_reaches_the_message() -> None:
    location = f"http://user:pw@evil.example:9000/x?X-Plex-Token={TOKEN}#frag"
    plex, script = session({f"{BASE}/": (302, location)})
    with pytest.raises(PlexSetupError) as info:
        get(plex, f"{BASE}/")
    message = str(info.value)
    assert "to http://evil.example:9000/x;" in message
    assert TOKEN not in message and "pw" not in message and "frag" not in message
    assert len(script.sent) == 1


@pytest.mark.parametrize("method", ["PUT", "POST", "DELETE"])
def test_a_write_follows_no_redirect_even_within_the_origin(method: str) -> None:
    plex, script = session({f"{BASE}/library/sections/1/all": (307, "/library/sections/1/all")})
    with pytest.raises(PlexSetupError, match=rf"answered {method} /library/sections/1/all with "
                                             r"a redirect \(307\) to "):
        plex.request(method, f"{BASE}/library/sections/1/all")
    assert len(script.sent) == 1


def test_the_refused_request_is_named_below_plex_urls_own_path() -> None:
    base = "https://proxy.lan/plex"
    plex, _ = session({f"{base}/library/sections": (302, "https://sso.lan/login")}, base=base)
    with pytest.raises(PlexSetupError, match=r"^Plex at https://proxy\.lan/plex answered GET "
                                             r"/library/sections with a redirect \(302\) to "
                                             r"https://sso\.lan/login;"):
        get(plex, f"{base}/library/sections")


@pytest.mark.parametrize("location", [
    "http://evil.example\\@plex.lan:32400/x",     # plex.lan to urlsplit, evil to urllib3
    "http://plex.lan:32400\\@evil.example/x",     # the other way round
])
def test_a_location_the_url_parsers_read_differently_is_refused(location: str) -> None:
    # Which parser picks the connection depends on the requests release (2.32+: urlsplit;
    # older: urllib3), so only a target both read as plex_url's origin is followed.
    plex, script = session({f"{BASE}/": (302, location)})
    with pytest.raises(PlexSetupError, match=r"to \(an ambiguous Location\);"):
        get(plex, f"{BASE}/")
    assert len(script.sent) == 1
