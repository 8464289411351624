from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from plexsync.core import datadir
from plexsync.core.protocol import parse
from plexsync.errors import InputError, StashError
from plexsync.hook.handler import gate, run_hook
from plexsync.queue import markers
from plexsync.queue.backoff import Backoff
from plexsync.queue.enums import JobSource, JobState
from plexsync.queue.job_queue import JobQueue
from plexsync.stash import post as stash_post
from testkit.fake_stash import FakeStash
from tests.helpers import OWNER, captured_log, claim_one, failed, lines


def update(fields: dict[str, Any], hook_type: str = "Scene.Update.Post") -> dict[str, Any]:
    return {"id": 1, "type": hook_type, "input": {"id": "1", **fields},
            "inputFields": ["id", *fields]}


# ---------------------------------------------------------------------- the gate (pure)


def test_a_scan_with_no_input_is_queued() -> None:
    assert gate({"id": 1, "type": "Scene.Update.Post", "input": None, "inputFields": None},
                {}) == (None, [])


def test_a_new_scene_is_always_queued() -> None:
    assert gate(update({"organized": True}, "Scene.Create.Post"), {}) == (None, [])


@pytest.mark.parametrize("fields", [
    {"organized": True}, {"o_counter": 3}, {"play_count": 2}, {"resume_time": 12.5},
    {"urls": ["https://x"]}, {"stash_ids": []}, {"code": "ABC-123"}, {},
])
def test_an_update_touching_no_synced_field_is_skipped(fields: dict[str, Any]) -> None:
    reason, _ = gate(update(fields), {})
    assert reason == "no field PlexSync syncs was changed"


@pytest.mark.parametrize("fields", [
    {"title": "x"}, {"details": "x"}, {"date": "2024-01-01"}, {"studio_id": "3"},
    {"performer_ids": ["1"]}, {"tag_ids": ["2"]}, {"groups": []}, {"rating100": 80},
    {"director": "x"}, {"cover_image": "data:..."}, {"primary_file_id": "9"},
])
def test_an_update_touching_a_synced_field_is_queued(fields: dict[str, Any]) -> None:
    assert gate(update(fields), {})[0] is None


def test_an_update_of_only_fields_whose_toggle_is_off_is_skipped() -> None:
    snapshot = {"sync_tags": False, "sync_rating": False}
    reason, _ = gate(update({"tag_ids": ["1"], "rating100": 20, "organized": True}), snapshot)
    assert reason == "only fields with syncing turned off were changed"
    assert gate(update({"tag_ids": ["1"], "title": "t"}), snapshot)[0] is None


def test_a_studio_change_counts_while_collections_are_synced() -> None:
    assert gate(update({"studio_id": "3"}), {"sync_studio": False})[0] is None
    off = {"sync_studio": False, "sync_collections": False}
    assert gate(update({"studio_id": "3"}), off)[0] is not None


def test_a_cover_change_counts_when_only_background_art_is_synced() -> None:
    assert gate(update({"cover_image": "x"}), {"sync_poster": False})[0] is not None
    both = {"sync_poster": False, "sync_background": True}
    assert gate(update({"cover_image": "x"}), both)[0] is None


def test_director_and_file_changes_have_no_toggle_and_always_count() -> None:
    everything_off = {f"sync_{f}": False for f in (
        "title", "summary", "date", "studio", "performers", "tags", "collections", "rating",
        "poster")}
    assert gate(update({"director": "x"}), everything_off)[0] is None
    assert gate(update({"primary_file_id": "4"}), everything_off)[0] is None


def test_explicitly_emptied_fields_are_reported_as_cleared() -> None:
    _, cleared = gate(update({
        "title": "", "details": None, "rating100": None, "tag_ids": [], "studio_id": None,
        "performer_ids": ["1"], "date": "2024-01-01", "code": "",
    }), {})
    assert cleared == ["details", "rating100", "studio_id", "tag_ids", "title"]


def test_a_cleared_field_whose_toggle_is_off_is_not_reported() -> None:
    _, cleared = gate(update({"title": "", "details": ""}), {"sync_title": False})
    assert cleared == ["details"]


def test_bulk_updates_are_gated_the_same_way() -> None:
    bulk = {"id": 4, "type": "Scene.Update.Post",
            "input": {"ids": ["4", "5"], "tag_ids": {"ids": [], "mode": "SET"},
                      "performer_ids": {"ids": [], "mode": "ADD"}},
            "inputFields": ["ids", "tag_ids", "performer_ids"]}
    assert gate(bulk, {}) == (None, ["tag_ids"])
    organized = {"id": 4, "type": "Scene.Update.Post",
                 "input": {"ids": ["4"], "organized": True}, "inputFields": ["ids", "organized"]}
    assert gate(organized, {})[0] is not None


# ---------------------------------------------------------------------- run_hook


def hook(stash: FakeStash, scene_id: int = 1, **fields: Any) -> dict[str, Any]:
    doc = stash.hook_input(scene_id, input={"id": str(scene_id), **(fields or {"title": "T"})},
                           input_fields=["id", *(fields or {"title": "T"})])
    with captured_log():
        return run_hook(parse(json.dumps(doc)))


def meta(data_dir: Path) -> dict[str, str]:
    store = JobQueue.open(str(data_dir))
    try:
        return store.update_meta(lambda m, d: {})
    finally:
        store.close()


def pending(data_dir: Path) -> int:
    store = JobQueue.open(str(data_dir))
    try:
        count: int = store.counts()["pending"]
        return count
    finally:
        store.close()


def test_the_first_hook_queues_the_scene_and_requests_one_drain(
        stash: FakeStash, data_dir: Path) -> None:
    assert hook(stash, 1) == {"queued": 1, "drain": "requested"}
    assert hook(stash, 2) == {"queued": 2, "drain": "scheduled"}
    assert pending(data_dir) == 2
    [run] = stash.task_runs
    assert run["plugin_id"] == "PlexSync" and run["task_name"] == "Process Queue"
    assert run["args_map"] == {"mode": "process_queue"}


def test_no_drain_is_requested_while_one_is_running(stash: FakeStash, data_dir: Path) -> None:
    hook(stash, 1)
    store = JobQueue.open(str(data_dir))
    store.update_meta(lambda m, d: {markers.SCHEDULED_AT: None,
                                    markers.HEARTBEAT_AT: m[markers.SCHEDULED_AT]})
    store.close()
    assert hook(stash, 2)["drain"] == "running"
    assert len(stash.task_runs) == 1


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_fresh_heartbeat_of_a_killed_drain_does_not_strand_the_next_edit(
        stash: FakeStash, data_dir: Path) -> None:
    # Stash stops Process Queue with SIGKILL: the heartbeat it leaves is fresh for 120 s.
    hook(stash, 1)
    store = JobQueue.open(str(data_dir))
    now = float(meta(data_dir)[markers.SCHEDULED_AT].split()[0])
    store.update_meta(lambda m, d: {markers.SCHEDULED_AT: None,
                                    markers.HEARTBEAT_AT: f"{now:.6f} {_dead_pid()}",
                                    markers.DRAIN_OWNER: "drain-killed"})
    store.close()
    assert hook(stash, 2)["drain"] == "requested"
    assert len(stash.task_runs) == 2


def test_the_heartbeat_names_the_live_drain_s_pid(data_dir: Path) -> None:
    now = 1_000.0
    assert markers.drain_state({markers.HEARTBEAT_AT: markers.stamp(now)}, now + 1) == "running"
    assert markers.drain_state({markers.HEARTBEAT_AT: f"{now:.6f}"}, now + 1) == "running"
    dead = {markers.HEARTBEAT_AT: f"{now:.6f} {_dead_pid()}"}
    assert markers.drain_state(dead, now + 1) == "idle"


def test_a_request_that_never_started_is_made_again_after_three_minutes(
        stash: FakeStash, data_dir: Path) -> None:
    hook(stash, 1)
    stale = f"{float(meta(data_dir)[markers.SCHEDULED_AT].split()[0]) - 181:.6f} 1"
    store = JobQueue.open(str(data_dir))
    store.update_meta(lambda m, d: {markers.SCHEDULED_AT: stale})
    store.close()
    assert hook(stash, 2)["drain"] == "requested"
    assert len(stash.task_runs) == 2


def test_a_failed_request_keeps_the_job_warns_once_and_lets_the_next_hook_retry(
        stash: FakeStash, data_dir: Path) -> None:
    stash.fail_next(1, 500)
    doc = stash.hook_input(1, input={"id": "1", "title": "T"}, input_fields=["id", "title"])
    with captured_log() as stream:
        assert run_hook(parse(json.dumps(doc))) == {"queued": 1, "drain": "not requested"}
    [warning] = lines(stream, "w")
    assert "Scene 1 is queued" in warning and "test-session" not in warning
    assert markers.SCHEDULED_AT not in meta(data_dir)
    assert hook(stash, 2)["drain"] == "requested"
    assert pending(data_dir) == 2


def test_the_request_carries_the_session_cookie(data_dir: Path) -> None:
    with FakeStash(session_cookie="right-cookie") as fake:
        doc = fake.hook_input(1, input={"id": "1", "title": "T"}, input_fields=["id", "title"])
        doc["server_connection"]["SessionCookie"]["Value"] = "wrong-cookie"
        with captured_log():
            assert run_hook(parse(json.dumps(doc)))["drain"] == "not requested"
            assert hook(fake, 2)["drain"] == "requested"


def test_the_request_uses_the_api_key_when_stash_gives_one(data_dir: Path) -> None:
    with FakeStash(api_key="KEY-123", session_cookie="") as fake:
        doc = fake.hook_input(1, input={"id": "1", "title": "T"}, input_fields=["id", "title"])
        doc["server_connection"]["ApiKey"] = "KEY-123"
        with captured_log():
            assert run_hook(parse(json.dumps(doc)))["drain"] == "requested"
        assert len(fake.task_runs) == 1


def test_a_disabled_plugin_queues_nothing_and_says_so_once(
        stash: FakeStash, data_dir: Path) -> None:
    datadir.write_json(str(data_dir / datadir.SETTINGS_SNAPSHOT), {"enabled": False})
    doc = stash.hook_input(5, input={"id": "5", "title": "T"}, input_fields=["id", "title"])
    with captured_log() as stream:
        assert run_hook(parse(json.dumps(doc))) == {"skipped": "disabled", "scene": 5}
    assert len(lines(stream, "i")) == 1 and "disabled" in lines(stream, "i")[0]
    assert stash.task_runs == [] and not (data_dir / datadir.DB_NAME).exists()


def test_a_skipped_update_touches_neither_the_database_nor_stash(
        stash: FakeStash, data_dir: Path) -> None:
    assert hook(stash, 3, organized=True) == {
        "skipped": "no field PlexSync syncs was changed", "scene": 3}
    assert stash.task_runs == [] and not (data_dir / datadir.DB_NAME).exists()


def test_cleared_fields_reach_the_queued_job(stash: FakeStash, data_dir: Path) -> None:
    hook(stash, 4, title="", details="kept")
    store = JobQueue.open(str(data_dir))
    job = store.job(4)
    store.close()
    assert job is not None and job.cleared_fields == {"title"} and job.source is JobSource.HOOK


def test_an_edit_pulls_a_job_waiting_for_its_retry_forward(
        stash: FakeStash, data_dir: Path) -> None:
    hook(stash, 5)
    # The middle of the jitter range: a retry well in the future, never on the 1 s floor.
    queue = JobQueue.open(str(data_dir), backoff=Backoff(rng=lambda: 0.5))
    try:
        job = claim_one(queue)
        queue.apply(failed(job, StashError("busy")), OWNER)   # retry in a while
        waiting = queue.job(5)
        assert waiting is not None and waiting.not_before > time.time() + 1
        hook(stash, 5)   # the user edits again: the same rule as JobQueue.enqueue (urgent)
        again = queue.job(5)
        assert again is not None and again.not_before <= time.time()
        assert again.attempts == 1 and again.state is JobState.RETRYING
    finally:
        queue.close()


def test_a_hook_without_a_scene_id_is_an_input_error(stash: FakeStash, data_dir: Path) -> None:
    doc = stash.hook_input(0, input=None)
    with pytest.raises(InputError, match="no scene id"):
        run_hook(parse(json.dumps(doc)))


@pytest.mark.parametrize("scene_id", [2**63, 2**64 + 5, 10**30, "1e400"])
def test_a_scene_id_beyond_sqlite_integers_is_an_input_error(
        stash: FakeStash, data_dir: Path, scene_id: object) -> None:
    doc = stash.hook_input(0, input=None)
    doc["args"]["hookContext"]["id"] = scene_id
    raw = json.dumps(doc).replace('"1e400"', "1e400")
    with pytest.raises(InputError, match=r"is not valid|no scene id"):
        run_hook(parse(raw))


def test_chunked_and_error_replies_are_understood() -> None:
    ok = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
          b"1c\r\n{\"data\":{\"runPluginTask\":\"7\"\r\n2\r\n}}\r\n0\r\n\r\n")
    assert stash_post._parse_reply(ok) == {"runPluginTask": "7"}
    rejected = b'HTTP/1.1 200 OK\r\n\r\n{"errors":[{"message":"no such task"}],"data":null}'
    with pytest.raises(ValueError, match="no such task"):
        stash_post._parse_reply(rejected)
    with pytest.raises(ValueError, match="401"):
        stash_post._parse_reply(b"HTTP/1.1 401 Unauthorized\r\n\r\n")


def test_an_https_stash_is_spoken_to_over_tls(stash: FakeStash) -> None:
    conn = dict(stash.server_connection(), Scheme="https")  # the fake only speaks plain HTTP
    with pytest.raises(OSError):  # ssl.SSLError: the TLS handshake was attempted and failed
        stash_post.request_drain(conn, timeout=2)


def test_an_unreachable_stash_fails_fast_with_an_os_error() -> None:
    conn = {"Scheme": "http", "Host": "0.0.0.0", "Port": 1, "SessionCookie": None}
    with pytest.raises(OSError):
        stash_post.request_drain(conn, timeout=1)


def test_no_drain_is_requested_while_the_breaker_waits_for_its_next_probe(
        stash: FakeStash, data_dir: Path) -> None:
    from plexsync.resilience import state as breaker_state

    now = time.time()
    state = breaker_state.fresh(now - 60)
    state.update(state="open", opened_at=now - 30, next_probe_at=now + 30, probe_delay=20.0)
    breaker_state.write(str(data_dir), state)
    from plexsync.core import lockfile
    from plexsync.timer import state as timer_state

    # a live wake-up timer (it holds its run lock) will ask for the drain once Plex answers
    run_lock = lockfile.lock(timer_state.path(str(data_dir), timer_state.RUN_LOCK), 1)
    assert run_lock is not None
    timer_state.write_state(str(data_dir), {"armed_until": now + 30, "pid": os.getpid(),
                                            "spawned_at": now, "ready": True})
    try:
        assert hook(stash, 1) == {"queued": 1, "drain": "waiting for Plex"}
        assert pending(data_dir) == 1 and stash.task_runs == []
        state["next_probe_at"] = now - 1            # overdue (no timer probed): the drain probes
        breaker_state.write(str(data_dir), state)
        assert hook(stash, 2) == {"queued": 2, "drain": "requested"}
        assert len(stash.task_runs) == 1
    finally:
        lockfile.unlock(run_lock)


def test_with_the_breaker_waiting_but_no_live_timer_the_hook_requests_the_drain(
        stash: FakeStash, data_dir: Path) -> None:
    from plexsync.resilience import state as breaker_state

    now = time.time()   # the timer was killed: nobody would ask for the drain
    state = breaker_state.fresh(now - 60)
    state.update(state="open", opened_at=now - 30, next_probe_at=now + 30, probe_delay=20.0)
    breaker_state.write(str(data_dir), state)
    assert hook(stash, 1) == {"queued": 1, "drain": "requested"}
    assert len(stash.task_runs) == 1


def test_the_hooks_timer_lock_name_is_the_timers() -> None:
    from plexsync.hook.handler import TIMER_RUN_LOCK
    from plexsync.timer import state as timer_state

    assert TIMER_RUN_LOCK == timer_state.RUN_LOCK


def test_the_hooks_breaker_file_name_is_the_breakers() -> None:
    from plexsync.hook.handler import BREAKER_FILE
    from plexsync.resilience import state as breaker_state

    assert BREAKER_FILE == breaker_state.FILE
