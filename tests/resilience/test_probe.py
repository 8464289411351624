"""The one definition of "Plex is up" (resilience/probe.py): a 200 whose body is a Plex
identity, checked against the CA bundle requests would use."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from plexsync.resilience import probe

IDENTITY = (b'<?xml version="1.0" encoding="UTF-8"?>\n<MediaContainer size="0" claimed="1" '
            b'machineIdentifier="abc123" version="1.40.0.1"/>\n')


class Answer:
    status = 200
    body = IDENTITY
    headers: ClassVar[dict[str, str]] = {}


@pytest.fixture
def server() -> Iterator[tuple[str, type[Answer]]]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(Answer.status)
            for key, value in Answer.headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(Answer.body)))
            self.end_headers()
            self.wfile.write(Answer.body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    Answer.status, Answer.body, Answer.headers = 200, IDENTITY, {}
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", Answer
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_a_200_with_a_plex_identity_is_plex_up_with_its_version(
        server: tuple[str, type[Answer]]) -> None:
    url, _ = server
    result = probe.probe(url)
    assert result.ok and result.version == "1.40.0.1"


@pytest.mark.parametrize(("status", "body", "headers"), [
    (404, b"not found", {}),
    (302, b"", {"Location": "http://login.example/"}),
    (401, b"<html>Unauthorized</html>", {}),
    (200, b"<html><body>proxy login</body></html>", {}),
    (503, b"busy", {}),
])
def test_anything_else_is_not_plex_up(server: tuple[str, type[Answer]], status: int,
                                      body: bytes, headers: dict[str, str]) -> None:
    url, answer = server
    answer.status, answer.body, answer.headers = status, body, headers
    result = probe.probe(url)
    assert not result.ok and not result.setup


def test_the_ca_bundle_is_requests_then_ssl_cert_file_then_certifi(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/ca/requests.pem")
    monkeypatch.setenv("SSL_CERT_FILE", "/ca/ssl.pem")
    assert probe.ca_bundle() == "/ca/requests.pem"
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    assert probe.ca_bundle() == "/ca/ssl.pem"
    monkeypatch.delenv("SSL_CERT_FILE")
    import certifi

    assert probe.ca_bundle() == certifi.where()
