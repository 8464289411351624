"""Stash's plugin hooks for a fake Stash: runs ``plexsync.py`` for every hook an edit fires.

``hooks = PluginHooks(stash, data_dir).start()`` makes each hook the fake's mutations fire
(``testkit/stash_objects.py``) whose type the manifest's ``triggeredBy`` lists run
``plexsync.py`` as a subprocess, exactly as Stash runs a raw plugin hook
(``pkg/plugin/plugins.go``: ``executePostHooks``): synchronously, before the mutation answers;
stdin is Stash's JSON document with the hook's ``defaultArgs`` and ``hookContext``. Each run
is kept in ``runs`` (type, context, answer, return code, stderr). A hook type the manifest
does not list runs nothing, as in Stash.
"""

from __future__ import annotations

import json
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from testkit import stash_exec
from testkit.fake_stash import FakeStash

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class HookRun:
    context: dict[str, Any]
    returncode: int | None = None
    answer: dict[str, Any] = field(default_factory=dict)
    stderr: str = ""

    @property
    def type(self) -> str:
        return str(self.context.get("type"))


def manifest_hooks(plugin_dir: Path = ROOT) -> dict[str, dict[str, Any]]:
    """Hook type → the `defaultArgs` of the manifest's hook that it triggers."""
    with open(plugin_dir / stash_exec.MANIFEST, encoding="utf-8") as fh:
        manifest = yaml.safe_load(fh)
    found: dict[str, dict[str, Any]] = {}
    for hook in manifest.get("hooks") or []:
        for trigger in hook.get("triggeredBy") or []:
            found[str(trigger)] = dict(hook.get("defaultArgs") or {})
    return found


class PluginHooks:
    """Runs the plugin for each fired hook the manifest subscribes to (module docstring)."""

    def __init__(self, stash: FakeStash, data_dir: str | Path, *, timeout: float = 60.0) -> None:
        self.stash = stash
        self.env = stash_exec.environment(ROOT, PLEXSYNC_DATA_DIR=str(data_dir))
        self.timeout = timeout
        self.triggers = manifest_hooks()
        self.runs: list[HookRun] = []
        self._lock = threading.Lock()

    def start(self) -> PluginHooks:
        self.stash.on_hook = self._fire
        return self

    def stop(self) -> None:
        self.stash.on_hook = None

    def __enter__(self) -> PluginHooks:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _fire(self, hook_args: dict[str, Any]) -> None:
        context = dict(hook_args["hookContext"])
        hook_type = str(context.get("type"))
        if hook_type not in self.triggers:
            return
        args = {**self.triggers[hook_type], "hookContext": context}
        stdin = json.dumps({"server_connection": self.stash.server_connection(), "args": args})
        run = HookRun(context)
        proc = subprocess.run(stash_exec.command(ROOT), input=stdin.encode(),
                              capture_output=True, env=self.env, timeout=self.timeout,
                              check=False)
        run.returncode = proc.returncode
        run.stderr = proc.stderr.decode(errors="replace")
        try:
            run.answer = json.loads(proc.stdout.decode().strip().splitlines()[-1])
        except (ValueError, IndexError):
            run.answer = {"output": None, "error": f"no JSON answer: {proc.stdout[:200]!r}"}
        with self._lock:
            self.runs.append(run)
