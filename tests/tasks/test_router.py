from pathlib import Path
from typing import Any

import pytest
import yaml

from plexsync.core import datadir
from plexsync.errors import InputError
from plexsync.tasks.router import TASKS, load_settings, resolve_handler, validate_mode


class RecordingStash:
    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw
        self.configured: list[dict[str, Any]] = []

    def plugin_settings(self) -> dict[str, Any]:
        return dict(self.raw)

    def configure_plugin(self, values: dict[str, Any]) -> None:
        self.configured.append(dict(values))
        self.raw = dict(values)


def test_every_manifest_task_routes_to_a_known_mode() -> None:
    with open("PlexSync.yml", encoding="utf-8") as fh:
        manifest = yaml.safe_load(fh)
    assert {t["defaultArgs"]["mode"] for t in manifest["tasks"]} == set(TASKS)


def test_unknown_mode_lists_the_valid_ones() -> None:
    with pytest.raises(InputError) as info:
        validate_mode("sync_everything")
    assert "process_queue" in str(info.value) and "queue_status" in str(info.value)


def test_defaults_are_written_back_once_without_touching_user_values(tmp_path: Path) -> None:
    stash = RecordingStash({"plex_url": "http://plex:32400", "enabled": False})
    settings = load_settings(stash, str(tmp_path))
    assert settings.enabled is False
    assert len(stash.configured) == 1
    written = stash.configured[0]
    assert written["enabled"] is False and written["plex_url"] == "http://plex:32400"
    assert written["sync_title"] is True
    load_settings(stash, str(tmp_path))
    assert len(stash.configured) == 1


def test_settings_snapshot_for_the_hook_holds_no_secrets(tmp_path: Path) -> None:
    load_settings(RecordingStash({"plex_token": "sekrit-token", "enabled": False}), str(tmp_path))
    snapshot = datadir.read_json(str(tmp_path / datadir.SETTINGS_SNAPSHOT), {})
    assert snapshot["enabled"] is False and "sekrit" not in repr(snapshot)


# Every task of docs/tasks.md is built now (the last ones: Health Check, Outage Summary).
@pytest.mark.parametrize("mode", sorted(TASKS))
def test_every_mode_resolves_to_a_handler(mode: str) -> None:
    assert callable(resolve_handler(mode))
