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


@pytest.fixture
def open_umask() -> object:
    """Run the test under umask 000, the loosest a parent process can pass on."""
    old = os.umask(0)
    try:
        yield None
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_an_existing_data_folder_open_to_others_is_made_owner_only_with_a_warning(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "state"
    target.mkdir()
    target.chmod(0o777)
    monkeypatch.setenv(datadir.ENV_VAR, str(target))
    with captured_log() as stream:
        datadir.resolve()
    assert _mode(target) == 0o700
    assert "was open to other users (mode 777); made it owner-only" in stream.getvalue()


@pytest.mark.usefixtures("open_umask")
def test_state_files_and_the_device_id_are_owner_only_under_umask_000(tmp_path: Path) -> None:
    datadir.write_json(str(tmp_path / "state.json"), {"a": 1})
    datadir.device_id(str(tmp_path))
    with datadir.locked(str(tmp_path / "state.json")):
        pass
    modes = {p.name: _mode(p) for p in tmp_path.iterdir()}
    assert modes == {"state.json": 0o600, "device-id": 0o600, "device-id.lock": 0o600,
                     "state.json.lock": 0o600}


@pytest.mark.usefixtures("open_umask")
def test_a_temp_file_planted_under_a_predictable_name_is_never_written_through(
        tmp_path: Path) -> None:
    # The old writers used "<name>.<pid>.tmp" (and O_TRUNC): a 0666 file planted there kept
    # its mode, and everyone could read the credentials written through it.
    from plexsync.timer import state

    for name in (f"{state.CREDENTIALS_FILE}.{os.getpid()}.tmp",
                 f"device-id.{os.getpid()}.tmp", f"breaker.json.{os.getpid()}.tmp"):
        planted = tmp_path / name
        planted.write_text("")
        planted.chmod(0o666)
    state.write_credentials(str(tmp_path), {"Host": "h", "ApiKey": "KEY-PLANTED-1"})
    datadir.device_id(str(tmp_path))
    from plexsync.resilience import state as breaker_state

    breaker_state.write(str(tmp_path), breaker_state.fresh(0.0))
    for path in tmp_path.iterdir():
        if path.name.endswith(".tmp"):
            assert path.read_text() == "", f"{path.name} was written through"
        else:
            assert _mode(path) == 0o600, path.name


def test_a_data_folder_that_is_a_dangling_symlink_is_a_one_line_config_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from plexsync.errors import ConfigError

    link = tmp_path / "data"
    link.symlink_to(tmp_path / "gone")
    monkeypatch.setenv(datadir.ENV_VAR, str(link))
    with pytest.raises(ConfigError, match=r"is a symlink to a folder that does not exist; "
                                          r"point PLEXSYNC_DATA_DIR at a folder"):
        datadir.resolve()


def test_a_data_folder_that_is_a_file_is_a_one_line_config_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from plexsync.errors import ConfigError

    file = tmp_path / "data"
    file.write_text("not a folder")
    monkeypatch.setenv(datadir.ENV_VAR, str(file))
    with pytest.raises(ConfigError, match=r"is a file, not a folder; point PLEXSYNC_DATA_DIR"):
        datadir.resolve()
