import os
import stat
from pathlib import Path

import pytest

from plexsync.core import datadir
from tests.helpers import captured_log


def test_env_var_overrides_the_plugin_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "state"
    monkeypatch.setenv(datadir.ENV_VAR, str(target))
    assert datadir.resolve("/nonexistent/plugin") == str(target)
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o700


def test_default_is_data_under_the_plugin_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(datadir.ENV_VAR, raising=False)
    assert datadir.resolve(str(tmp_path)) == str(tmp_path / "data")


def test_json_round_trips_atomically_without_leftover_temp_files(tmp_path: Path) -> None:
    path = str(tmp_path / "state.json")
    datadir.write_json(path, {"a": 1})
    datadir.write_json(path, {"a": 2})
    assert datadir.read_json(path, {}) == {"a": 2}
    assert sorted(os.listdir(tmp_path)) == ["state.json"]


def test_corrupt_json_is_moved_aside_and_default_returned(tmp_path: Path) -> None:
    path = tmp_path / "breaker.json"
    path.write_text('{"state": "op')
    assert datadir.read_json(str(path), {"state": "closed"}) == {"state": "closed"}
    assert not path.exists()
    assert next(p.name for p in tmp_path.iterdir()).startswith("breaker.json.corrupt-")


def test_device_id_is_stable_across_calls(tmp_path: Path) -> None:
    first = datadir.device_id(str(tmp_path))
    assert first.startswith("plexsync-") and datadir.device_id(str(tmp_path)) == first


@pytest.mark.parametrize("damage", ["invalid utf-8", "control chars", "empty", "directory",
                                    "huge"])
def test_a_damaged_device_id_is_moved_aside_and_rebuilt_with_a_warning(
        tmp_path: Path, damage: str) -> None:
    path = tmp_path / datadir.DEVICE_ID
    if damage == "directory":
        path.mkdir()
        (path / "x").write_text("y")
    else:
        path.write_bytes({"invalid utf-8": b"\xff\xfe\x00garbage-garbage-garbage",
                          "control chars": b"plexsync-\r\nX-Evil: 1\r\n-0000000000",
                          "empty": b"", "huge": b"a" * 100_000}[damage])
    with captured_log() as out:
        value = datadir.device_id(str(tmp_path))
    assert value.startswith("plexsync-") and datadir.device_id(str(tmp_path)) == value
    assert path.read_text() == value
    assert [p.name for p in tmp_path.iterdir() if ".corrupt-" in p.name]
    assert "device-id was unreadable" in out.getvalue()
