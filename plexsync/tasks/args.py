"""Task arguments (the `args` of a task run): parsed and validated before anything changes.

Each parser raises `InputError` naming the argument and the accepted values, so a mistyped
argument changes nothing and the user reads how to fix it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from plexsync.errors import ErrorClass, InputError

DAY = 86400.0


def parse_days(value: Any, default: float, name: str = "days") -> float:
    """A non-negative number of days from a task argument (string or number)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return float(default)
    try:
        days = float(str(value).strip())
    except ValueError:
        raise InputError(f"the {name} argument must be a number of days (e.g. 30), "
                         f"not {value!r}.") from None
    if days in (float("inf"), float("-inf")):   # would reach the answer as a bare Infinity
        raise InputError(f"the {name} argument must be a finite number of days (e.g. 30), "
                         f"not {value!r}.")
    if days < 0 or days != days:  # negative or NaN
        raise InputError(f"the {name} argument must be zero or more days, not {value!r}.")
    return days


def parse_error_types(value: Any) -> list[ErrorClass] | None:
    """Comma-separated ErrorClass names (any case); "all" or "*" means every class (None)."""
    text = str(value if value is not None else ErrorClass.PLEX_SERVER_DOWN.value).strip()
    if text.lower() in ("all", "*"):
        return None
    by_name = {c.value.lower(): c for c in ErrorClass}
    chosen: list[ErrorClass] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        if part.lower() not in by_name:
            raise InputError(f"the error_types argument names an unknown error class {part!r}; "
                             f"use a comma-separated list of "
                             f"{', '.join(c.value for c in ErrorClass)} (or all).")
        chosen.append(by_name[part.lower()])
    if not chosen:
        raise InputError("the error_types argument is empty; name at least one error class "
                         f"({', '.join(c.value for c in ErrorClass)}) or all.")
    return chosen


def parse_since(value: Any, now: float) -> float | None:
    """`since`: an ISO date/time (UTC when no offset) or a number of days back; None = all."""
    if value is None or not str(value).strip():
        return None
    text = str(value).strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return now - float(text) * DAY
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"the since argument must be an ISO date like 2024-05-01 (or a date "
                         f"and time), or a number of days back; not {text!r}.") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()
