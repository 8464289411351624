"""The health probe: one `GET /identity` to Plex over a plain socket, short timeout.

"Plex answers" means an HTTP status below 500: `/identity` needs no token on a real Plex
Media Server, and a 401 still proves the server is up (the token is the drain's problem, and
its error says so). Refused, timeout, reset, no HTTP answer or 5xx: Plex is down.

Standard library only, no `http.client` (its imports cost ~60 ms; the wake-up timer probes
from a background process that must stay light); `ssl` only for an https Plex, without
certificate checks when `verify` is off (the `verify_tls` setting). No token is sent, so no
token can leak into a log.
"""

from __future__ import annotations

import re
import socket
from urllib.parse import urlsplit

TIMEOUT = 3.0
_MAX = 64 * 1024
_VERSION = re.compile(rb'version="([^"]*)"')


class ProbeResult:
    """`ok`: Plex answers; `status`: HTTP status (0 = no HTTP answer); `version` when it
    answered 200; `detail`: one short reason for logs."""

    __slots__ = ("detail", "ok", "status", "version")

    def __init__(self, ok: bool, status: int, version: str, detail: str) -> None:
        self.ok, self.status, self.version, self.detail = ok, status, version, detail


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
        return ProbeResult(False, 0, "", f"{type(exc).__name__}: {exc}"[:160])
    status_line = raw.split(b"\r\n", 1)[0].split(b" ")
    status = int(status_line[1]) if len(status_line) > 1 and status_line[1].isdigit() else 0
    if status == 0:
        return ProbeResult(False, 0, "", "no HTTP answer")
    if status >= 500:
        return ProbeResult(False, status, "", f"HTTP {status}")
    found = _VERSION.search(raw) if status == 200 else None
    return ProbeResult(True, status, found.group(1).decode("latin-1") if found else "",
                       f"HTTP {status}")


def _tls(sock: socket.socket, host: str, verify: bool) -> socket.socket:
    import ssl

    context = ssl.create_default_context()
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context.wrap_socket(sock, server_hostname=host)


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
