"""Stash's real web frontend on loopback, served the way Stash's Go server serves it, with the
PlexSync plugin loaded: what the page's browser tests (tests/ui/) boot and drive.

The frontend is Stash's own build (`../shared/stash-ui/build`, as CI has it; its SOURCE.txt
says how it was built). `StashUI` is a `FakeStash` (the store, auth, the request log) whose
GraphQL runs on Stash's real schema (testkit/stash_ui_graphql.py) and whose HTTP side imitates
internal/api/server.go and routes_plugin.go:
- every UI route (a path with no extension, `/`, `/index.html`): index.html with `%COLOR%`
  replaced and `<base href="/"` rewritten to the X-Forwarded-Prefix (trailing slashes
  trimmed) + "/", `Content-Type: text/html`, Stash's Content-Security-Policy (with what an
  enabled plugin adds) and `Referrer-Policy: same-origin`;
- other paths: the build's files; a file that exists only as NAME.gz is served gzip-encoded
  to a client that accepts it, decompressed otherwise (statigz); `/assets/*` immutable;
- `X-Content-Type-Options: nosniff` on every response;
- `POST /graphql`, and the websocket at `/graphql` (graphql-transport-ws, testkit/stash_ws.py)
  that the frontend opens at boot and `jobsSubscribe` events go through;
- `/plugin/PlexSync/javascript` and `/css`: the manifest's `ui:` files concatenated, each
  followed by "\\n"; HTTP 400 "plugin disabled" when the plugin is disabled (the `plugins`
  query then reports `enabled: false`, and the frontend loads none of its files);
- `/css`, `/javascript` (custom CSS/JS, off: empty) and `/customlocales` (`{}`).
Plugin work is real: `runPluginOperation` runs `plexsync.py` with the stdin Stash writes and
maps its answer as Stash does; `runPluginTask` queues a job that `testkit.stash_jobs.PluginJobs`
runs as a subprocess, one at a time; `findJob`, `jobQueue` and `jobsSubscribe` report it.

Behind a reverse proxy: with `prefix="/stash"` a second listener plays the proxy that serves
Stash under `https://host/stash/`: it answers only paths under the prefix, strips it and adds
`X-Forwarded-Prefix: /stash`. The browser opens `ui_url` (the proxy's); plugin processes talk
to Stash's own port (`server_connection`), as they do behind a real proxy.
"""

from __future__ import annotations

import copy
import gzip
import json
import mimetypes
import posixpath
import subprocess
import threading
import urllib.parse
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from testkit import stash_data as sd
from testkit import stash_exec, stash_ws
from testkit.fake_stash import FakeStash, Info, Reply, _Handler, _Server
from testkit.stash_graphql import error_body
from testkit.stash_jobs import JobRun, PluginJobs
from testkit.stash_ui_graphql import (
    interface_config,
    local_ui_files,
    plugin_object,
    real_schema,
    zero_value_resolver,
)

ROOT = Path(__file__).resolve().parent.parent
BUILD_DIR = ROOT.parent / "shared" / "stash-ui" / "build"
PLUGIN_ID = "PlexSync"
MANIFEST = ROOT / f"{PLUGIN_ID}.yml"
RELEASE_NOTES_SEEN = 20251026   # the newest release note's date in the v0.30.1 frontend
THEME_COLOR = "#202b33"   # Stash's default interface theme colour
# Paths Stash's router mounts before its UI catch-all (server.go): never index.html.
SERVER_PREFIXES = ("/performer/", "/scene/", "/image/", "/studio/", "/group/", "/tag/",
                   "/downloads/", "/plugin/", "/login", "/logout", "/custom/", "/playground")
NOSNIFF = {"X-Content-Type-Options": "nosniff"}
TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
         ".json": "application/json", ".svg": "image/svg+xml", ".ico": "image/x-icon",
         ".woff2": "font/woff2", ".woff": "font/woff", ".md": "text/plain; charset=utf-8"}
NOT_FOUND: Reply = (404, b"404 page not found\n", "text/plain; charset=utf-8", dict(NOSNIFF))


class BuildMissing(RuntimeError):
    """Stash's frontend build is not beside the checkout."""


def page_csp(manifest: dict[str, Any] | None) -> str:
    """Stash's Content-Security-Policy for UI pages (server.go setPageSecurityHeaders), with an
    enabled plugin's external UI URLs and `ui.csp` additions (`manifest` None: disabled)."""
    connect = ["data:", "'self'", "ws:", "wss:"]
    script = ["'self'", "http://www.gstatic.com", "https://www.gstatic.com", "'unsafe-inline'",
              "'unsafe-eval'"]
    style = ["'self'", "'unsafe-inline'"]
    if manifest is not None:
        ui = manifest.get("ui") or {}
        script += [u for u in ui.get("javascript") or [] if str(u).startswith("http")]
        style += [u for u in ui.get("css") or [] if str(u).startswith("http")]
        csp = ui.get("csp") or {}
        connect += csp.get("connect-src") or []
        script += csp.get("script-src") or []
        style += csp.get("style-src") or []
    return (f"default-src data: 'self' 'unsafe-inline'; connect-src {' '.join(connect)}; "
            f"img-src data: *; script-src {' '.join(script)}; style-src {' '.join(style)}; "
            "media-src blob: 'self'; worker-src blob:; child-src 'none'; object-src 'none'; "
            "form-action 'self';")


class StashUI(FakeStash):
    """See the module docstring. `start()` (or `with`), open `ui_url`, `stop()`."""

    def __init__(self, data_dir: str, *, prefix: str = "", plugin_enabled: bool = True,
                 build_dir: Path = BUILD_DIR) -> None:
        if not (build_dir / "index.html").is_file():
            raise BuildMissing(f"Stash's frontend build is not at {build_dir}: CI has it at "
                               "../shared/stash-ui/build beside the repository.")
        super().__init__(api_key="", session_cookie="", plugin_dir=str(ROOT))
        self.schema = real_schema()
        self.field_resolver = zero_value_resolver
        self.data_dir = data_dir
        self.build_dir = build_dir
        self.prefix = prefix.rstrip("/")
        self.plugin_enabled = plugin_enabled
        self.fail_operations: str | None = None   # set: runPluginOperation answers this error
        self.operations: list[Any] = []           # runPluginOperation answers, in order
        self.browser_paths: list[str] = []        # every path asked of ui_url, as asked
        self.subscriptions = stash_ws.Subscriptions()
        self.jobs = PluginJobs(self, data_dir)
        self.jobs.on_change = self._job_changed
        # Stash's stored UI settings (configureUI); a user who has read v0.29's release notes
        self.ui_config: dict[str, Any] = {"lastNoteSeen": RELEASE_NOTES_SEEN}
        self._proxy: _Server | None = None

    # ------------------------------------------------------------------ lifecycle

    @property
    def ui_url(self) -> str:
        """Where a browser opens Stash: its own port, or the proxy's URL under the prefix."""
        if self._proxy is None:
            return self.url
        return f"http://127.0.0.1:{self._proxy.server_address[1]}{self.prefix}"

    def start(self) -> StashUI:
        super().start()
        self.jobs.start()
        if self.prefix:
            self._proxy = _Server(("127.0.0.1", 0), self)
            threading.Thread(target=self._proxy.serve_forever, kwargs={"poll_interval": 0.05},
                             daemon=True).start()
        return self

    def stop(self) -> None:
        self.jobs.stop()
        proxy, self._proxy = self._proxy, None
        if proxy is not None:
            proxy.shutdown()
            proxy.server_close()
            proxy.drop_connections()
        super().stop()

    def __enter__(self) -> StashUI:
        return self.start()

    # ------------------------------------------------------------------ HTTP

    def _dispatch(self, handler: _Handler) -> None:
        via_proxy = self._proxy is not None and handler.server is self._proxy
        if via_proxy or self._proxy is None:   # what was asked of `ui_url`
            with self._log_lock:
                self.browser_paths.append(handler.path)
        if via_proxy:
            path = urllib.parse.urlsplit(handler.path).path
            if path != self.prefix and not path.startswith(self.prefix + "/"):
                self._reply(handler, (404, b"not behind this proxy\n", "text/plain", {}))
                return
            handler.path = handler.path[len(self.prefix):]
            handler.path = handler.path if handler.path.startswith("/") else "/" + handler.path
            handler.headers["X-Forwarded-Prefix"] = self.prefix
        if urllib.parse.urlsplit(handler.path).path == "/graphql" and stash_ws.is_upgrade(handler):
            stash_ws.serve(handler, self.schema, self.subscriptions)
            return
        super()._dispatch(handler)

    @staticmethod
    def _reply(handler: _Handler, reply: Reply) -> None:
        status, body, content_type, headers = reply
        handler.send_response(status)
        for name, value in {"Content-Type": content_type, **headers}.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def _base_url(self, handler: _Handler) -> str:
        """Stash's BaseURLMiddleware: scheme://Host + the proxy prefix."""
        prefix = (handler.headers.get("X-Forwarded-Prefix") or "").rstrip("/")
        return f"http://{handler.headers.get('Host') or f'127.0.0.1:{self.port}'}{prefix}"

    def _serve_graphql(self, handler: _Handler, raw: bytes) -> Reply:
        try:
            payload = json.loads(raw or b"null")
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            body = error_body("json request body could not be decoded", "BAD_REQUEST")
            return 400, json.dumps(body).encode(), "application/json", dict(NOSNIFF)
        status, out = self._graphql(payload, self._base_url(handler))
        headers = {**NOSNIFF, "Cache-Control": "no-store"}
        return status, json.dumps(out).encode(), "application/json", headers

    def _serve_media(self, handler: _Handler, path: str) -> Reply:
        path = path.rstrip("/") or "/"   # chi's StripSlashes
        if path.startswith("/scene/"):
            status, body, ctype, headers = super()._serve_media(handler, path)
            return status, body, ctype, {**headers, **NOSNIFF}
        if path.startswith("/plugin/"):
            return self._plugin_file(path)
        if path in ("/css", "/javascript"):   # custom CSS / JavaScript: off on a fresh Stash
            ctype = "text/css" if path == "/css" else "text/javascript"
            return 200, b"", ctype, dict(NOSNIFF)
        if path == "/customlocales":
            return 200, b"{}", "application/json", dict(NOSNIFF)
        if path.startswith(SERVER_PREFIXES) or path == "/graphql":
            return NOT_FOUND
        ext = posixpath.splitext(path)[1]
        if ext == "" or path == "/index.html":
            return self._index(handler)
        return self._static(handler, path)

    def _page_headers(self) -> dict[str, str]:
        manifest = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
        return {**NOSNIFF, "Referrer-Policy": "same-origin",
                "Content-Security-Policy": page_csp(manifest if self.plugin_enabled else None)}

    def _index(self, handler: _Handler) -> Reply:
        prefix = (handler.headers.get("X-Forwarded-Prefix") or "").rstrip("/")
        html = (self.build_dir / "index.html").read_text(encoding="utf-8")
        html = html.replace("%COLOR%", THEME_COLOR).replace(
            '<base href="/"', f'<base href="{prefix}/"', 1)
        return 200, html.encode(), "text/html", self._page_headers()

    def _static(self, handler: _Handler, path: str) -> Reply:
        target = (self.build_dir / path.lstrip("/")).resolve()
        if not target.is_relative_to(self.build_dir.resolve()):
            return NOT_FOUND
        headers = {**NOSNIFF, "Cache-Control": "public, max-age=31536000, immutable"
                   if path.startswith("/assets/") else "no-cache"}
        if path.endswith(".html"):
            headers.update(self._page_headers())
        ctype = TYPES.get(target.suffix) or mimetypes.guess_type(target.name)[0] or (
            "application/octet-stream")
        if target.is_file():
            return 200, target.read_bytes(), ctype, headers
        packed = target.with_name(target.name + ".gz")
        if not packed.is_file():
            return NOT_FOUND
        data = packed.read_bytes()
        if "gzip" in (handler.headers.get("Accept-Encoding") or ""):
            return 200, data, ctype, {**headers, "Content-Encoding": "gzip", "Vary":
                                      "Accept-Encoding"}
        return 200, gzip.decompress(data), ctype, headers

    def _plugin_file(self, path: str) -> Reply:
        parts = path.split("/")   # "", "plugin", id, kind
        if len(parts) != 4 or parts[2] != PLUGIN_ID or parts[3] not in ("javascript", "css"):
            return NOT_FOUND
        if not self.plugin_enabled:
            return 400, b"plugin disabled\n", "text/plain; charset=utf-8", dict(NOSNIFF)
        kind = parts[3]
        body = b"".join(f.read_bytes() + b"\n" for f in local_ui_files(MANIFEST, kind))
        return 200, body, "text/javascript" if kind == "javascript" else "text/css", dict(NOSNIFF)

    # ------------------------------------------------------------------ GraphQL

    def _root(self) -> dict[str, Any]:
        return {**super()._root(), "plugins": self._plugins_list,
                "runPluginOperation": self._run_plugin_operation, "findJob": self._find_job,
                "jobQueue": self._job_queue, "configureUI": self._configure_ui,
                "configureUISetting": self._configure_ui_setting}

    def _run_plugin_task(self, info: Info, plugin_id: str, task_name: str | None = None,
                         description: str | None = None,
                         args: list[dict[str, Any]] | None = None,
                         args_map: dict[str, Any] | None = None) -> str:
        """Stash's RunPluginTask: a named task's `defaultArgs` fill the keys `args_map` lacks
        (internal/manager/task_plugin.go); the job then runs as FakeStash queues it."""
        if plugin_id != PLUGIN_ID or not self.plugin_enabled:
            raise ValueError(f"plugin {plugin_id} not found or disabled")
        manifest = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
        task = next((t for t in manifest.get("tasks") or [] if t["name"] == task_name), None)
        if task_name is not None and task is None:
            raise ValueError(f"task {task_name} not found in plugin {plugin_id}")
        merged = {**((task or {}).get("defaultArgs") or {}), **(args_map or {})}
        return super()._run_plugin_task(info, plugin_id, task_name, description, args, merged)

    def _configuration(self, info: Info) -> dict[str, Any]:
        return {**super()._configuration(info), "interface": interface_config(),
                "ui": copy.deepcopy(self.ui_config)}

    def _configure_ui(self, _info: Info, input: dict[str, Any] | None = None,
                      partial: dict[str, Any] | None = None) -> dict[str, Any]:
        """Stash's ConfigureUI: `input` replaces the UI settings, `partial` is merged in."""
        if input is not None:
            self.ui_config = copy.deepcopy(input)
        if partial is not None:
            self.ui_config.update(copy.deepcopy(partial))
        return copy.deepcopy(self.ui_config)

    def _configure_ui_setting(self, _info: Info, key: str, value: Any = None) -> dict[str, Any]:
        """Stash's ConfigureUISetting: sets one dot-separated key."""
        *parents, last = key.split(".")
        node = self.ui_config
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
        return copy.deepcopy(self.ui_config)

    def _plugins_list(self, info: Info) -> list[dict[str, Any]]:
        return [plugin_object(MANIFEST, info.context.base_url, enabled=self.plugin_enabled)]

    def _run_plugin_operation(self, _info: Info, plugin_id: str, args: Any = None) -> Any:
        """Stash's RunPluginOperation (pkg/plugin/plugins.go, raw.go; notes/stash-ui-plugins.md
        section 6): the plugin's stdin, then its stdout mapped to data or a GraphQL error."""
        if plugin_id != PLUGIN_ID:
            raise ValueError(f"plugin with id {plugin_id} not found")
        if not self.plugin_enabled:
            raise ValueError(f"plugin {plugin_id} is disabled")
        if self.fail_operations:
            raise ValueError(self.fail_operations)
        stdin = json.dumps({"server_connection": self.server_connection(), "args": args})
        proc = subprocess.run(
            stash_exec.command(ROOT), input=stdin, capture_output=True, text=True, timeout=60,
            check=False, env=stash_exec.environment(ROOT, PLEXSYNC_DATA_DIR=self.data_dir))
        try:
            answer = json.loads(proc.stdout)
        except ValueError:
            return proc.stdout   # stdout that is not JSON comes back as a string
        if not isinstance(answer, dict):
            return None
        if answer.get("error"):
            raise ValueError(str(answer["error"]))
        if proc.returncode:
            raise ValueError(f"exit status {proc.returncode}")
        with self._log_lock:
            self.operations.append(answer.get("output"))
        return answer.get("output")

    def _find_job(self, _info: Info, input: dict[str, Any]) -> dict[str, Any] | None:
        job = self.jobs.by_id.get(str(input.get("id")))
        return None if job is None else self._job_obj(job)

    def _job_queue(self, _info: Info) -> list[dict[str, Any]]:
        return [self._job_obj(j) for j in list(self.jobs.by_id.values())
                if j.status != "FINISHED"]

    def _job_obj(self, job: JobRun) -> dict[str, Any]:
        def when(at: float) -> str | None:
            return sd.go_rfc3339(datetime.fromtimestamp(at, UTC), self.utc_offset) if at else None

        return {"id": job.job_id, "status": job.status, "subTasks": [],
                "description": f"Running plugin task: {job.task_name}", "progress": None,
                "startTime": when(job.started_at), "endTime": when(job.ended_at),
                "addTime": when(job.requested_at), "error": None}

    def _job_changed(self, kind: str, job: JobRun) -> None:
        self.subscriptions.publish("jobsSubscribe", {"type": kind, "job": self._job_obj(job)})
