"""Secrets: a sync with a distinctive Plex token, Stash API key and session cookie leaves no
trace of any of them in stdout, stderr (debug logging on), any file of the data directory, or
any process's command line while the plugin runs."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from testkit.fake_plex import FakePlex
from testkit.fake_stash import FakeStash
from tests.e2e.conftest import STASH_COMMAND
from tests.reliability.conftest import PLEX_ROOT, STASH_ROOT, ps_command_lines

pytestmark = pytest.mark.plex_offspec("one run meets a hostile proxy on purpose")

TOKEN = "PLEXTOKEN-zq7Xv93kLmW2"
API_KEY = "STASHAPIKEY-Jr84nQpd0Ts"
COOKIE = "SESSIONCOOKIE-h3Wq0aPzN5"
SECRETS = (TOKEN, API_KEY, COOKIE)


def _run(stdin: dict[str, object], data_dir: Path, seen: list[str]) -> tuple[str, str]:
    env = dict(os.environ, PLEXSYNC_DATA_DIR=str(data_dir))
    proc = subprocess.Popen(STASH_COMMAND, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    proc.stdin.write(json.dumps(stdin))
    proc.stdin.close()
    while proc.poll() is None:   # look at every command line while it runs
        seen.extend(ps_command_lines())
        time.sleep(0.05)
    out, err = proc.stdout.read(), proc.stderr.read()
    proc.wait()
    return out, err


def test_no_secret_reaches_output_logs_files_or_command_lines(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    seen: list[str] = []
    texts: list[str] = []
    with FakeStash(api_key=API_KEY, session_cookie=COOKIE,
                   plugin_dir=str(tmp_path / "plugin")) as stash, FakePlex(token=TOKEN) as plex:
        plex.add_section(1, "Movies", [PLEX_ROOT])
        sids = []
        for i in range(5):
            sids.append(stash.add_scene(title=f"Secret-free {i}", files=[
                {"path": f"{STASH_ROOT}/{i}.mp4", "size": 10 + i, "duration": 5.0}]))
            plex.add_item(1, f"{PLEX_ROOT}/{i}.mp4", size=10 + i, duration_ms=5000)
        stash.plugin_config["PlexSync"] = {"plex_url": plex.url, "plex_token": TOKEN,
                                           "path_map": f"{STASH_ROOT}={PLEX_ROOT}",
                                           "debug_logging": True}
        runs = [stash.hook_input(sids[0], input={"id": str(sids[0]), "title": "x"},
                                 input_fields=["id", "title"]),
                stash.task_input({"mode": "sync_all"}),
                stash.task_input({"mode": "queue_status"})]
        for stdin in runs:
            texts.extend(_run(stdin, data_dir, seen))
        plex.hostile.add("status", path="/", status=403)     # an error path logs too
        texts.extend(_run(stash.task_input({"mode": "sync_all"}), data_dir, seen))
        plex.hostile.clear()
        plex.hostile.add("redirect", method="PUT", path=r"/library/sections/\d+/all")
        stash.update_scene(sids[1], title="changed")
        texts.extend(_run(stash.task_input({"mode": "sync_recent"}), data_dir, seen))
        assert plex.item(1).title == "Secret-free 0"   # the sync really ran with the token
    files = [p for p in data_dir.rglob("*") if p.is_file()]
    assert files, "the data directory should hold state"
    blobs = [p.read_bytes() for p in files]
    assert seen, "command lines were sampled"
    for secret in SECRETS:
        assert not any(secret in t for t in texts), f"{secret} in stdout/stderr"
        assert not any(secret.encode() in b for b in blobs), f"{secret} in a data file"
        assert not any(secret in line for line in seen), f"{secret} on a command line"
