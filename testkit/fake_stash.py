"""A fake Stash server on loopback for tests: Stash's GraphQL protocol over a schema subset.

``FakeStash`` runs a stdlib ``ThreadingHTTPServer`` in a daemon thread on 127.0.0.1.
graphql-core executes ``POST /graphql`` over ``testkit/stash_subset.graphql``, a hand-written
subset of Stash's schema with the same names. tests/contract checks that subset against the
real schema. Tests drive the fake through the real clients: stashapp-tools' ``StashInterface``,
or the plugin's own raw HTTP. Rows and query semantics live in ``testkit/stash_data.py``.

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
- Hooks never fire and tasks never run. ``task_runs`` records task requests, and
  ``on_task_run`` can act on them. That callback runs in the server thread before the
  response goes out, so start a thread for long work.
- Only ``POST /graphql`` is served; gqlgen's GET and websocket transports are not.
- The schema is a subset: no galleries, images, markers or stash-box.
- Media other than the screenshot is not served.
- updated_at moves at least 1 s per edit, so one scene's edits always order. Real Stash can
  repeat a second.
- Requests to ``/scene/...`` without credentials get 401. Real Stash answers them with a 302
  to /login; ``login_redirect=True`` does the same here.
"""

from __future__ import annotations

import copy
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
from pathlib import Path
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLResolveInfo,
    GraphQLSchema,
    build_schema,
    execute_sync,
    get_operation_ast,
    parse,
    validate,
)
from graphql.execution.values import get_variable_values

from testkit import stash_data as sd

SCHEMA_PATH = Path(__file__).with_name("stash_subset.graphql")
STASH_VERSION = {"version": "v0.30.1", "hash": "cf3489efd", "build_time": "2026-01-11 10:00:00"}
SCENE_FIELDS = """id title code details director urls date rating100 organized created_at
updated_at studio { id name } performers { id name } tags { id name }
groups { group { id name } scene_index } stash_ids { endpoint stash_id updated_at }
files { id path basename size duration width height parent_folder { path } }
paths { screenshot preview stream }"""
Reply = tuple[int, bytes, str, dict[str, str]]  # status, body, content type, headers

_schema: GraphQLSchema | None = None


def load_schema() -> GraphQLSchema:
    """The subset schema, built once per process."""
    global _schema
    if _schema is None:
        _schema = build_schema(SCHEMA_PATH.read_text(encoding="utf-8"))
    return _schema


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


@dataclass
class RequestContext:
    """graphql-core context_value: the URL base for paths, and work to run after the lock."""

    base_url: str
    after: list[Callable[[], None]] = field(default_factory=list)


Info = GraphQLResolveInfo[RequestContext]


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


class FakeStash(sd.StashStore):
    """A fake Stash; see the module docstring. The setup API (add_scene, update_scene,
    set_screenshot, ...) comes from ``StashStore``. Public attributes may be changed."""

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
        super().__init__(utc_offset, clock)
        self.api_key = api_key
        self.session_cookie = session_cookie
        self.plugin_dir = plugin_dir
        self.config_dir = "/root/.stash"
        self.login_redirect = login_redirect
        self.library_paths: list[str] = ["/data"]
        self.plugin_config: dict[str, dict[str, Any]] = {}
        self.task_runs: list[dict[str, Any]] = []
        self.on_task_run: Callable[[dict[str, Any]], None] | None = None
        self.latency = 0.0  # seconds of delay before every response
        self.schema = load_schema()
        self._log_lock = threading.Lock()
        self._requests: list[GqlRecord] = []
        self._http: list[HttpRecord] = []
        self._failures: list[tuple[int, str]] = []  # (status, path prefix) per request
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

    def _graphql(self, payload: Mapping[str, Any], base_url: str) -> tuple[int, dict[str, Any]]:
        """Parse, validate, coerce variables (422 on failure, as gqlgen), then execute."""
        query, variables = payload.get("query"), payload.get("variables") or {}
        op_name = payload.get("operationName") or None
        if not isinstance(query, str) or not query or not isinstance(variables, dict):
            return 422, _error_body("no operation provided", "GRAPHQL_VALIDATION_FAILED")
        try:
            document, errors = _checked_document(self.schema, query)
        except GraphQLError as err:
            return 422, _error_body(err.message, "GRAPHQL_PARSE_FAILED")
        operation = get_operation_ast(document, op_name)
        if not errors and operation is None:
            errors = [GraphQLError(f"operation {op_name or '(unnamed)'} not found")]
        if not errors and operation is not None:
            coerced = get_variable_values(
                self.schema, operation.variable_definitions or (), variables
            )
            errors = coerced if isinstance(coerced, list) else []
        if errors:
            found = [_formatted(e, "GRAPHQL_VALIDATION_FAILED") for e in errors]
            return 422, {"errors": found, "data": None}
        context = RequestContext(base_url)
        with self._lock:
            result = execute_sync(
                self.schema,
                document,
                root_value=self._root(),
                context_value=context,
                variable_values=variables,
                operation_name=op_name,
            )
        for action in context.after:
            action()
        if result.errors:
            return 200, {"errors": [_formatted(e) for e in result.errors], "data": result.data}
        return 200, {"data": result.data}

    def _root(self) -> dict[str, Any]:
        return {
            "findScene": self._find_scene,
            "findScenes": self._find_scenes,
            "configuration": self._configuration,
            "systemStatus": self._system_status,
            "version": lambda _info: dict(STASH_VERSION),
            "sceneUpdate": self._scene_update,
            "configurePlugin": self._configure_plugin,
            "runPluginTask": self._run_plugin_task,
        }

    def _find_scene(
        self, info: Info, id: str | None = None, checksum: str | None = None
    ) -> dict[str, Any] | None:
        if id is not None:
            scene = self._scenes.get(sd.to_int(id))
        elif checksum is not None:
            hits = (s for s in self._scenes.values() if checksum in (f.oshash for f in s.files))
            scene = next(hits, None)
        else:
            return None
        return self.scene_obj(scene, info.context.base_url) if scene else None

    def _find_scenes(
        self,
        info: Info,
        scene_filter: dict[str, Any] | None = None,
        scene_ids: list[int] | None = None,
        ids: list[str] | None = None,
        filter: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        id_list = [sd.to_int(i) for i in ids] if ids else scene_ids
        upper = sd.go_rfc3339(self.clock() + timedelta(days=1), self.utc_offset)
        try:
            found = sd.query_scenes(self._scenes, scene_filter, filter, id_list, upper)
        except re.error as err:
            raise sd.FilterError(f"invalid regex: {err}") from err
        base = info.context.base_url
        return {
            "count": found.count,
            "duration": found.duration,
            "filesize": found.filesize,
            "scenes": [self.scene_obj(s, base) for s in found.scenes],
        }

    def _configuration(self, _info: Info) -> dict[str, Any]:
        general = {
            "stashes": [
                {"path": p, "excludeVideo": False, "excludeImage": False}
                for p in self.library_paths
            ],
            "databasePath": f"{self.config_dir}/stash-go.sqlite",
            "generatedPath": f"{self.config_dir}/generated",
            "configFilePath": f"{self.config_dir}/config.yml",
            "pluginsPath": str(Path(self.plugin_dir).parent),
            "apiKey": self.api_key,
            "username": "stash" if self.session_cookie or self.api_key else "",
            "logLevel": "Info",
            "pythonPath": "",
        }
        return {"general": general, "ui": {}, "plugins": self._plugins}

    def _plugins(self, _info: Info, include: list[str] | None = None) -> Any:
        if not include:
            return copy.deepcopy(self.plugin_config)
        return {
            pid: copy.deepcopy(self.plugin_config[pid])
            for pid in include
            if self.plugin_config.get(pid)
        }

    def _system_status(self, _info: Info) -> dict[str, Any]:
        return {
            "databaseSchema": 75, "databasePath": f"{self.config_dir}/stash-go.sqlite",
            "configPath": f"{self.config_dir}/config.yml", "appSchema": 75, "status": "OK",
            "os": "linux", "workingDir": "/", "homeDir": "/root",
        }  # fmt: skip

    def _configure_plugin(self, _info: Info, plugin_id: str, input: dict[str, Any]) -> Any:
        self.plugin_config[plugin_id] = copy.deepcopy(input)
        return copy.deepcopy(input)

    def _run_plugin_task(
        self,
        info: Info,
        plugin_id: str,
        task_name: str | None = None,
        description: str | None = None,
        args: list[dict[str, Any]] | None = None,
        args_map: dict[str, Any] | None = None,
    ) -> str:
        job_id = str(self._new_id("job"))
        run = {
            "plugin_id": plugin_id, "task_name": task_name, "description": description,
            "args_map": args_map if args_map is not None else sd.plugin_args_to_map(args or []),
            "args": args, "job_id": job_id,
        }  # fmt: skip
        self.task_runs.append(run)
        callback = self.on_task_run
        if callback is not None:
            info.context.after.append(lambda: callback(copy.deepcopy(run)))
        return job_id

    def _scene_update(self, info: Info, input: dict[str, Any]) -> dict[str, Any]:
        scene = self._scenes.get(sd.to_int(input["id"]))
        if scene is None:
            raise ValueError(f"scene with id {input['id']} not found")
        changes = {k: v for k, v in input.items() if k not in ("id", "clientMutationId")}
        cover = changes.pop("cover_image", None)
        for key in ("performer_ids", "tag_ids", "groups", "urls"):
            if key in changes and changes[key] is None:
                changes[key] = []
        self._apply(scene, changes)
        if cover:
            scene.cover, scene.cover_version = sd.decode_data_url(cover), scene.cover_version + 1
        self._touch(scene)
        return self.scene_obj(scene, info.context.base_url)

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
        authed = self._authenticated(handler, query)
        reply: Reply
        if failure is not None:
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
            body = _error_body("json request body could not be decoded", "BAD_REQUEST")
            return 400, json.dumps(body).encode(), "application/json", {}
        host = handler.headers.get("Host") or f"127.0.0.1:{self._port}"
        status, out = self._graphql(payload, f"http://{host}")
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


_documents: dict[str, tuple[DocumentNode, list[GraphQLError]]] = {}


def _checked_document(schema: GraphQLSchema, query: str) -> tuple[DocumentNode, list[GraphQLError]]:
    """Parse and validate, memoised: validation costs ~2.5 ms and clients repeat documents."""
    if schema is not load_schema():
        return (document := parse(query)), list(validate(schema, document))
    if query not in _documents:
        if len(_documents) > 1000:
            _documents.clear()
        document = parse(query)
        _documents[query] = document, list(validate(schema, document))
    return _documents[query]


def _formatted(error: GraphQLError, code: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = dict(error.formatted)
    if code:
        out["extensions"] = {**(out.get("extensions") or {}), "code": code}
    return out


def _error_body(message: str, code: str) -> dict[str, Any]:
    return {"errors": [{"message": message, "extensions": {"code": code}}], "data": None}


def _status_text(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)
