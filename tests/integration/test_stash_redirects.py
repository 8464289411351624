"""A redirect from Stash's address never carries the Stash API key or session cookie elsewhere.

Regression tests: stashapi sends `ApiKey` as a session header and the session cookie with no
domain, and `requests` strips only `Authorization` on a cross-host redirect, so a proxy in
front of Stash answering with `Location: http://other-host/...` was sent both (a 302 on the
GraphQL POST is re-sent there as a GET, a 307/308 as the POST with its body). Here a second
loopback server stands for the other origin and records whatever reaches it; it must see
nothing. A GraphQL POST follows no redirect at all, not even within Stash's origin.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from plexsync.errors import StashSetupError
from plexsync.stash.api import StashClient
from testkit.fake_stash import FakeStash

API_KEY = "APIKEY-1"
COOKIE = "COOKIE-1"


class Recorder(ThreadingHTTPServer):
    """Another origin: answers 200 to everything and records (method, path, ApiKey, Cookie)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, str | None, str | None]] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                recorder.seen.append((self.command, self.path, self.headers.get("ApiKey"),
                                      self.headers.get("Cookie")))
                body = b'{"data": {}}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                self._answer()

            def do_POST(self) -> None:
                self._answer()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def stash() -> Iterator[FakeStash]:
    with FakeStash(api_key=API_KEY, session_cookie=COOKIE) as server:
        server.add_scene(title="A")
        yield server


@pytest.fixture
def other() -> Iterator[Recorder]:
    server = Recorder()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def _client(stash: FakeStash) -> StashClient:
    return StashClient(dict(stash.server_connection(), ApiKey=API_KEY))


def _assert_clean(message: str) -> None:
    assert "\n" not in message
    assert API_KEY not in message and COOKIE not in message


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_graphql_post_redirected_to_another_origin_sends_neither_key_nor_cookie_there(
        stash: FakeStash, other: Recorder, status: int) -> None:
    stash.redirect(status, other.url, path_prefix="/graphql")
    with pytest.raises(StashSetupError) as info:
        _client(stash).plugin_settings()       # the first POST is stashapi's own version query
    assert other.seen == []
    message = str(info.value)
    assert f"answered POST /graphql with a redirect ({status}) to {other.url}/graphql;" in message
    assert "Stash at http://127.0.0.1:" in message
    _assert_clean(message)


@pytest.mark.parametrize("status", [302, 307])
def test_a_redirect_after_connecting_is_refused_too(
        stash: FakeStash, other: Recorder, status: int) -> None:
    client = _client(stash)
    scene_id = next(iter(client.scenes_by_id([1])))
    stash.redirect(status, other.url, path_prefix="/graphql")
    with pytest.raises(StashSetupError):
        client.scenes_by_id([scene_id])
    assert other.seen == []


def test_a_graphql_post_follows_no_redirect_even_within_stashs_origin(
        stash: FakeStash) -> None:
    client = _client(stash)
    client.plugin_settings()
    stash.redirect(307, path_prefix="/moved", drop_prefix=True)
    client._interface().url = f"{stash.url}/moved/graphql"
    with pytest.raises(StashSetupError, match=r"answered POST /moved/graphql with a redirect "
                                              r"\(307\) to http://127\.0\.0\.1:\d+/graphql;"):
        client.plugin_settings()


def test_a_screenshot_redirected_to_another_origin_sends_neither_key_nor_cookie_there(
        stash: FakeStash, other: Recorder) -> None:
    client = _client(stash)
    client.plugin_settings()
    stash.redirect(302, other.url, path_prefix="/scene/")
    with pytest.raises(StashSetupError, match=r"answered GET /scene/1/screenshot with a "
                                              r"redirect \(302\) to http://127\.0\.0\.1:"):
        client.download(f"{stash.url}/scene/1/screenshot?t=1")
    assert other.seen == []


def test_a_screenshot_redirected_within_stashs_origin_is_followed(stash: FakeStash) -> None:
    client = _client(stash)
    stash.redirect(301, path_prefix="/old", drop_prefix=True)
    data = client.download(f"{stash.url}/old/scene/1/screenshot")
    assert data == stash.screenshot_bytes(1)

