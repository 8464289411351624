"""Property-based tests (hypothesis) over what Stash and users hand the plugin: stdin JSON,
hookContext, settings values and Stash scene data (huge, empty, Unicode, wrong types).

The promise: always one clean error naming the input (a PlexSyncError, one line) or a correct
result; never an internal error. Example counts are fixed (`EXAMPLES`) and derandomized, so CI
tries the same inputs every run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plexsync.core.protocol import parse
from plexsync.core.settings import Settings, setting_names
from plexsync.errors import ConfigError, InputError, PlexSyncError
from plexsync.hook.handler import run_hook
from plexsync.sync.fields import wanted
from testkit.fake_stash import FakeStash
from tests.helpers import captured_log

EXAMPLES = 300
PROFILE = settings(settings.get_profile("reliability"), max_examples=EXAMPLES)

json_leaf = (st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
             | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=40))
json_value = st.recursive(json_leaf, lambda inner: st.lists(inner, max_size=4)
                          | st.dictionaries(st.text(max_size=12), inner, max_size=4),
                          max_leaves=20)
connection = st.fixed_dictionaries({}, optional={
    "Scheme": st.sampled_from(["http", "https"]) | json_leaf,
    "Host": st.text(max_size=20) | json_leaf, "Port": json_leaf,
    "ApiKey": json_leaf, "PluginDir": st.text(max_size=20) | json_leaf,
    "SessionCookie": json_value | st.fixed_dictionaries({"Name": json_leaf, "Value": json_leaf}),
})


def _clean(error: PlexSyncError) -> None:
    text = str(error)
    assert text and "\n" not in text and "internal error" not in text


@PROFILE
@given(st.text(max_size=200) | json_value.map(json.dumps)
       | st.builds(lambda c, a: json.dumps({"server_connection": c, "args": a}),
                   connection, json_value))
def test_any_stdin_parses_or_is_one_input_error(raw: str) -> None:
    try:
        invocation = parse(raw)
    except InputError as exc:
        _clean(exc)
        return
    assert invocation.mode is not None or invocation.hook_context is not None


hook_context = st.fixed_dictionaries({
    "type": st.sampled_from(["Scene.Update.Post", "Scene.Create.Post"]),
}, optional={
    "id": st.integers(min_value=-(2**65), max_value=2**65) | json_leaf
          | st.integers(1, 50).map(str),
    "input": json_value, "inputFields": json_value | st.lists(st.sampled_from(
        ["id", "title", "details", "tag_ids", "cover_image", "rating100", "studio_id"])),
})


@pytest.fixture(scope="module")
def stash() -> Any:
    with FakeStash() as fake:
        yield fake


@PROFILE
@given(hook=hook_context)
def test_any_hook_context_queues_or_is_one_input_error(
        stash: FakeStash, hook: dict[str, Any],
        monkeypatch_env: None) -> None:
    doc = {"server_connection": stash.server_connection(), "args": {"hookContext": hook}}
    with captured_log():
        try:
            out = run_hook(parse(json.dumps(doc)))
        except InputError as exc:
            _clean(exc)
            return
    assert set(out) >= {"queued"} or "skipped" in out, out


@pytest.fixture
def monkeypatch_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLEXSYNC_DATA_DIR", str(tmp_path / "data"))


@PROFILE
@given(st.dictionaries(st.sampled_from([*setting_names(), "plexHost", "plexPort", "plexToken"]),
                       json_leaf | st.sampled_from(
                           ["nan", "inf", "1e309", "-1", "http://[::1", "http://h:abc",
                            "/a=/b;/a=/c", "x=/y", "C:\\v=/v", "0", "true"]), max_size=6))
def test_any_settings_map_validates_or_is_one_config_error_naming_a_setting(
        raw: dict[str, Any]) -> None:
    try:
        s = Settings.from_mapping(raw)
    except ConfigError as exc:
        _clean(exc)
        assert any(name in str(exc) for name in (*raw, "plex_url", "connect_timeout")), exc
        return
    assert s.max_tags >= 0 and s.max_retries >= 0 and s.read_timeout > 0
    assert s.connect_timeout > 0 and s.dlq_retention_days >= 1
    assert all(v == v and abs(v) != float("inf") for v in (
        s.max_tags, s.queue_timeout, s.connect_timeout, s.read_timeout))


scene = st.fixed_dictionaries({}, optional={
    "id": json_leaf, "title": json_leaf | st.text(min_size=1000, max_size=5000),
    "details": json_leaf, "date": json_leaf | st.dates().map(str), "rating100": json_leaf,
    "studio": json_value, "performers": json_value, "tags": json_value, "groups": json_value,
    "director": json_leaf, "files": json_value, "updated_at": json_leaf,
    "paths": json_value,
})


@PROFILE
@given(scene, st.sampled_from(["genres", "labels", "both"]))
def test_any_stash_scene_data_gives_values_or_one_clean_error(scene: dict[str, Any],
                                                               tags_as: str) -> None:
    config = Settings.from_mapping({"tags_as": tags_as, "max_tags": 3})
    try:
        values = wanted(scene, config)
    except PlexSyncError as exc:
        _clean(exc)
        return
    for value in values.scalars.values():
        assert value is None or isinstance(value, str | float)
        if isinstance(value, str):
            assert "\x00" not in value and len(value) <= 10_000
    for names in values.tags.values():
        assert all(isinstance(n, str) and n for n in names)
