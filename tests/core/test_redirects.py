"""The shared redirect policy (`SameOriginRedirects`), against a scripted transport (no socket).

Client-agnostic: the error comes from the factory the caller passes; Plex's and Stash's
messages are tested with their sessions (tests/plex/test_session.py, tests/stash/)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
import requests

from plexsync.core.redirects import (
    Refusal,
    SameOriginRedirects,
    origin,
    path_below,
    same_origin,
    shown_target,
)
from tests.helpers import ScriptedTransport

BASE = "http://server.lan:8000"


class Refused(Exception):
    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.what)
        self.refusal = refusal


class Guarded(SameOriginRedirects, requests.Session):
    """The policy mixed into a plain `requests.Session`, as plex/ and stash/ do."""


class Script(ScriptedTransport):
    """Records (method, url, ApiKey header)."""

    def note(self, request: requests.PreparedRequest, kwargs: Mapping[str, Any]) -> Any:
        return (request.method or "", request.url or "", request.headers.get("ApiKey"))


def session(answers: Mapping[str, tuple[int, str]], base: str = BASE,
            follow_none: frozenset[str] | None = None) -> tuple[Guarded, Script]:
    script = Script(answers)
    kwargs = {} if follow_none is None else {"follow_none": follow_none}
    guarded = Guarded(base, Refused, **kwargs)
    guarded.headers["ApiKey"] = "KEY"
    guarded.mount("http://", script)
    guarded.mount("https://", script)
    return guarded, script


@pytest.mark.parametrize("location", ["/b", f"{BASE}/b", "HTTP://SERVER.LAN:8000/b"])
def test_a_get_redirected_within_the_origin_is_followed(location: str) -> None:
    guarded, script = session({f"{BASE}/a": (302, location)})
    assert guarded.get(f"{BASE}/a").status_code == 200
    assert [u.lower() for _, u, _ in script.sent] == [f"{BASE}/a", f"{BASE}/b"]


@pytest.mark.parametrize("location", [
    "http://evil.example/b", "http://server.lan:8001/b", "https://server.lan:8000/b",
    "//evil.example/b", "http://127.0.0.2:8000/b", "http://evil.example\\@server.lan:8000/b",
])
@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_to_another_origin_raises_the_factorys_error_and_sends_nothing_there(
        location: str, status: int) -> None:
    guarded, script = session({f"{BASE}/a?x=1": (status, location)})
    with pytest.raises(Refused) as info:
        guarded.get(f"{BASE}/a?x=1")
    assert script.sent == [("GET", f"{BASE}/a?x=1", "KEY")]
    refusal = info.value.refusal
    assert (refusal.base_url, refusal.what, refusal.status) == (BASE, "GET /a", status)


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_write_follows_no_redirect_even_within_the_origin(method: str, status: int) -> None:
    guarded, script = session({f"{BASE}/graphql": (status, "/graphql/")})
    with pytest.raises(Refused, match=rf"^{method} /graphql$"):
        guarded.request(method, f"{BASE}/graphql", json={"query": "{ version }"})
    assert len(script.sent) == 1


def test_follow_none_is_the_callers_choice() -> None:
    guarded, script = session({f"{BASE}/a": (307, "/b")}, follow_none=frozenset())
    assert guarded.post(f"{BASE}/a", data=b"x").status_code == 200
    assert [m for m, _, _ in script.sent] == ["POST", "POST"]


def test_a_later_hop_leaving_the_origin_is_refused_at_that_hop() -> None:
    guarded, script = session({f"{BASE}/": (302, "/web"),
                               f"{BASE}/web": (307, "http://evil.example/steal")})
    with pytest.raises(Refused) as info:
        guarded.get(f"{BASE}/")
    assert info.value.refusal.target == "http://evil.example/steal"
    assert info.value.refusal.what == "GET /web"
    assert [u for _, u, _ in script.sent] == [f"{BASE}/", f"{BASE}/web"]


def test_a_base_url_without_a_readable_origin_follows_nothing() -> None:
    guarded, script = session({"http://h:1/a": (302, "/b")}, base="not a url")
    with pytest.raises(Refused):
        guarded.get("http://h:1/a")
    assert len(script.sent) == 1


def test_origins_fill_in_default_ports_and_reject_urls_without_a_host() -> None:
    assert origin("http://Plex.LAN") == origin("http://plex.lan:80/x") == ("http", "plex.lan", 80)
    assert origin("https://plex.lan") == ("https", "plex.lan", 443)
    assert origin("https://plex.lan") != origin("http://plex.lan:443")
    assert origin("/relative") is None
    assert origin("http://plex.lan:notaport/") is None


def test_same_origin_needs_both_urls_readable_and_equal() -> None:
    assert same_origin("http://h/x", "http://H:80")
    assert not same_origin("https://h/x", "http://h")
    assert not same_origin("/x", "/")


def test_shown_targets_are_absolute_and_bare() -> None:
    assert shown_target("/a?b=c", BASE) == f"{BASE}/a"
    assert shown_target("http://u:pw@h:9/x?t=1#f", BASE) == "http://h:9/x"
    assert shown_target("http://[::1]:9/x?t=1", BASE) == "http://[::1]:9/x"
    assert shown_target("http://h", BASE) == "http://h/"
    assert shown_target("http://h:bad/", BASE) == "(an unreadable Location)"


def test_paths_are_named_below_the_base_urls_own_path() -> None:
    assert path_below("https://proxy.lan/plex/library?x=1", "https://proxy.lan/plex") == "/library"
    assert path_below("http://h/graphql", "http://h") == "/graphql"


def test_the_policy_in_core_imports_neither_requests_nor_urllib3() -> None:
    from tests.helpers import modules_loaded_by

    loaded = modules_loaded_by("import plexsync.core.redirects")
    assert not {m.split(".")[0] for m in loaded} & {"requests", "urllib3"}
