import json
from datetime import date

import pytest

from plexsync.core import fastjson

DOCUMENTS = [
    '{"a": 1, "b": [1, 2.5, "x", null, true, false], "c": {"d": "é\\u00e9\\n"}}',
    " [1] ", '"s"', "1e5", '{"x": NaN, "y": -Infinity}', "{}", "[]", '  {"k":"v"}  \n',
    '{"server_connection": {"Port": 9999}, "args": {"hookContext": {"input": null}}}',
]


@pytest.mark.parametrize("text", DOCUMENTS)
def test_loads_matches_the_json_module(text: str) -> None:
    assert repr(fastjson.loads(text)) == repr(json.loads(text))


@pytest.mark.parametrize("text", ["not json", "", "{\"a\":1} x", "{\"a\":", "[1,]", "\x00"])
def test_malformed_input_raises_the_same_value_error_as_json(text: str) -> None:
    with pytest.raises(ValueError):
        fastjson.loads(text)


@pytest.mark.parametrize(
    "value",
    [{"output": {"queued": 3, "drain": "requested"}, "error": None},
     {"b": 1, "a": [1.5, "ü\n\"", None, True]}, [], "x", 3, {"nested": {"z": 1, "a": 2}}],
)
def test_dumps_matches_the_json_module(value: object) -> None:
    assert fastjson.dumps(value) == json.dumps(value)
    assert fastjson.dumps(value, sort_keys=True) == json.dumps(value, sort_keys=True)


def test_dumps_uses_default_for_unknown_types_and_fails_without_it() -> None:
    assert fastjson.dumps({"d": date(2020, 1, 2)}, default=str) == '{"d": "2020-01-02"}'
    with pytest.raises(TypeError):
        fastjson.dumps({"o": object()})
