"""The hook's view of the settings: a snapshot written by tasks, distrusted once Stash's config
changed after it, and bulk removals that may empty a list."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from plexsync.core import datadir
from plexsync.core.protocol import Invocation
from plexsync.hook.handler import gate, run_hook


def hook_invocation(config_dir: Path, scene_id: int = 5) -> Invocation:
    conn: dict[str, Any] = {"Scheme": "http", "Host": "127.0.0.1", "Port": 9,
                            "Dir": str(config_dir)}
    context = {"id": scene_id, "type": "Scene.Update.Post", "input": {"title": "t"},
               "inputFields": ["id", "title"]}
    return Invocation(conn, {"hookContext": context}, None, context)


@pytest.fixture
def dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    data, config = tmp_path / "data", tmp_path / "stash"
    config.mkdir()
    monkeypatch.setenv(datadir.ENV_VAR, str(data))
    monkeypatch.setattr("plexsync.stash.post.request_drain", lambda conn: None)
    datadir.resolve()
    return data, config


def write_snapshot(data: Path, mtime: float, **values: Any) -> None:
    path = data / datadir.SETTINGS_SNAPSHOT
    path.write_text(json.dumps(values))
    os.utime(path, (mtime, mtime))


def test_disabled_snapshot_newer_than_stash_config_skips_the_hook(dirs: tuple[Path, Path]) -> None:
    data, config = dirs
    (config / "config.yml").write_text("plugins: {}")
    os.utime(config / "config.yml", (1000, 1000))
    write_snapshot(data, 2000, enabled=False)
    assert run_hook(hook_invocation(config))["skipped"] == "disabled"


def test_re_enabling_in_stash_takes_effect_before_any_task_runs(dirs: tuple[Path, Path]) -> None:
    data, config = dirs
    write_snapshot(data, 1000, enabled=False)
    (config / "config.yml").write_text("plugins: {PlexSync: {enabled: true}}")  # mtime: now
    assert run_hook(hook_invocation(config))["queued"] == 5


def test_a_bulk_remove_may_empty_the_list_so_it_counts_as_a_clear() -> None:
    hook: dict[str, Any] = {
        "type": "Scene.Update.Post", "id": 1, "inputFields": ["ids", "tag_ids"],
        "input": {"ids": ["1", "2"], "tag_ids": {"ids": ["7"], "mode": "REMOVE"}}}
    assert gate(hook, {}) == (None, ["tag_ids"])
    hook["input"]["tag_ids"] = {"ids": ["7"], "mode": "ADD"}
    assert gate(hook, {}) == (None, [])
