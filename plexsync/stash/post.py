"""The raw-socket request to Stash: `runPluginTask(Process Queue)`, for the hook and the
wake-up timer (both import it from here, the stash layer, beside the documents).

One GraphQL POST (HTTP/1.1, `Connection: close`) with a short timeout. It is written on a plain
socket because `http.client` costs ~60 ms of imports (email, ssl), more than half of a hook's
budget (docs/design.md, "Hook budget"); `ssl` is imported only for an https Stash. On failure
(refused, timeout, non-200, GraphQL error) the caller withdraws its marker, so the next hook
tries again; the job itself is already safe.

A redirect is never followed: a 3xx is a non-200 answer like any other, so the session cookie
and API key go only to the address Stash gave in server_connection (the wake-up timer sends
its request through here too; tests/stash/test_post.py).

Invariants (docs/reliability.md, "Secrets"):
- One TLS policy for every connection to Stash, the tasks' `requests` session included: the
  certificate and the host name are always checked, loopback too, against the CA bundle
  `requests` would use (`ca_bundle`: REQUESTS_CA_BUNDLE, else CURL_CA_BUNDLE, else certifi's,
  else the system's). A failed check raises `ssl.SSLError` before anything is sent.
- The host is used exactly as named or not at all: a non-ASCII name is IDNA-encoded (never
  stripped of its non-ASCII letters into another, ASCII, host); a name that does not encode,
  or holds characters no host name has (spaces, CR/LF, `/`, `@`), raises ValueError before
  any connection.
"""

from __future__ import annotations

from plexsync import PLUGIN_ID
from plexsync.core import fastjson as json
from plexsync.stash.documents import RUN_PLUGIN_TASK

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

TASK_NAME = "Process Queue"   # the task's name in PlexSync.yml
TASK_ARGS = {"mode": "process_queue"}
POST_TIMEOUT = 2.0
_MAX_REPLY = 1 << 20
# Characters a DNS name or an IP literal (v4, v6, zone id) may hold once IDNA-encoded.
_HOST_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_:%")


class CredentialsRefused(ValueError):
    """Stash answered 401/403: it refused the session cookie or API key it was sent."""


def request_drain(server_connection: Mapping[str, Any], timeout: float = POST_TIMEOUT) -> None:
    """Ask Stash to queue Process Queue. Raises OSError/ValueError with a short reason."""
    reply = post_graphql(
        server_connection, RUN_PLUGIN_TASK,
        {"plugin_id": PLUGIN_ID, "task_name": TASK_NAME, "args_map": TASK_ARGS}, timeout,
    )
    if not reply.get("runPluginTask"):
        raise ValueError("Stash returned no job id")


def post_graphql(
    conn: Mapping[str, Any], document: str, variables: Mapping[str, Any], timeout: float
) -> dict[str, Any]:
    """One GraphQL POST to Stash with the plugin's session cookie (or API key); returns data."""
    scheme = str(conn.get("Scheme") or "http").lower()
    host = str(conn.get("Host") or "localhost")
    host = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(host, host)
    host = ascii_host(host)
    port = int(conn.get("Port") or 9999)
    body = json.dumps({"query": document, "variables": dict(variables)}).encode()
    headers = {
        "Host": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
        "Content-Type": "application/json",
        "Accept": "application/json",
        "Content-Length": str(len(body)),
        "Connection": "close",
    }
    cookie = conn.get("SessionCookie")
    if isinstance(cookie, dict) and cookie.get("Value"):
        headers["Cookie"] = f"{cookie.get('Name') or 'session'}={cookie['Value']}"
    if conn.get("ApiKey"):
        headers["ApiKey"] = str(conn["ApiKey"])
    head = "POST /graphql HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    if scheme == "https":
        import socket  # ssl needs a socket.socket; TLS costs its imports anyway

        sock: Any = _wrap_tls(socket.create_connection((host, port), timeout=timeout), host)
    else:
        sock = _connect(host, port, timeout)
    try:
        sock.sendall(head.encode("latin-1") + b"\r\n" + body)
        raw = _read_all(sock)
    finally:
        sock.close()
    return _parse_reply(raw)


def ascii_host(host: str) -> str:
    """`host` as it goes on the wire: IDNA-encoded when not ASCII; ValueError when it does not
    encode or is not a host name at all (see the module invariants)."""
    if not host.isascii():
        try:
            encoded = host.encode("idna").decode("ascii")
        except UnicodeError:
            encoded = ""
        # IDNA maps some characters to nothing or to ASCII ("l\u200blocalhost", fullwidth
        # letters): a name that comes out without a punycode label is refused as ambiguous.
        if "xn--" not in encoded.lower():
            raise ValueError(f"Stash's host {host!r} is not a valid host name (no unambiguous "
                             "IDNA form); check Stash's host setting")
        host = encoded
    if not host or not set(host) <= _HOST_CHARS:
        raise ValueError(f"Stash's host {host!r} is not a valid host name; check Stash's "
                         "host setting")
    return host


def ca_bundle() -> str | None:
    """The CA file every https connection to Stash trusts: the one `requests` (the tasks'
    client) would use. None: the system's store (no certifi installed)."""
    import os

    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        if os.environ.get(name):
            return os.environ[name]
    from plexsync.core import site_packages  # the hook runs with -S; only https pays this

    site_packages.load()
    try:
        import certifi
    except ImportError:
        return None
    where: str = certifi.where()
    return where


def tls_context() -> Any:
    """The one TLS policy for Stash: certificate and host name checked, loopback included."""
    import os
    import ssl

    bundle = ca_bundle()
    if bundle and os.path.isdir(bundle):
        return ssl.create_default_context(capath=bundle)
    return ssl.create_default_context(cafile=bundle)


def _connect(host: str, port: int, timeout: float) -> Any:
    """`socket.create_connection` on the C module: `socket.py` costs ~5 ms of imports (enum
    conversions, selectors) on the hook path, `_socket` well under one. A bytes host also
    skips the `idna` codec a str host costs in getaddrinfo."""
    try:
        import _socket as sockets
    except ImportError:  # an interpreter without the C module: the public one has the same API
        import socket as sockets  # type: ignore[no-redef]

    error: OSError | None = None
    for family, kind, proto, _, address in sockets.getaddrinfo(
            host.encode("ascii"), port, 0, sockets.SOCK_STREAM):
        sock = sockets.socket(family, kind, proto)
        try:
            sock.settimeout(timeout)
            sock.connect(address)
            return sock
        except OSError as exc:
            sock.close()
            error = exc
    raise error or OSError(f"no address found for {host}")


def _wrap_tls(sock: Any, host: str) -> Any:
    try:
        return tls_context().wrap_socket(sock, server_hostname=host)
    except BaseException:
        sock.close()
        raise


def _read_all(sock: Any) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while size <= _MAX_REPLY:
        chunk = sock.recv(65536)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _parse_reply(raw: bytes) -> dict[str, Any]:
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        raise ValueError("Stash closed the connection without a complete answer")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
    if status in (401, 403):
        raise CredentialsRefused(f"HTTP {status}")
    if status != 200:
        raise ValueError(f"Stash answered HTTP {status or lines[0][:40]!r}")
    if any(line.lower().replace(" ", "") == "transfer-encoding:chunked" for line in lines[1:]):
        body = _dechunk(body)
    doc = json.loads(body.decode("utf-8"))
    errors = doc.get("errors") if isinstance(doc, dict) else None
    if errors:
        first = errors[0].get("message") if isinstance(errors[0], dict) else errors[0]
        raise ValueError(f"Stash rejected the request: {str(first)[:200]}")
    data = doc.get("data") if isinstance(doc, dict) else None
    return data if isinstance(data, dict) else {}


def _dechunk(body: bytes) -> bytes:
    out = bytearray()
    while body:
        size_line, _, body = body.partition(b"\r\n")
        size = int(size_line.split(b";")[0].strip() or b"0", 16)
        if size == 0:
            break
        out += body[:size]
        body = body[size + 2:]
    return bytes(out)
