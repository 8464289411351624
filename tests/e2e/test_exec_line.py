"""PlexSync.yml's exec line starts Python with `-S`: the hook skips `site`, tasks load it.

Run exactly as Stash starts the plugin (testkit/stash_exec.py), with `-X importtime` added to
see which modules each path loads.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from testkit.fake_stash import FakeStash
from tests.e2e.conftest import ROOT, STASH_COMMAND, stash_command_with


def loaded_modules(stdin: dict[str, object], data_dir: Path) -> tuple[set[str], dict[str, object]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COVERAGE_")}
    env["PLEXSYNC_DATA_DIR"] = str(data_dir)
    proc = subprocess.run(stash_command_with("-X", "importtime"), input=json.dumps(stdin),
                          capture_output=True, text=True, env=env, timeout=120, check=False)
    loaded = {line.rsplit("|", 1)[1].strip() for line in proc.stderr.splitlines()
              if line.startswith("import time:") and "|" in line}
    answer: dict[str, object] = json.loads(proc.stdout)
    return loaded, answer


def test_the_manifest_starts_the_plugin_with_python_minus_s() -> None:
    assert STASH_COMMAND[1:] == ["-S", str(ROOT / "plexsync.py")]


def test_a_hook_as_stash_starts_it_queues_the_scene_without_loading_site(
        tmp_path: Path) -> None:
    with FakeStash(plugin_dir=str(tmp_path / "plugin")) as stash:
        loaded, answer = loaded_modules(
            stash.hook_input(7, input={"id": "7", "title": "T"}, input_fields=["id", "title"]),
            tmp_path / "data")
    assert answer["error"] is None and answer["output"] == {"queued": 7, "drain": "requested"}
    assert "plexsync.hook.handler" in loaded
    assert "site" not in loaded


def test_a_task_as_stash_starts_it_loads_site_packages_first(tmp_path: Path) -> None:
    with FakeStash(plugin_dir=str(tmp_path / "plugin")) as stash:
        loaded, answer = loaded_modules(stash.task_input({"mode": "queue_status"}),
                                        tmp_path / "data")
    assert answer["error"] is None, answer
    assert "site" in loaded and "plexsync.tasks.router" in loaded
