"""A task run by a Python that lacks a requirement says which one and how to install it."""

import json
import os
import subprocess
import sys
from pathlib import Path

from testkit import stash_exec

ROOT = Path(__file__).resolve().parents[2]


def test_task_without_plexapi_names_it_and_gives_the_pip_command(tmp_path: Path) -> None:
    shadow = tmp_path / "shadow" / "plexapi"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('simulated: plexapi not installed')\n")
    env = dict(os.environ, PYTHONPATH=str(shadow.parent), PLEXSYNC_DATA_DIR=str(tmp_path / "d"))
    stdin = json.dumps({"server_connection": {}, "args": {"mode": "process_queue"}})
    proc = subprocess.run(stash_exec.command(ROOT), input=stdin, text=True,
                          capture_output=True, env=env, timeout=60, check=False)
    answer = json.loads(proc.stdout)
    assert proc.returncode == 1
    assert "'plexapi'" in answer["error"]
    assert f"{sys.executable} -m pip install -r {ROOT / 'requirements.txt'}" in answer["error"]
    assert "Traceback" not in proc.stderr
