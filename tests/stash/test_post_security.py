"""The raw POST to Stash (the hook's and the wake-up timer's): one TLS policy with the tasks'
client, and no host name mangled into another."""

from __future__ import annotations

import json
import ssl
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from plexsync.stash.post import request_drain


class _TLSStash(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, cert: Path, key: Path) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.seen: list[dict[str, str]] = []
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(cert), str(key))
        self.socket = context.wrap_socket(self.socket, server_side=True)


class _Handler(BaseHTTPRequestHandler):
    server: _TLSStash

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.seen.append(dict(self.headers.items()))
        body = json.dumps({"data": {"runPluginTask": "1"}}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost (what a loopback Stash serves)."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1"],
                   check=True, capture_output=True, timeout=60)
    return cert, key


@pytest.fixture
def tls_stash(certificate: tuple[Path, Path]) -> Iterator[_TLSStash]:
    server = _TLSStash(*certificate)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                     daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def _conn(server: _TLSStash, host: str = "127.0.0.1") -> dict[str, object]:
    return {"Scheme": "https", "Host": host, "Port": server.server_address[1],
            "SessionCookie": {"Name": "session", "Value": "COOKIE-TLS-1"}}


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_an_untrusted_certificate_on_loopback_is_refused_and_no_cookie_is_sent(
        tls_stash: _TLSStash, host: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ssl.SSLError, match="CERTIFICATE_VERIFY_FAILED"):
        request_drain(_conn(tls_stash, host))
    assert tls_stash.seen == []


def test_a_certificate_trusted_through_the_ca_bundle_setting_is_accepted(
        tls_stash: _TLSStash, certificate: tuple[Path, Path],
        monkeypatch: pytest.MonkeyPatch) -> None:
    # REQUESTS_CA_BUNDLE is what the tasks' Stash client (requests) trusts: the same here.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certificate[0]))
    request_drain(_conn(tls_stash))
    assert [h.get("Cookie") for h in tls_stash.seen] == ["session=COOKIE-TLS-1"]


@pytest.mark.parametrize("host", ["loca\xe4lhost", "l\u200bocalhost", "\uff4cocalhost",
                                  "b\xfccher.invalid"])
def test_a_non_ascii_host_never_reaches_the_ascii_host_it_would_be_mangled_into(
        host: str) -> None:
    # "locaälhost" with its non-ASCII letter dropped is "localhost": the cookie would go
    # there. Encoded with IDNA it is another name (which does not resolve here), or refused.
    listener = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    listener.seen = []   # type: ignore[attr-defined]
    threading.Thread(target=listener.serve_forever, kwargs={"poll_interval": 0.05},
                     daemon=True).start()
    try:
        conn = {"Scheme": "http", "Host": host, "Port": listener.server_address[1],
                "SessionCookie": {"Name": "session", "Value": "COOKIE-IDN-1"}, "ApiKey": "K-1"}
        with pytest.raises((OSError, ValueError)):
            request_drain(conn, timeout=1)
        assert listener.seen == []   # type: ignore[attr-defined]
    finally:
        listener.shutdown()
        listener.server_close()


@pytest.mark.parametrize("host", ["stash.lan\r\nX-Evil: 1", "stash lan", "stash.lan/x"])
def test_a_host_that_is_not_a_host_name_is_refused_before_connecting(host: str) -> None:
    conn = {"Scheme": "http", "Host": host, "Port": 9999, "SessionCookie": None}
    with pytest.raises(ValueError, match="not a valid host name"):
        request_drain(conn, timeout=1)


@pytest.mark.parametrize("bundle", ["", "/etc/custom-ca.pem"])
def test_the_raw_post_trusts_the_ca_bundle_the_tasks_requests_session_trusts(
        bundle: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import requests.utils

    from plexsync.core.http_env import pin_environment
    from plexsync.stash.post import ca_bundle
    from plexsync.stash.session import StashSession

    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    if bundle:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", bundle)
    session = StashSession("https://127.0.0.1:9999")
    pin_environment(session, "https://127.0.0.1:9999")
    used = session.verify if session.verify is not True else requests.utils.DEFAULT_CA_BUNDLE_PATH
    assert ca_bundle() == used
