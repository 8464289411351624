import json

import pytest

from plexsync.core.protocol import parse, respond
from plexsync.errors import InputError


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("", "no input"),
        ("not json", "not JSON"),
        ("[1, 2]", "not an object"),
        ('{"server_connection": {}}', '"args"'),
        ('{"args": {}}', "neither"),
        ('{"args": {"hookContext": {"type": "Image.Update.Post", "id": 1}}}', "Image.Update.Post"),
    ],
)
def test_bad_input_is_one_sentence_saying_what_is_wrong(raw: str, fragment: str) -> None:
    with pytest.raises(InputError) as info:
        parse(raw)
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_task_input_gives_mode_and_plugin_dir() -> None:
    inv = parse(json.dumps({"server_connection": {"PluginDir": "/p"}, "args": {"mode": "x"}}))
    assert (inv.mode, inv.hook_context, inv.plugin_dir) == ("x", None, "/p")


def test_scan_hook_with_null_input_is_accepted() -> None:
    inv = parse(json.dumps({"args": {"hookContext": {"id": 3, "type": "Scene.Update.Post",
                                                      "input": None, "inputFields": None}}}))
    assert inv.hook_context is not None and inv.hook_context["id"] == 3


def test_respond_prints_exactly_one_json_object(capsys: pytest.CaptureFixture[str]) -> None:
    respond(output={"a": 1})
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and json.loads(out) == {"output": {"a": 1}, "error": None}


def _doc(conn: dict[str, object]) -> str:
    return json.dumps({"server_connection": conn, "args": {"mode": "queue_status"}})


@pytest.mark.parametrize(("conn", "fragment"), [
    ({"SessionCookie": {"Name": "session", "Value": 12345}}, "SessionCookie"),
    ({"SessionCookie": "abc"}, "SessionCookie"),
    ({"ApiKey": ["k"]}, "server_connection.ApiKey must be a string"),
    ({"ApiKey": 7}, "server_connection.ApiKey must be a string"),
    ({"PluginDir": "/plugins/plex\x00sync"}, "server_connection.PluginDir contains a NUL"),
    ({"PluginDir": 3}, "server_connection.PluginDir must be a string"),
])
def test_a_server_connection_field_of_the_wrong_type_is_named(conn: dict[str, object],
                                                              fragment: str) -> None:
    with pytest.raises(InputError, match=fragment) as err:
        parse(_doc(conn))
    assert "\n" not in str(err.value)


def test_json_nested_100000_levels_deep_is_an_input_error() -> None:
    with pytest.raises(InputError, match="nested too deeply"):
        parse("[" * 100_000 + "]" * 100_000)
    with pytest.raises(InputError, match="nested too deeply"):
        parse('{"args": ' + '{"a": ' * 100_000 + "1" + "}" * 100_001)


def test_stash_shaped_connection_is_accepted() -> None:
    inv = parse(_doc({"Scheme": "http", "Host": "localhost", "Port": 9999, "ApiKey": "",
                      "SessionCookie": {"Name": "session", "Value": "v"}, "PluginDir": "/p"}))
    assert inv.mode == "queue_status" and inv.plugin_dir == "/p"


def test_no_registered_secret_leaves_in_an_answer(capsys: pytest.CaptureFixture[str]) -> None:
    from plexsync.core.log import StashLog, log

    saved = set(log._secrets)
    try:
        log.add_secret("ANSWERSECRET-81x")
        respond(output={"note": "echoed ANSWERSECRET-81x by someone"}, error=None)
    finally:
        log._secrets = saved
    out = capsys.readouterr().out
    assert "ANSWERSECRET-81x" not in out and "[REDACTED]" in out
    assert StashLog().scrub("apikey: 1") == "apikey: 1"   # ordinary text is left alone
