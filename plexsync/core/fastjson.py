"""JSON for the hook path, on CPython's C accelerator `_json` without importing `json`.

`import json` pulls in `re` and costs the hook about 3 ms (2.8 ms measured, this module 0.8 ms:
fastest of 40 `python -S -X importtime` runs with `enum` already loaded, as on the hook path;
docs/design.md#hook-budget). `loads`/`dumps` give the same results as `json`'s for the
documents PlexSync reads and writes; any input the fast path rejects goes to the real `json`,
so malformed input raises exactly the `ValueError` that `json` would.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import IO, Any

try:
    import _json
except ImportError:  # not CPython: use the standard module
    _json = None  # type: ignore[assignment]

_CONSTANTS = {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}
_WHITESPACE = " \t\n\r"


class _Context:
    """The attributes `_json.make_scanner` reads from a JSONDecoder."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = _CONSTANTS.__getitem__


_scan: Callable[[str, int], tuple[Any, int]] | None = (
    _json.make_scanner(_Context()) if _json is not None else None  # type: ignore[arg-type]
)


def loads(text: str) -> Any:
    if _scan is not None:
        start = len(text) - len(text.lstrip(_WHITESPACE))
        try:
            value, end = _scan(text, start)
        except Exception:  # StopIteration or a decode error: let json explain it
            value, end = None, -1
        if end >= 0 and not text[end:].strip(_WHITESPACE):
            return value
    import json

    return json.loads(text)


def load(fh: IO[str]) -> Any:
    return loads(fh.read())


def dumps(obj: Any, *, sort_keys: bool = False, default: Callable[[Any], Any] | None = None) -> str:
    if _json is None:
        import json

        return json.dumps(obj, sort_keys=sort_keys, default=default)

    def fail(value: Any) -> Any:
        if default is None:
            raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")
        return default(value)

    encode = _json.make_encoder(None, fail, _json.encode_basestring_ascii, None, ": ", ", ",
                                sort_keys, False, True)
    return "".join(encode(obj, 0))
