"""Corruption of every state file in the data directory: a warning and a rebuild, never a
dead-letter, and the queued work still syncs.

Damage kinds: garbage bytes, a truncated copy, an empty file, the wrong JSON type, a directory
in the file's place. Files: device-id, settings-snapshot.json, legacy-settings-noted,
plexsync.db (the queue), index/cache.db (the library index), drain.lock.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from plexsync.core import datadir
from tests.helpers import captured_log
from tests.reliability.conftest import World, invoke

DAMAGE = ["garbage", "truncated", "empty", "wrong-json-type", "directory"]
FILES = [datadir.DEVICE_ID, datadir.SETTINGS_SNAPSHOT, "legacy-settings-noted",
         datadir.DB_NAME, "index/cache.db", "drain.lock"]


def _damage(path: Path, how: str) -> None:
    old = path.read_bytes() if path.is_file() else b'{"a": 1}'
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)
    if how == "directory":
        path.mkdir()
        (path / "junk").write_bytes(b"\x00")
        return
    path.write_bytes({"garbage": b"\xff\xfe\x00\x13garbage\x80" * 50,
                      "truncated": old[: len(old) // 2],
                      "empty": b"",
                      "wrong-json-type": b"[1, 2, 3]"}[how])


@pytest.mark.parametrize("how", DAMAGE)
@pytest.mark.parametrize("name", FILES)
def test_a_damaged_state_file_is_rebuilt_and_the_queue_still_syncs(
        world: World, name: str, how: str) -> None:
    world.add(3)
    stash = world.stash
    stash.plugin_config["PlexSync"] = {"plex_url": world.plex.url,
                                       "plex_token": world.plex.token,
                                       "path_map": "/stash/media=/plex/media",
                                       "plexHost": "ignored"}
    ids = list(world.scenes)
    # a first full run creates every state file
    with captured_log():
        first = invoke(stash.task_input({"mode": "sync_all"}))
    assert first["error"] is None and all(world.holds(sid) for sid in ids), first
    assert (world.data_dir / name).exists() or name == "legacy-settings-noted"

    _damage(world.data_dir / name, how)
    stash.update_scene(ids[0], title="After damage")
    world.titles[ids[0]] = "After damage"
    with captured_log() as log_text:
        hook = invoke(stash.hook_input(ids[0], input={"id": str(ids[0]), "title": "x"},
                                       input_fields=["id", "title"]))
        again = invoke(stash.task_input({"mode": "process_queue"}))
    assert hook["error"] is None and again["error"] is None, (hook, again)
    out = again["output"]
    assert out["dead_lettered"] == 0 and out["dlq"] == 0, out
    assert out["pending"] + out["retrying"] == 0, out
    assert all(world.holds(sid) for sid in world.scenes)
    assert "internal error" not in log_text.getvalue()
