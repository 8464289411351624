"""The standalone command line runs the same tasks outside Stash (cron, headless servers)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from testkit.fake_plex import FakePlex
from testkit.fake_stash import FakeStash
from tests.e2e.conftest import ENTRYPOINT


def cli(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PLEXSYNC_DATA_DIR=str(data_dir))
    return subprocess.run([sys.executable, str(ENTRYPOINT), *args], text=True,
                          capture_output=True, env=env, timeout=120, check=False)


def test_cli_syncs_with_a_stash_api_key_and_prints_the_task_output(tmp_path: Path) -> None:
    with FakeStash(api_key="stash-key", session_cookie="") as stash, FakePlex() as plex:
        plex.add_section(1, "Movies", ["/media"])
        rk = plex.add_item(1, "/media/a.mp4", size=10)
        stash.add_scene(title="From the CLI", files=[{"path": "/data/a.mp4", "size": 10}])
        stash.plugin_config["PlexSync"] = {"plex_url": plex.url, "plex_token": plex.token,
                                           "path_map": "/data=/media"}
        run = cli("sync_all", "--stash-url", stash.url, "--api-key", "stash-key",
                  data_dir=tmp_path)
        assert run.returncode == 0, run.stderr
        assert json.loads(run.stdout)["drain"]["synced"] == 1
        assert plex.item(rk).title == "From the CLI"
        assert "\x01" not in run.stderr and "stash-key" not in run.stderr


def test_cli_reads_settings_from_a_file_instead_of_stash(tmp_path: Path) -> None:
    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps({"plex_url": "http://127.0.0.1:9", "plex_token": "t"}))
    with FakeStash(api_key="k", session_cookie="") as stash:
        run = cli("queue_status", "--stash-url", stash.url, "--api-key", "k",
                  "--settings", str(settings), data_dir=tmp_path)
        assert run.returncode == 0, run.stderr
        assert json.loads(run.stdout)["pending"] == 0
        assert stash.plugin_config.get("PlexSync") in (None, {}), "a file run writes nothing back"


def test_cli_bad_input_is_one_line_without_traceback(tmp_path: Path) -> None:
    bad_url = cli("queue_status", "--stash-url", "localhost", data_dir=tmp_path)
    assert bad_url.returncode == 1 and "--stash-url" in bad_url.stderr
    missing = cli("queue_status", "--settings", str(tmp_path / "nope.json"), data_dir=tmp_path)
    assert missing.returncode == 1 and "--settings" in missing.stderr
    unknown = cli("frobnicate", data_dir=tmp_path)
    assert unknown.returncode == 2 and "process_queue" in unknown.stderr
    for run in (bad_url, missing, unknown):
        assert "Traceback" not in run.stderr
