"""The Stash UI test server (testkit/stash_ui.py) serves Stash's frontend as Stash's Go server
does (internal/api/server.go, routes_plugin.go): checked over plain HTTP and a raw websocket,
without a browser."""

from __future__ import annotations

import base64
import gzip
import json
import os
import socket
import struct
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from testkit.stash_ui import BUILD_DIR, StashUI

pytestmark = pytest.mark.skipif(
    not (BUILD_DIR / "index.html").is_file() and os.environ.get("PLEXSYNC_REQUIRE_BROWSER") != "1",
    reason=f"Stash's frontend build is not at {BUILD_DIR} (CI has it beside the repository)")


@pytest.fixture
def ui(tmp_path: Path) -> Iterator[StashUI]:
    with StashUI(str(tmp_path)) as server:
        yield server


def get(url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def graphql(url: str, query: str) -> dict[str, Any]:
    request = urllib.request.Request(url + "/graphql", data=json.dumps({"query": query}).encode(),
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            body = resp.read()
    except urllib.error.HTTPError as err:   # 422: parse/validation errors, as gqlgen
        body = err.read()
    answer: dict[str, Any] = json.loads(body)
    return answer


def test_a_ui_route_gets_index_html_with_stashs_security_headers(ui: StashUI) -> None:
    status, headers, body = get(ui.url + "/plugins/plexsync")
    assert status == 200 and headers["Content-Type"] == "text/html"
    assert b'<base href="/"' in body and b"%COLOR%" not in body
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self' http://www.gstatic.com" in csp and "child-src 'none'" in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"


def test_a_file_kept_only_gzipped_is_served_encoded_or_decompressed(ui: StashUI) -> None:
    packed = next((BUILD_DIR / "assets").glob("index-*.js.gz"))
    path = "/assets/" + packed.name.removesuffix(".gz")
    status, headers, body = get(ui.url + path, **{"Accept-Encoding": "gzip"})
    assert status == 200 and headers["Content-Encoding"] == "gzip"
    assert body == packed.read_bytes() and headers["Content-Type"].startswith("text/javascript")
    assert "immutable" in headers["Cache-Control"]
    status, headers, body = get(ui.url + path, **{"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in headers and body == gzip.decompress(packed.read_bytes())
    assert get(ui.url + "/assets/nothing.js")[0] == 404


def test_the_plugins_files_are_its_manifests_ui_files_and_a_disabled_plugin_gets_400(
        tmp_path: Path) -> None:
    with StashUI(str(tmp_path)) as ui:
        status, headers, body = get(ui.url + "/plugin/PlexSync/javascript")
        js = (Path(__file__).resolve().parents[2] / "ui" / "plexsync.js").read_bytes()
        assert status == 200 and body == js + b"\n" and headers["Content-Type"] == "text/javascript"
        plugins = graphql(ui.url, "{ plugins { id enabled paths { javascript css } } }")
        assert plugins["data"]["plugins"] == [{"id": "PlexSync", "enabled": True, "paths": {
            "javascript": [ui.url + "/plugin/PlexSync/javascript"],
            "css": [ui.url + "/plugin/PlexSync/css"]}}]
    with StashUI(str(tmp_path), plugin_enabled=False) as ui:
        assert get(ui.url + "/plugin/PlexSync/javascript")[:3:2] == (400, b"plugin disabled\n")


def test_behind_the_proxy_base_href_and_plugin_paths_carry_the_prefix(tmp_path: Path) -> None:
    with StashUI(str(tmp_path), prefix="/stash/") as ui:
        assert ui.ui_url.endswith("/stash")
        status, _, body = get(ui.ui_url + "/scenes")
        assert status == 200 and b'<base href="/stash/"' in body
        plugins = graphql(ui.ui_url, "{ plugins { paths { javascript } } }")
        assert plugins["data"]["plugins"][0]["paths"]["javascript"] == [
            ui.ui_url + "/plugin/PlexSync/javascript"]
        assert get(ui.ui_url.removesuffix("/stash") + "/graphql")[0] == 404   # not proxied
        assert b'<base href="/"' in get(ui.url + "/scenes")[2]   # Stash's own port: no prefix


def test_unset_fields_answer_gos_zero_values_on_the_real_schema(ui: StashUI) -> None:
    answer = graphql(ui.url, "{ findPerformers { count performers { id } } "
                             "configuration { general { parallelTasks databasePath } "
                             "interface { menuItems } } systemStatus { status } }")
    assert "errors" not in answer, answer
    data = answer["data"]
    assert data["findPerformers"] == {"count": 0, "performers": []}
    assert data["configuration"]["general"]["parallelTasks"] == 0
    assert "scenes" in data["configuration"]["interface"]["menuItems"]
    assert data["systemStatus"]["status"] == "OK"
    invalid = graphql(ui.url, "{ findPerformers { nosuchfield } }")
    assert invalid["data"] is None and "nosuchfield" in invalid["errors"][0]["message"]


def _ws_send(sock: socket.socket, message: dict[str, Any]) -> None:
    data, mask = json.dumps(message).encode(), b"\x01\x02\x03\x04"
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
    sock.sendall(struct.pack("!BB", 0x81, 0x80 | len(data)) + mask + masked)


def _ws_recv(sock: socket.socket) -> dict[str, Any]:
    head = sock.recv(2)
    length = head[1] & 0x7F
    if length == 126:
        length = struct.unpack("!H", sock.recv(2))[0]
    data = b""
    while len(data) < length:
        data += sock.recv(length - len(data))
    answer: dict[str, Any] = json.loads(data)
    return answer


def test_the_graphql_websocket_acks_validates_and_delivers_job_events(ui: StashUI) -> None:
    sock = socket.create_connection(("127.0.0.1", ui.port), timeout=10)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                  f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13"
                  f"\r\nSec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n").encode())
    response = b""
    while b"\r\n\r\n" not in response:
        response += sock.recv(1)
    assert response.startswith(b"HTTP/1.1 101") and b"graphql-transport-ws" in response
    _ws_send(sock, {"type": "connection_init", "payload": {}})
    assert _ws_recv(sock) == {"type": "connection_ack"}
    _ws_send(sock, {"id": "1", "type": "subscribe", "payload": {"query": "subscription { nope }"}})
    assert _ws_recv(sock)["type"] == "error"
    _ws_send(sock, {"id": "2", "type": "subscribe", "payload": {
        "query": "subscription { jobsSubscribe { type job { id status } } }"}})
    _ws_send(sock, {"type": "ping"})
    assert _ws_recv(sock) == {"type": "pong"}   # the subscription is registered by now
    ui.subscriptions.publish("jobsSubscribe", {"type": "ADD", "job": {"id": "7",
                                                                      "status": "READY"}})
    assert _ws_recv(sock) == {"id": "2", "type": "next", "payload": {"data": {"jobsSubscribe": {
        "type": "ADD", "job": {"id": "7", "status": "READY"}}}}}
    sock.close()
