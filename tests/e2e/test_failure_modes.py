"""Failure, as a Stash user meets it: Plex down mid-way, a revoked token, debug logging on.

Runs plexsync.py exactly as Stash does (subprocess, stdin JSON) against the loopback fakes.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from testkit.fake_plex import FakePlex
from testkit.fake_stash import FakeStash
from tests.e2e.conftest import Run, library, run_plugin

SCENES = 6



def hook(stash: FakeStash, scene_id: int, data_dir: Path) -> Run:
    run = run_plugin(stash.hook_input(scene_id, input={"id": str(scene_id), "title": "x"},
                                      input_fields=["id", "title"]), data_dir)
    assert run.returncode == 0, run.answer
    return run


def process_queue(stash: FakeStash, data_dir: Path) -> Run:
    return run_plugin(stash.task_input({"mode": "process_queue"}), data_dir)


def status(stash: FakeStash, data_dir: Path) -> dict[str, object]:
    output = run_plugin(stash.task_input({"mode": "queue_status"}), data_dir).answer["output"]
    assert isinstance(output, dict)
    return output


def test_plex_outage_loses_nothing_and_everything_lands_when_plex_returns(
    fakes: tuple[FakeStash, FakePlex], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLEXSYNC_PROBE_BASE", "0.3")   # the breaker's probes: 0.3 s, then 1 s
    monkeypatch.setenv("PLEXSYNC_PROBE_CAP", "1")
    stash, plex = fakes
    ids = library(stash, plex, SCENES)
    data_dir = tmp_path / "data"
    for scene_id in ids:
        hook(stash, scene_id, data_dir)

    plex.go_down()
    down = process_queue(stash, data_dir)
    assert down.returncode == 0, down.answer
    assert any("Plex unreachable" in line for line in down.log_lines), down.log_lines
    during = status(stash, data_dir)
    assert during["dlq"] == 0 and during["synced"] == 0
    assert during["pending"] + during["retrying"] == SCENES  # type: ignore[operator]

    assert during["circuit"] in ("open", "half_open")   # the wake-up timer may be probing

    plex.come_up()
    # wait until a probe is due (or the wake-up timer's probe closed the breaker already)
    breaker_file = data_dir / "breaker.json"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        state = json.loads(breaker_file.read_text())
        if state["state"] == "closed" or (state["state"] == "open"
                                          and state["next_probe_at"] <= time.time()):
            break
        time.sleep(0.05)
    up = process_queue(stash, data_dir)
    assert up.returncode == 0, up.answer
    after = status(stash, data_dir)
    assert (after["synced"], after["pending"], after["retrying"], after["dlq"]) == (SCENES, 0, 0, 0)
    assert all(item.title.startswith("Scene ") for item in plex.items(1))


def test_a_revoked_token_stops_the_drain_with_one_clear_error_and_keeps_the_jobs(
    fakes: tuple[FakeStash, FakePlex], tmp_path: Path
) -> None:
    stash, plex = fakes
    ids = library(stash, plex, SCENES)
    stash.plugin_config["PlexSync"]["plex_token"] = "revoked-token-123456"
    data_dir = tmp_path / "data"
    for scene_id in ids:
        hook(stash, scene_id, data_dir)
    run = process_queue(stash, data_dir)
    assert run.returncode == 1
    error = run.answer["error"]
    assert "plex_token" in error and "\n" not in error
    assert "Traceback" not in run.stderr
    after = status(stash, data_dir)
    assert after["dlq"] == 0
    assert after["pending"] + after["retrying"] == SCENES  # type: ignore[operator]


def test_no_token_or_session_cookie_ever_reaches_stdout_or_the_log(
    fakes: tuple[FakeStash, FakePlex], tmp_path: Path
) -> None:
    stash, plex = fakes
    ids = library(stash, plex, SCENES, debug_logging=True)
    data_dir = tmp_path / "data"
    runs = [hook(stash, ids[0], data_dir), process_queue(stash, data_dir)]
    stash.plugin_config["PlexSync"]["plex_token"] = "wrong-token-abcdef"   # the 401 path too
    runs += [hook(stash, ids[1], data_dir), process_queue(stash, data_dir)]
    plex.go_down()                                                        # and a dead Plex
    runs += [hook(stash, ids[2], data_dir), process_queue(stash, data_dir)]
    assert any(line.startswith("[debug]") for r in runs for line in r.log_lines)
    cookie = stash.server_connection()["SessionCookie"]["Value"]
    for secret in (plex.token, "wrong-token-abcdef", cookie):
        for run in runs:
            assert secret not in run.stderr and secret not in str(run.answer)


@pytest.mark.plex_offspec("the fake Plex answers as a hostile proxy on purpose")
def test_a_proxy_redirecting_plex_to_another_host_gets_no_token_and_the_task_says_why(
    fakes: tuple[FakeStash, FakePlex], tmp_path: Path
) -> None:
    stash, plex = fakes
    ids = library(stash, plex, SCENES)
    data_dir = tmp_path / "data"
    for scene_id in ids:
        hook(stash, scene_id, data_dir)
    with FakePlex(token="the-other-hosts-token") as other:
        plex.hostile.add("redirect", method="GET", path="/", status=302, to=other.url)
        run = process_queue(stash, data_dir)
        assert other.requests == []
    assert run.returncode == 1
    error = run.answer["error"]
    assert f"answered GET / with a redirect (302) to {other.url}/;" in error
    assert "plex_url" in error and "\n" not in error and plex.token not in error
    assert "Traceback" not in run.stderr
    after = status(stash, data_dir)
    assert after["dlq"] == 0 and after["synced"] == 0
    assert after["pending"] + after["retrying"] == SCENES  # type: ignore[operator]
