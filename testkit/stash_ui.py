"""A loopback stand-in for Stash's web UI, enough to run the PlexSync page (ui/plexsync.js) in a
real browser: the harness page, the plugin's UI files served the way Stash serves them, and a
fake `/graphql` backed by the real plugin.

What it serves (one origin, like Stash):
- any path without a file extension: the harness HTML (Stash serves index.html for those), with
  Stash's Content-Security-Policy header (internal/api/server.go setPageSecurityHeaders);
- `/harness/*`: React 17 and ReactDOM UMD builds from the npm packages and `pluginapi.js`, the
  stand-in for `window.PluginApi` (test-only assets in testkit/ui_harness/);
- `/plugin/PlexSync/javascript` and `/plugin/PlexSync/css`: the manifest's `ui:` files,
  concatenated with "\\n" as Stash does (pkg/plugin/config.go, routes_plugin.go);
- `POST /graphql`: `runPluginOperation` runs `plexsync.py` as a subprocess with the plugin input
  Stash sends for an operation (`server_connection` + the args exactly as given, no hookContext)
  and maps its answer as Stash does (`output` → data, `error` → a GraphQL error);
  `runPluginTask` records the call and queues a fake job; `findJob` reports it READY, then
  RUNNING at 50 %, then FINISHED (calling `on_finish` first, so a test can stand in for the
  task's effect, e.g. the result a Health Check run records); `findScenes(ids)` answers titles.

Every request is recorded (`requests`) so a test can check the page asked for nothing else.
"""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml
from graphql import FieldNode, OperationDefinitionNode, VariableNode, parse

from testkit import stash_exec

ROOT = Path(__file__).resolve().parent.parent
ASSETS = Path(__file__).resolve().parent / "ui_harness"
PLUGIN_ID = "PlexSync"
# Stash's page CSP with no plugin additions (server.go setPageSecurityHeaders).
CSP = ("default-src data: 'self' 'unsafe-inline'; connect-src data: 'self' ws: wss:; "
       "img-src data: *; script-src 'self' http://www.gstatic.com https://www.gstatic.com "
       "'unsafe-inline' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; media-src blob: 'self'; "
       "worker-src blob:; child-src 'none'; object-src 'none'; form-action 'self'")
HTML = """<!doctype html>
<html><head><meta charset="utf-8"><title>Stash (PlexSync harness)</title>
<link rel="stylesheet" href="/harness/harness.css">
<link rel="stylesheet" href="/plugin/PlexSync/css">
</head><body>
<div id="root"></div>
<script>
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(e.blockedURI + " " + e.violatedDirective);
});
</script>
<script src="/harness/react.production.min.js"></script>
<script src="/harness/react-dom.production.min.js"></script>
<script src="/harness/pluginapi.js"></script>
<script src="/plugin/PlexSync/javascript"></script>
<script>
ReactDOM.render(React.createElement(window.HarnessApp), document.getElementById("root"));
</script>
</body></html>
"""
ASSET_TYPES = {".js": "text/javascript", ".css": "text/css"}
JOB_STEPS = ("READY", "RUNNING", "FINISHED")


@dataclass
class FakeJob:
    id: str
    task_name: str
    args_map: dict[str, Any]
    polls: int = 0


@dataclass
class StashUI:
    """The harness server; `start()` it, open `url`, `stop()` it (or use it as a context)."""

    data_dir: str
    titles: Mapping[int, str] = field(default_factory=dict)
    on_finish: Callable[[FakeJob], None] | None = None
    requests: list[tuple[str, str]] = field(default_factory=list)
    operations: list[dict[str, Any]] = field(default_factory=list)   # plugin outputs, in order
    tasks: list[FakeJob] = field(default_factory=list)
    fail_operations: str | None = None   # set: runPluginOperation answers this GraphQL error
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> StashUI:
        harness = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                harness.requests.append(("GET", self.path))
                self._send(*harness.get(self.path.split("?", 1)[0]))

            def do_POST(self) -> None:
                harness.requests.append(("POST", self.path))
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if self.path != "/graphql":
                    self._send(404, "text/plain", b"not found")
                    return
                answer = harness.graphql(body.get("query", ""), body.get("variables") or {})
                self._send(200, "application/json", json.dumps(answer).encode())

            def _send(self, code: int, ctype: str, payload: bytes) -> None:
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(payload)))
                if ctype.startswith("text/html"):
                    self.send_header("Content-Security-Policy", CSP)
                self.end_headers()
                self.wfile.write(payload)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> StashUI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ static files

    def get(self, path: str) -> tuple[int, str, bytes]:
        if path.startswith("/harness/"):
            asset = ASSETS / path.removeprefix("/harness/")
            if asset.parent == ASSETS and asset.is_file():
                return 200, ASSET_TYPES.get(asset.suffix, "text/plain"), asset.read_bytes()
            return 404, "text/plain", b"not found"
        if path in (f"/plugin/{PLUGIN_ID}/javascript", f"/plugin/{PLUGIN_ID}/css"):
            kind = path.rsplit("/", 1)[1]
            manifest = yaml.safe_load((ROOT / f"{PLUGIN_ID}.yml").read_text(encoding="utf-8"))
            files = manifest.get("ui", {}).get(kind, [])
            text = "\n".join((ROOT / name).read_text(encoding="utf-8") for name in files)
            return 200, "text/javascript" if kind == "javascript" else "text/css", text.encode()
        if "." not in path.rsplit("/", 1)[-1]:
            return 200, "text/html; charset=utf-8", HTML.encode()
        return 404, "text/plain", b"not found"

    # ------------------------------------------------------------------ GraphQL

    def graphql(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        operation = next(d for d in parse(query).definitions
                         if isinstance(d, OperationDefinitionNode))
        node = operation.selection_set.selections[0]
        assert isinstance(node, FieldNode)
        args = {a.name.value: variables.get(a.value.name.value)   # literal arguments: unused
                for a in node.arguments or () if isinstance(a.value, VariableNode)}
        name = node.name.value
        try:
            if name == "runPluginOperation":
                data: Any = self.run_operation(str(args["plugin_id"]), args.get("args"))
            elif name == "runPluginTask":
                data = self.run_task(str(args["plugin_id"]), str(args["task_name"]),
                                     dict(args.get("args_map") or {}))
            elif name == "findJob":
                data = self.find_job(str((args.get("input") or {}).get("id")))
            elif name == "findScenes":
                data = self.find_scenes([int(i) for i in args.get("ids") or []])
            else:
                return {"errors": [{"message": f"harness: no fake for {name}"}], "data": None}
        except HarnessError as exc:
            return {"errors": [{"message": str(exc), "path": [name]}], "data": None}
        return {"data": {name: data}}

    def run_operation(self, plugin_id: str, args: Any) -> Any:
        if plugin_id != PLUGIN_ID:
            raise HarnessError("plugin not found")
        if self.fail_operations:
            raise HarnessError(self.fail_operations)
        plugin_input = {"server_connection": {"Scheme": "http", "Host": "127.0.0.1",
                                              "Port": 1, "PluginDir": str(ROOT), "Dir": ""},
                        "args": args}
        proc = subprocess.run(
            stash_exec.command(ROOT), input=json.dumps(plugin_input),
            capture_output=True, text=True, timeout=60, check=False,
            env=stash_exec.environment(ROOT, PLEXSYNC_DATA_DIR=self.data_dir))
        try:
            answer = json.loads(proc.stdout)
        except ValueError:
            return proc.stdout   # Stash returns stdout that is not JSON as a string
        if answer.get("error"):
            raise HarnessError(str(answer["error"]))
        if proc.returncode:
            raise HarnessError(f"exit status {proc.returncode}")
        with self._lock:
            self.operations.append(answer.get("output"))
        return answer.get("output")

    def run_task(self, plugin_id: str, task_name: str, args_map: dict[str, Any]) -> str:
        if plugin_id != PLUGIN_ID:
            raise HarnessError("plugin not found")
        with self._lock:
            job = FakeJob(str(len(self.tasks) + 1), task_name, args_map)
            self.tasks.append(job)
        return job.id

    def find_job(self, job_id: str) -> dict[str, Any] | None:
        with self._lock:
            job = next((j for j in self.tasks if j.id == job_id), None)
            if job is None:
                return None
            step = JOB_STEPS[min(job.polls, len(JOB_STEPS) - 1)]
            job.polls += 1
        if step == "FINISHED" and job.polls == len(JOB_STEPS) and self.on_finish:
            self.on_finish(job)
        return {"id": job.id, "status": step, "description": f"Running plugin task: "
                f"{job.task_name}", "progress": 0.5 if step == "RUNNING" else None,
                "error": None, "startTime": None, "endTime": None}

    def find_scenes(self, ids: list[int]) -> dict[str, Any]:
        return {"scenes": [{"id": str(i), "title": self.titles.get(i, ""),
                            "files": [{"basename": f"scene-{i}.mp4"}]} for i in ids]}


class HarnessError(Exception):
    """Answered as a GraphQL error, as Stash answers a failing resolver."""
