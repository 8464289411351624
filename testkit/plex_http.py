"""HTTP plumbing for the fake Plex Media Server (see ``testkit.fake_plex``).

A stdlib ``ThreadingHTTPServer`` that speaks HTTP/1.1 keep-alive like PMS, reads plain and
chunked bodies, and can drop every open connection so ``go_down`` looks like a dead server to
pooled clients. It knows nothing about Plex: each request goes to the ``on_request`` callback
``FakePlex`` passes in, and routes answer with a ``Response`` or raise ``HTTPError``.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from testkit import plex_xml

XML = "text/xml;charset=utf-8"
HTML = "text/html"


@dataclass
class Request:
    method: str
    path: str  # URL-decoded, no query string
    pairs: list[tuple[str, str]]  # URL-decoded query, in order, repeats kept
    query: dict[str, str]  # the same, last one wins
    headers: dict[str, str]
    body: bytes


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str = XML
    headers: dict[str, str] = field(default_factory=dict)


class HTTPError(Exception):
    """A route's refusal: answered as an error page with ``status``."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def parse_int(text: str, what: str) -> int:
    """A non-negative integer parameter, or 400."""
    try:
        value = int(text)
    except ValueError:
        raise HTTPError(400, f"{what} must be an integer, got {text!r}") from None
    if value < 0:
        raise HTTPError(400, f"{what} must not be negative")
    return value


def parse_float(text: str, what: str) -> float:
    """A number parameter, or 400."""
    try:
        return float(text)
    except ValueError:
        raise HTTPError(400, f"{what} must be a number, got {text!r}") from None


def paging(req: Request, name: str) -> str | None:
    """Paging comes from a header or a query param of the same name (header wins)."""
    for key, value in req.headers.items():
        if key.lower() == name.lower():
            return value
    return req.query.get(name)


def xml_response(root: ET.Element) -> Response:
    """A MediaContainer answer, with PMS's paging headers."""
    return Response(200, plex_xml.to_bytes(root), headers=plex_xml.paging_headers(root))


def error_response(status: int, detail: str) -> Response:
    return Response(status, plex_xml.error_html(status, detail), HTML)


def read_body(handler: BaseHTTPRequestHandler) -> bytes:
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        chunks: list[bytes] = []
        while True:
            size = int(handler.rfile.readline().split(b";")[0].strip(), 16)
            if size == 0:
                while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline()
    length = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(length) if length > 0 else b""


def send(handler: BaseHTTPRequestHandler, response: Response) -> None:
    try:
        handler.send_response(response.status)
        handler.send_header("Content-Type", response.content_type)
        handler.send_header("Content-Length", str(len(response.body)))
        handler.send_header("X-Plex-Protocol", "1.0")
        for key, value in response.headers.items():
            handler.send_header(key, value)
        handler.end_headers()
        handler.wfile.write(response.body)
        handler.wfile.flush()
    except OSError:
        handler.close_connection = True


OnRequest = Callable[["Handler", str], None]  # (handler, HTTP method): read, answer, log


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], on_request: OnRequest) -> None:
        self.on_request = on_request
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        self._closing = False
        super().__init__(address, Handler)

    def track(self, conn: socket.socket, add: bool) -> None:
        with self._conns_lock:
            if not add:
                self._conns.discard(conn)
            elif self._closing:  # accepted just before go_down: drop it too
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
            else:
                self._conns.add(conn)

    def drop_connections(self) -> None:
        """Reset keep-alive connections so pooled clients see the server gone."""
        with self._conns_lock:
            self._closing = True
            conns, self._conns = list(self._conns), set()
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that time out or vanish are normal here: stay quiet."""


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like PMS
    disable_nagle_algorithm = True  # else headers+body as two writes cost 40 ms (delayed ACK)
    server: Server

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, False)

    def do_GET(self) -> None:
        self.server.on_request(self, "GET")

    def do_PUT(self) -> None:
        self.server.on_request(self, "PUT")

    def do_POST(self) -> None:
        self.server.on_request(self, "POST")

    def do_DELETE(self) -> None:
        self.server.on_request(self, "DELETE")

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the per-request stderr log."""
