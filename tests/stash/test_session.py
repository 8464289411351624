"""How PlexSync's Stash session gets into stashapi, and its refusals (scripted transport, no
socket). The end-to-end view, with a second server recording what reaches it, is
tests/integration/test_stash_redirects.py."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pytest
import requests
import stashapi.stashapp

from plexsync.core.log import log
from plexsync.core.redirects import Refusal
from plexsync.errors import ConfigError, StashSetupError
from plexsync.stash import session as stash_session
from plexsync.stash.session import (
    REQUEST_TIMEOUT,
    StashSession,
    redirect_refused,
    stash_interface,
)
from tests.helpers import ScriptedTransport

BASE = "http://stash.lan:9999"
CONN = {"Scheme": "http", "Host": "stash.lan", "Port": 9999, "ApiKey": "APIKEY-1",
        "SessionCookie": {"Name": "session", "Value": "COOKIE-1"}}


class Script(ScriptedTransport):
    """Records (method, url, ApiKey header, Cookie header, timeout)."""

    def note(self, request: requests.PreparedRequest, kwargs: Mapping[str, Any]) -> Any:
        return (request.method or "", request.url or "", request.headers.get("ApiKey"),
                request.headers.get("Cookie"), kwargs.get("timeout"))


@pytest.fixture
def script(monkeypatch: pytest.MonkeyPatch) -> Iterator[Script]:
    """Every StashSession built meanwhile talks to this script instead of the network."""
    recorder = Script({})
    original = StashSession.__init__

    def init(self: StashSession, base_url: str) -> None:
        original(self, base_url)
        self.mount("http://", recorder)
        self.mount("https://", recorder)

    monkeypatch.setattr(StashSession, "__init__", init)
    yield recorder


def test_stashapis_first_request_already_goes_through_the_refusing_session(
        script: Script) -> None:
    # The constructor's version query is the first POST: a redirect on it must be refused,
    # which only happens if the session is ours before stashapi sends anything.
    script.answers[f"{BASE}/graphql"] = (302, "http://elsewhere.lan/graphql")
    with pytest.raises(StashSetupError, match=r"answered POST /graphql with a redirect \(302\) "
                                              r"to http://elsewhere\.lan/graphql;"):
        stash_interface(dict(CONN), BASE, verify_tls=True)
    assert [(m, u, k, c) for m, u, k, c, _ in script.sent] == [
        ("POST", f"{BASE}/graphql", "APIKEY-1", "session=COOKIE-1")]


def test_every_request_without_a_timeout_gets_the_default_one(script: Script) -> None:
    session = StashSession(BASE)
    session.get(f"{BASE}/a")
    session.get(f"{BASE}/b", timeout=3)
    assert [t for *_, t in script.sent] == [REQUEST_TIMEOUT, 3]


def test_a_stashapi_that_no_longer_uses_its_s_attribute_fails_loudly(
        monkeypatch: pytest.MonkeyPatch) -> None:
    class Renamed:
        """A hypothetical stashapi release keeping its session under another name."""

        def __init__(self, conn: dict[str, Any], verify_ssl: bool = True) -> None:
            self._session = requests.Session()

    monkeypatch.setattr(stashapi.stashapp, "StashInterface", Renamed)
    stash_session._guarded_class.cache_clear()
    try:
        with pytest.raises(StashSetupError, match="stashapp-tools"):
            stash_interface(dict(CONN), BASE, verify_tls=True)
    finally:
        stash_session._guarded_class.cache_clear()


def test_the_refusal_is_one_redacted_line_that_stops_the_drain_without_charging() -> None:
    log.add_secret("APIKEY-1")
    error = redirect_refused(Refusal(BASE, "GET", "/scene/1/screenshot", 302,
                                     "http://APIKEY-1.example/x"))
    assert isinstance(error, ConfigError)     # the drain releases the batch, no attempt used
    message = str(error)
    assert "\n" not in message and "APIKEY-1" not in message
    assert message.startswith(f"Stash at {BASE} answered GET /scene/1/screenshot with a "
                              "redirect (302) to ")
    assert "--stash-url" in message and "no job was charged" in message
