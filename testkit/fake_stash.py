"""A fake Stash server on loopback for tests: Stash's GraphQL protocol over a schema subset.

``FakeStash`` runs a stdlib ``ThreadingHTTPServer`` in a daemon thread on 127.0.0.1.
graphql-core executes ``POST /graphql`` over ``testkit/stash_subset.graphql``, a hand-written
subset of Stash's schema with the same names. tests/contract checks that subset against the
real schema. Tests drive the fake through the real clients: stashapp-tools' ``StashInterface``,
or the plugin's own raw HTTP. This module has the HTTP side: lifecycle, auth, faults, media,
the request log and plugin stdin documents. The schema, executor and resolvers live in
``testkit/stash_graphql.py``; rows, the setup API and query semantics in
``testkit/stash_data.py`` (with ``stash_rows.py`` and ``stash_query.py``).

What matches Stash (about v0.30.1):
- Auth. When Stash has credentials, a request must carry the session cookie
  (``Cookie: session=...``) or the ``ApiKey`` header (or ``?apikey=``). Otherwise the reply
  is HTTP 401 with ``WWW-Authenticate: FormBased`` and an empty body. A wrong ApiKey is
  refused even next to a valid cookie, and even on a Stash with no credentials. With no
  api_key and no session, no credential is needed.
- Status codes, as gqlgen sends them. Parse, validation and variable errors get 422 with
  ``data: null``. Resolver errors get 200 with ``errors`` beside ``data``. A body that is
  not JSON gets 400.
- ``configuration { plugins(include:) }``: with ``include``, empty configs are left out.
  ``configurePlugin`` REPLACES the plugin's whole map. ``runPluginTask`` uses ``args_map``,
  or else the deprecated ``args`` list converted to a map, and returns job ids "1", "2", ...
- Timestamps are Go RFC3339 to whole seconds, in the server's offset (``Z`` for UTC).
  Filters compare them as text. ``paths.screenshot`` is
  ``<base>/scene/<id>/screenshot?t=<unix updated_at>``, so every edit changes it, not only
  a cover change. GET on it serves the cover with ETag/304. It serves Stash's placeholder
  SVG when the scene has no cover, and 404 for an unknown id. ``<base>`` is the request's
  Host.
- ``server_connection()`` returns exactly what Stash writes to a plugin's stdin.
  SessionCookie is null on a Stash without credentials.

Simplified:
- There is one in-memory store behind one lock, so requests run one at a time.
- Hooks fire from ``sceneUpdate`` and the mutations of ``testkit/stash_objects.py``
  (performer, tag, studio and group edits, tag merges, scene deletion): ``fired_hooks``
  records them and ``on_hook`` runs them (``testkit/stash_hooks.PluginHooks`` runs
  ``plexsync.py`` for each, as Stash does). The setup API (``add_scene``, ``update_scene``...)
  fires none: tests send those scenes' hooks themselves.
- Tasks run only when a test asks: ``task_runs`` records task
  requests, and ``on_task_run`` can act on them (``testkit/stash_jobs.PluginJobs`` runs them
  one at a time as Stash's job manager does). That callback runs in the server thread before
  the response goes out, so start a thread for long work.
- Only ``POST /graphql`` is served; gqlgen's GET and websocket transports are not.
- The schema is a subset: no galleries, images, markers or stash-box.
- Media other than the screenshot is not served.
- updated_at moves at least 1 s per edit, so one scene's edits always order. Real Stash can
  repeat a second.
- Requests to ``/scene/...`` without credentials get 401. Real Stash answers them with a 302
  to /login; ``login_redirect=True`` does the same here.
- ``redirect(status, to, path_prefix=)`` answers every matching request with a redirect to
  the same path on ``to``, before auth: a (misconfigured or hostile) proxy in front of Stash,
  which Stash itself never is.
- ``refuse_credentials = True``: Stash refuses every session cookie and API key it is sent
  (a password or API key changed, sessions reset), answering as it answers any refused
  credential (``pkg/session``'s ErrUnauthorized): 401, ``WWW-Authenticate: FormBased``, an
  empty body. ``proxy_status = 502`` (or 503): a reverse proxy in front of a Stash that is
  away answers every request with that status and its HTML error page. Both hold until reset.
"""

from __future__ import annotations

import hashlib
import json
import re
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http import HTTPStatus
from http.cookies import CookieError, SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from testkit import stash_data as sd
from testkit.stash_graphql import (
    SCHEMA_PATH,
    STASH_VERSION,
    Info,
    RequestContext,
    StashGraphQL,
    error_body,
    load_schema,
)

__all__ = [
    "SCENE_FIELDS", "SCHEMA_PATH", "STASH_VERSION", "FakeStash", "GqlRecord", "HttpRecord",
    "Info", "Reply", "RequestContext", "load_schema",
]

SCENE_FIELDS = """id title code details director urls date rating100 organized created_at
updated_at studio { id name } performers { id name } tags { id name }
groups { group { id name } scene_index } stash_ids { endpoint stash_id updated_at }
files { id path basename size duration width height parent_folder { path } }
paths { screenshot preview stream }
play_history play_count last_played_at resume_time play_duration"""
Reply = tuple[int, bytes, str, dict[str, str]]  # status, body, content type, headers


@dataclass(frozen=True)
class GqlRecord:
    """One GraphQL HTTP request as the fake saw it."""

    query: str
    variables: dict[str, Any]
    operation_name: str | None
    status: int
    authenticated: bool
    errors: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        """operationName if sent, else the name in the document (``query FindScenes``)."""
        if self.operation_name:
            return self.operation_name
        match = re.search(r"\b(?:query|mutation)\s+(\w+)", self.query)
        return match.group(1) if match else ""


@dataclass(frozen=True)
class HttpRecord:
    method: str
    path: str  # with the query string
    status: int


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], fake: FakeStash) -> None:
        self.fake = fake
        self.open_sockets: set[socket.socket] = set()
        self.sockets_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.sockets_lock:
            self.open_sockets.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.sockets_lock:
            self.open_sockets.discard(request)
        super().shutdown_request(request)

    def drop_connections(self) -> None:
        with self.sockets_lock:
            sockets, self.open_sockets = list(self.open_sockets), set()
        for sock in sockets:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # connections cut by go_down() are expected


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as Go's net/http
    server: _Server

    def setup(self) -> None:
        super().setup()
        # headers and body go out as separate writes: without this, Nagle + delayed ACK
        # add ~40 ms to every keep-alive request
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_POST(self) -> None:
        self.server.fake._dispatch(self)

    def do_GET(self) -> None:
        self.server.fake._dispatch(self)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class FakeStash(StashGraphQL):
    """A fake Stash; see the module docstring. The setup API (add_scene, update_scene,
    set_screenshot, ...) comes from ``StashStore``, the GraphQL resolvers and the settings
    they expose (plugin_config, task_runs, ...) from ``StashGraphQL``. Public attributes
    may be changed."""

    def __init__(
        self,
        api_key: str = "",
        session_cookie: str = "test-session",
        plugin_dir: str = "/tmp/plugins/PlexSync",
        *,
        utc_offset: timedelta = timedelta(0),
        login_redirect: bool = False,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        super().__init__(
            utc_offset, clock, api_key=api_key, session_cookie=session_cookie,
            plugin_dir=plugin_dir,
        )
        self.login_redirect = login_redirect
        # Stash's "external host" setting: when set, the URLs Stash builds (paths.screenshot)
        # start with it instead of the request's own Host.
        self.external_host = ""
        self.latency = 0.0  # seconds of delay before every response
        self.refuse_credentials = False  # every cookie and API key refused (401)
        self.proxy_status = 0  # a proxy's error status for every request (502, 503); 0: none
        self._log_lock = threading.Lock()
        self._requests: list[GqlRecord] = []
        self._http: list[HttpRecord] = []
        self._failures: list[tuple[int, str]] = []  # (status, path prefix) per request
        self._redirects: list[tuple[int, str, str, bool]] = []  # status, to, prefix, drop it
        self._server: _Server | None = None
        self._port = 0

    # ------------------------------------------------------------------ lifecycle, faults

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    @property
    def port(self) -> int:
        return self._port

    def start(self) -> FakeStash:
        self.come_up()
        return self

    def stop(self) -> None:
        self.go_down()

    def __enter__(self) -> FakeStash:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def go_down(self) -> None:
        """Stop listening and cut open keep-alive connections: clients get refused."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
            server.drop_connections()

    def come_up(self) -> None:
        """Listen (again), on the same port as before."""
        if self._server is not None:
            return
        server = _Server(("127.0.0.1", self._port), self)
        self._port, self._server = server.server_address[1], server
        threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def fail_next(self, n: int, status: int = 500, *, path_prefix: str = "/") -> None:
        """The next ``n`` requests whose path starts with ``path_prefix`` get ``status``
        with a plain-text body, before auth and before any GraphQL runs."""
        with self._log_lock:
            self._failures.extend([(status, path_prefix)] * n)

    def redirect(self, status: int, to: str = "", *, path_prefix: str = "/",
                 drop_prefix: bool = False) -> None:
        """From now on, every request whose path starts with ``path_prefix`` is answered with
        ``status`` and ``Location`` = the same path and query on ``to`` ("" = this server;
        with ``drop_prefix``, the path without ``path_prefix``), before auth and before any
        GraphQL runs, as a proxy in front of Stash would."""
        with self._log_lock:
            self._redirects.append((status, to.rstrip("/"), path_prefix, drop_prefix))

    def clear_redirects(self) -> None:
        with self._log_lock:
            self._redirects.clear()

    # ------------------------------------------------------------------ plugin stdin

    def server_connection(self, *, host: str = "127.0.0.1") -> dict[str, Any]:
        """What Stash writes as ``server_connection`` on a plugin's stdin. Real Stash sends
        its configured host, often "0.0.0.0"; pass ``host=`` to mimic that."""
        cookie = None
        if self.session_cookie:
            cookie = {
                "Name": "session", "Value": self.session_cookie, "Path": "", "Domain": "",
                "Expires": "0001-01-01T00:00:00Z", "RawExpires": "", "MaxAge": 0,
                "Secure": False, "HttpOnly": False, "SameSite": 0, "Raw": "", "Unparsed": None,
            }  # fmt: skip
        return {
            "Scheme": "http", "Host": host, "Port": self._port, "SessionCookie": cookie,
            "Dir": self.config_dir, "PluginDir": self.plugin_dir,
        }  # fmt: skip

    def task_input(self, args: Mapping[str, Any]) -> dict[str, Any]:
        """A task's stdin document: ``{"server_connection": ..., "args": args}``."""
        return {"server_connection": self.server_connection(), "args": dict(args)}

    def hook_input(
        self,
        scene_id: int,
        hook_type: str = "Scene.Update.Post",
        input: Mapping[str, Any] | None = None,
        input_fields: Iterable[str] | None = None,
        default_args: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A hook's stdin document. ``input`` stays null unless given, as a scan sends it."""
        context: dict[str, Any] = {"id": scene_id} if scene_id else {}
        context.update(type=hook_type, input=dict(input) if input is not None else None)
        context["inputFields"] = list(input_fields) if input_fields is not None else None
        args = {**(default_args or {}), "hookContext": context}
        return {"server_connection": self.server_connection(), "args": args}

    # ------------------------------------------------------------------ request log

    @property
    def requests(self) -> list[GqlRecord]:
        """Every GraphQL request so far (a copy)."""
        with self._log_lock:
            return list(self._requests)

    @property
    def http_requests(self) -> list[HttpRecord]:
        """Every HTTP request so far, GraphQL and media (a copy)."""
        with self._log_lock:
            return list(self._http)

    def count(self, operation_substring: str | None = None) -> int:
        """GraphQL requests whose document contains the substring (all when None)."""
        wanted = operation_substring
        return sum(1 for r in self.requests if wanted is None or wanted in r.query)

    def clear_requests(self) -> None:
        with self._log_lock:
            self._requests.clear()
            self._http.clear()

    # ------------------------------------------------------------------ GraphQL

    def scene(self, scene_id: int) -> dict[str, Any]:
        """The scene as findScene returns it, related objects with names. KeyError if gone."""
        query = f"query Scene($id: ID) {{ findScene(id: $id) {{ {SCENE_FIELDS} }} }}"
        found: dict[str, Any] | None = self.execute(query, {"id": str(scene_id)})["findScene"]
        if found is None:
            raise KeyError(scene_id)
        return found

    def execute(self, query: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Run a document in-process (no HTTP, no auth, not logged). Raises on errors."""
        status, body = self._graphql({"query": query, "variables": dict(variables or {})}, self.url)
        if status != 200 or body.get("errors"):
            raise RuntimeError(f"GraphQL {status}: {body.get('errors')}")
        data: dict[str, Any] = body["data"]
        return data

    # ------------------------------------------------------------------ HTTP

    def _authenticated(self, handler: _Handler, query: Mapping[str, list[str]]) -> bool:
        key = handler.headers.get("ApiKey") or (query.get("apikey") or [""])[0]
        if key:
            return bool(self.api_key) and key == self.api_key
        if not self.api_key and not self.session_cookie:
            return True
        cookies: SimpleCookie = SimpleCookie()
        with suppress(CookieError):
            cookies.load(handler.headers.get("Cookie") or "")
        sent = cookies.get("session")
        return bool(self.session_cookie) and sent is not None and sent.value == self.session_cookie

    def _take_failure(self, path: str) -> int | None:
        with self._log_lock:
            for i, (status, prefix) in enumerate(self._failures):
                if path.startswith(prefix):
                    del self._failures[i]
                    return status
        return None

    def _dispatch(self, handler: _Handler) -> None:
        split = urllib.parse.urlsplit(handler.path)
        path, query = split.path, urllib.parse.parse_qs(split.query)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        if self.latency:
            time.sleep(self.latency)
        is_gql = path == "/graphql" and handler.command == "POST"
        failure = self._take_failure(path)
        redirect = self._redirect_for(handler.path, path)
        authed = self._authenticated(handler, query) and not self.refuse_credentials
        reply: Reply
        if self.proxy_status:
            reply = self.proxy_status, _proxy_page(self.proxy_status), "text/html", {}
        elif redirect is not None:
            reply = redirect
        elif failure is not None:
            reply = failure, _status_text(failure).encode(), "text/plain; charset=utf-8", {}
        elif path.startswith("/login"):
            reply = 200, b"<html><body>Stash login</body></html>", "text/html", {}
        elif not authed:
            reply = self._refuse(path, handler.path)
        elif is_gql:
            reply = self._serve_graphql(handler, raw)
        else:
            reply = self._serve_media(handler, path)
        status, body, content_type, headers = reply
        if is_gql:
            self._log_graphql(raw, status, body, authed)
        with self._log_lock:
            self._http.append(HttpRecord(handler.command, handler.path, status))
        handler.send_response(status)
        for name, value in {"Content-Type": content_type, **headers}.items():
            if value:
                handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def _redirect_for(self, full_path: str, path: str) -> Reply | None:
        with self._log_lock:
            rules = list(self._redirects)
        for status, to, prefix, drop in rules:
            if path.startswith(prefix):
                rest = full_path[len(prefix):] if drop else full_path
                return status, b"", "", {"Location": (to or self.url) + rest}
        return None

    def _refuse(self, path: str, full_path: str) -> Reply:
        has_extension = "." in path.rsplit("/", 1)[-1]
        if self.login_redirect and path != "/graphql" and not has_extension:
            location = "/login?" + urllib.parse.urlencode({"returnURL": full_path})
            return 302, b"", "", {"Location": location}
        return 401, b"", "", {"WWW-Authenticate": "FormBased"}

    def _serve_graphql(self, handler: _Handler, raw: bytes) -> Reply:
        try:
            payload = json.loads(raw or b"null")
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            body = error_body("json request body could not be decoded", "BAD_REQUEST")
            return 400, json.dumps(body).encode(), "application/json", {}
        host = handler.headers.get("Host") or f"127.0.0.1:{self._port}"
        status, out = self._graphql(payload, self.external_host or f"http://{host}")
        return status, json.dumps(out).encode(), "application/json", {}

    def _serve_media(self, handler: _Handler, path: str) -> Reply:
        match = re.fullmatch(r"/scene/(\d+)/screenshot", path)
        if handler.command != "GET" or match is None:
            return 404, b"404 page not found\n", "text/plain; charset=utf-8", {}
        scene_id = int(match.group(1))
        with self._lock:
            data = self.screenshot_bytes(scene_id) if scene_id in self._scenes else None
        if data is None:
            return 404, b"Not Found\n", "text/plain; charset=utf-8", {}
        etag = f'"{hashlib.md5(data).hexdigest()}"'
        if etag in (handler.headers.get("If-None-Match") or ""):
            return 304, b"", "", {"ETag": etag}
        return 200, data, sd.image_content_type(data), {"ETag": etag}

    def _log_graphql(self, raw: bytes, status: int, body: bytes, authed: bool) -> None:
        try:
            payload = json.loads(raw or b"{}")
        except ValueError:
            payload = {}
        payload = payload if isinstance(payload, dict) else {}
        errors: list[str] = []
        if body.startswith(b"{"):
            errors = [str(e.get("message")) for e in json.loads(body).get("errors") or []]
        variables = payload.get("variables")
        record = GqlRecord(
            query=str(payload.get("query") or ""),
            variables=dict(variables) if isinstance(variables, dict) else {},
            operation_name=payload.get("operationName") or None,
            status=status,
            authenticated=authed,
            errors=errors,
        )
        with self._log_lock:
            self._requests.append(record)


def _status_text(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def _proxy_page(status: int) -> bytes:
    """The error page nginx serves for `status` (502 when Stash behind it refuses, 503...)."""
    title = _status_text(status)
    return (f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}"
            "</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n").encode()
