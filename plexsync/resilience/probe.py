"""The health probe: one `GET /identity` to Plex over a plain socket, short timeout.

THE definition of "Plex is up", shared by the breaker's probe (tasks and the wake-up timer),
Health Check and the drain's start: the current settings' `plex_url`, the same TLS trust as the
sync's `requests` session, and an answer of 200 whose body is a Plex identity (a
`<MediaContainer ... machineIdentifier=...>`). Anything else is "down": refused, timeout,
reset, no HTTP answer, 5xx, and also a 404 or a redirect from a proxy in front of Plex, or a
401 (a real Plex Media Server answers `/identity` without a token), since the drain cannot
work against those either. So the probe and the drain never disagree, and the breaker does not
flip-flop between a probe that "succeeds" and a drain that fails.

TLS: certificates are checked unless `verify` is off (the `verify_tls` setting), against the
CA bundle `requests` would use: `REQUESTS_CA_BUNDLE`, else `SSL_CERT_FILE`, else certifi's when
it is installed, else the system's. A certificate that does not verify is a set-up error, not
an outage: `ProbeResult.setup` then says how to fix it (Health Check and the log show it).

Standard library only, no `http.client` (its imports cost ~60 ms; the wake-up timer probes
from a background process that must stay light); `ssl` only for an https Plex. No token is
sent, so no token can leak into a log.
"""

from __future__ import annotations

import re
import socket
from urllib.parse import urlsplit

TIMEOUT = 3.0
_MAX = 64 * 1024
_VERSION = re.compile(rb'<MediaContainer[^>]*\sversion="([^"]*)"')   # not <?xml version
_IDENTITY = re.compile(rb'<MediaContainer[^>]*\smachineIdentifier="[^"]+"')


CERT_FIX = ("Trust Plex's certificate authority (set REQUESTS_CA_BUNDLE or SSL_CERT_FILE to "
            "its CA file for the user running Stash), or turn verify_tls off for a self-signed "
            "Plex.")


class ProbeResult:
    """`ok`: Plex is up; `status`: HTTP status (0 = no HTTP answer); `version` when it
    answered; `detail`: one short reason for logs; `setup`: the fix when the failure is a
    set-up error (a certificate that does not verify), "" otherwise."""

    __slots__ = ("detail", "ok", "setup", "status", "version")

    def __init__(self, ok: bool, status: int, version: str, detail: str,
                 setup: str = "") -> None:
        self.ok, self.status, self.version, self.detail = ok, status, version, detail
        self.setup = setup


def probe(plex_url: str, timeout: float = TIMEOUT, verify: bool = True) -> ProbeResult:
    """Ask Plex for `/identity` once; never raises."""
    try:
        parts = urlsplit(plex_url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 32400)
    except ValueError as exc:
        return ProbeResult(False, 0, "", f"plex_url is not a URL ({exc})")
    if not host or parts.scheme not in ("http", "https"):
        return ProbeResult(False, 0, "", "plex_url is not an http(s) URL")
    base = parts.path.rstrip("/")
    request = (f"GET {base}/identity HTTP/1.1\r\nHost: {host}:{port}\r\n"
               "Accept: application/xml\r\nConnection: close\r\n\r\n").encode("latin-1")
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
        try:
            if parts.scheme == "https":
                sock = _tls(sock, host, verify)
            sock.sendall(request)
            raw = _read(sock)
        finally:
            sock.close()
    except OSError as exc:
        detail = f"{type(exc).__name__}: {exc}"[:160]
        if type(exc).__name__ == "SSLCertVerificationError":
            return ProbeResult(False, 0, "", detail, setup=CERT_FIX)
        return ProbeResult(False, 0, "", detail)
    status_line = raw.split(b"\r\n", 1)[0].split(b" ")
    status = int(status_line[1]) if len(status_line) > 1 and status_line[1].isdigit() else 0
    if status == 0:
        return ProbeResult(False, 0, "", "no HTTP answer")
    if status != 200:
        return ProbeResult(False, status, "", f"HTTP {status}")
    if not _IDENTITY.search(raw):
        return ProbeResult(False, status, "", "HTTP 200 but not a Plex identity")
    found = _VERSION.search(raw)
    return ProbeResult(True, status, found.group(1).decode("latin-1") if found else "",
                       f"HTTP {status}")


def _tls(sock: socket.socket, host: str, verify: bool) -> socket.socket:
    import ssl

    context = ssl.create_default_context(cafile=ca_bundle())
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context.wrap_socket(sock, server_hostname=host)


def ca_bundle() -> str | None:
    """The CA file `requests` would verify Plex against (module docstring); None = the
    system's store."""
    import os

    for name in ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"):
        if os.environ.get(name):
            return os.environ[name]
    try:
        import certifi
    except ImportError:
        return None
    found: str = certifi.where()
    return found


def _read(sock: socket.socket) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while size < _MAX:
        chunk = sock.recv(16384)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
        if b"</MediaContainer>" in chunk or (b"\r\n\r\n" in b"".join(chunks)
                                              and b"Content-Length: 0" in chunks[0]):
            break
    return b"".join(chunks)
