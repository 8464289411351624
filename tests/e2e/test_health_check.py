"""Health Check as a doctor: each broken set-up is named with its fix; a healthy one is all ok.

plexsync.py runs as Stash runs it (and once through the CLI, for an unreachable Stash).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from plexsync.tasks.health import check_data_dir, filesystem_type
from testkit.fake_plex import FakePlex
from testkit.fake_stash import FakeStash
from tests.e2e.conftest import ENTRYPOINT, run_plugin


@pytest.fixture
def fakes(tmp_path: Path) -> Iterator[tuple[FakeStash, FakePlex]]:
    """A Stash with a login and an API key: the healthy case (without a key, the wake-up timer
    check names it: test_a_login_without_an_api_key_is_named_with_how_to_make_one)."""
    with FakeStash(api_key="health-api-key", plugin_dir=str(tmp_path / "plugin")) as stash, \
            FakePlex() as plex:
        yield stash, plex


def setup(stash: FakeStash, plex: FakePlex, **settings: object) -> None:
    plex.add_section(1, "Movies", ["/media"])
    plex.add_section(2, "Clips", ["/clips"])
    for i in range(25):
        plex.add_item(1, f"/media/s{i}.mp4", size=100 + i)
        stash.add_scene(title=f"Scene {i}", files=[{"path": f"/data/s{i}.mp4", "size": 100 + i}])
    stash.plugin_config["PlexSync"] = {"plex_url": plex.url, "plex_token": plex.token,
                                       "path_map": "/data=/media", "plex_library": "Movies",
                                       **settings}


def health(stash: FakeStash, data_dir: Path) -> tuple[dict[str, dict[str, Any]], list[str]]:
    run = run_plugin(stash.task_input({"mode": "health_check"}), data_dir)
    assert run.returncode == 0 and run.answer["error"] is None, run.answer
    checks = {c["name"]: c for c in run.answer["output"]["checks"]}
    return checks, run.log_lines


def failing(checks: dict[str, dict[str, Any]]) -> set[str]:
    return {name for name, c in checks.items() if not c["ok"]}


def test_a_healthy_setup_is_all_ok(fakes: tuple[FakeStash, FakePlex], tmp_path: Path) -> None:
    stash, plex = fakes
    setup(stash, plex)
    checks, lines = health(stash, tmp_path / "data")
    assert failing(checks) == set(), checks
    assert checks["path_map"]["found_in_plex"] == checks["path_map"]["sampled"] == 20
    assert checks["plex_reachable"]["version"]
    assert any("Health Check: all ok." in line for line in lines)
    assert all(c["problem"] == "" and c["fix"] == "" for c in checks.values())


def test_a_stash_older_than_v0_26_fails_the_version_check_with_the_fix(
        fakes: tuple[FakeStash, FakePlex], tmp_path: Path) -> None:
    stash, plex = fakes
    setup(stash, plex)
    stash.version = {"version": "v0.25.0", "hash": "a1b2c3d4", "build_time": "2024-02-28"}
    checks, lines = health(stash, tmp_path / "data")
    assert failing(checks) == {"stash_version"}
    check = checks["stash_version"]
    assert check["version"] == "v0.25.0"
    assert check["problem"] == ("Stash v0.25.0 is older than v0.26.0, the oldest Stash PlexSync "
                                "works with.")
    assert check["fix"].startswith("Update Stash to v0.26.0 or later")
    assert any("stash_version" in line and "Update Stash" in line for line in lines)
    stash.version = {"version": "v0.26.0", "hash": "", "build_time": ""}
    checks, _ = health(stash, tmp_path / "data")
    assert checks["stash_version"]["ok"] and checks["stash_version"]["info"] == "Stash v0.26.0"


def test_a_login_without_an_api_key_is_named_with_how_to_make_one(tmp_path: Path) -> None:
    with FakeStash(api_key="", session_cookie="plugin-session",
                   plugin_dir=str(tmp_path / "plugin")) as stash, FakePlex() as plex:
        setup(stash, plex)
        checks, _ = health(stash, tmp_path / "data")
    assert failing(checks) == {"wake_timer"}
    assert "max_session_age" in checks["wake_timer"]["problem"]
    assert "API Key" in checks["wake_timer"]["fix"]


def test_a_wrong_token_is_named_with_where_to_get_a_new_one(
        fakes: tuple[FakeStash, FakePlex], tmp_path: Path) -> None:
    stash, plex = fakes
    setup(stash, plex, plex_token="revoked-token")
    checks, lines = health(stash, tmp_path / "data")
    assert "401" in checks["token"]["problem"] and "X-Plex-Token" in checks["token"]["fix"]
    assert checks["plex_reachable"]["ok"]
    assert any("Fix:" in line and "token" in line for line in lines)
    assert not any("revoked-token" in line for line in lines)


def test_a_wrong_library_name_lists_the_real_ones(
        fakes: tuple[FakeStash, FakePlex], tmp_path: Path) -> None:
    stash, plex = fakes
    setup(stash, plex, plex_library="Movys")
    checks, _ = health(stash, tmp_path / "data")
    assert failing(checks) == {"libraries", "path_map"}
    assert "Movys" in checks["libraries"]["problem"]
    assert "Movies" in checks["libraries"]["fix"] and "Clips" in checks["libraries"]["fix"]


def test_a_wrong_path_map_shows_the_mapped_path_next_to_the_nearest_plex_path(
        fakes: tuple[FakeStash, FakePlex], tmp_path: Path) -> None:
    stash, plex = fakes
    setup(stash, plex, path_map="/data=/mnt/media")
    checks, _ = health(stash, tmp_path / "data")
    assert failing(checks) == {"path_map"}
    check = checks["path_map"]
    assert check["found_in_plex"] == 0 and check["sampled"] == 20
    miss = check["not_found"][0]
    assert miss["mapped_path"].startswith("/mnt/media/s")
    assert miss["nearest_plex_path"] == miss["mapped_path"].replace("/mnt/media", "/media")
    assert "/mnt/media/s" in check["problem"] and "path_map" in check["fix"]


def test_plex_down_is_named_and_the_dependent_checks_say_why_they_did_not_run(
        fakes: tuple[FakeStash, FakePlex], tmp_path: Path) -> None:
    stash, plex = fakes
    setup(stash, plex)
    plex.go_down()
    checks, _ = health(stash, tmp_path / "data")
    assert failing(checks) == {"plex_reachable", "token", "libraries", "path_map"}
    assert "Start Plex" in checks["plex_reachable"]["fix"]
    assert checks["stash"]["ok"] and checks["settings"]["ok"]


def test_an_unreachable_stash_is_named_for_the_cli(tmp_path: Path) -> None:
    with FakePlex() as plex:
        plex.add_section(1, "Movies", ["/media"])
        settings = tmp_path / "settings.json"
        settings.write_text(json.dumps({"plex_url": plex.url, "plex_token": plex.token}))
        proc = subprocess.run(
            [sys.executable, str(ENTRYPOINT), "health_check", "--stash-url",
             "http://127.0.0.1:9", "--settings", str(settings)],
            capture_output=True, text=True, timeout=120, check=False,
            env={**os.environ, "PLEXSYNC_DATA_DIR": str(tmp_path / "data")})
    output = json.loads(proc.stdout)
    checks = {c["name"]: c for c in output["checks"]}
    assert not checks["stash"]["ok"] and "--stash-url" in checks["stash"]["fix"]
    assert checks["plex_reachable"]["ok"] and checks["token"]["ok"]
    assert "Stash did not answer" in proc.stderr


def test_a_read_only_data_dir_is_named_with_its_fix() -> None:
    # /proc/self refuses new files even to root (the suite may run as root, where chmod
    # cannot make a folder read-only)
    check = check_data_dir("/proc/self")
    assert not check["ok"] and "not writable" in check["problem"]
    assert "PLEXSYNC_DATA_DIR" in check["fix"]


def test_a_network_file_system_is_not_a_local_disk(tmp_path: Path) -> None:
    mounts = tmp_path / "mounts"
    mounts.write_text("/dev/sda1 / ext4 rw 0 0\nserver:/export /srv/nas nfs4 rw 0 0\n")
    assert filesystem_type("/srv/nas/plexsync/data", str(mounts)) == "nfs4"
    assert filesystem_type("/home/x", str(mounts)) == "ext4"


@pytest.mark.skipif(not os.path.exists("/proc/mounts"), reason="Linux /proc/mounts only")
def test_the_data_dir_check_passes_on_a_local_folder(tmp_path: Path) -> None:
    assert check_data_dir(str(tmp_path))["ok"]
