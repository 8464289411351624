"""The play-state import as Status, the PlexSync page and Health Check show it.

The PlexSync page's status operation imports this module (tests/tasks/
test_page_import_budget.py): standard library and `core.fastjson` only, no `dataclasses` or
`typing`. It also names the queue meta keys the import keeps (no schema step holds them).
"""

from __future__ import annotations

import time

from plexsync.core import fastjson
from plexsync.timer.state import IMPORT_DUE_KEY

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

VIEWED_KEY = "play_import_viewed_at"   # history read up to here: next `viewedAt>=` this
RATED_KEY = "play_import_rated_at"     # ratings read up to here: next `lastRatedAt>>=` this
LAST_KEY = "play_import_last"          # JSON: the last completed import (importer.Summary)
RATED_EDGE_KEY = "play_import_rated_edge"   # JSON: items rated exactly at RATED_KEY, seen
RESUME_KEY = "play_import_resume"      # JSON: item → the resume offset (ms) imported last


def last_import(meta: Mapping[str, str]) -> dict[str, Any] | None:
    """The last completed import's summary from the queue meta, or None."""
    try:
        value = fastjson.loads(meta.get(LAST_KEY) or "null")
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def status_block(meta: Mapping[str, str]) -> dict[str, Any]:
    """The `play_import` block of the status JSON: the last completed import (when, plays,
    resume points, ratings, scenes changed) and when the next one is due (None: off)."""
    last = last_import(meta) or {}
    try:
        next_at = float(meta[IMPORT_DUE_KEY]) if meta.get(IMPORT_DUE_KEY) else None
    except ValueError:
        next_at = None
    return {
        "last_run_at": _iso(last.get("started_at")),
        "plays": int(last.get("plays") or 0),
        "resume_points": int(last.get("resume_points") or 0),
        "ratings": int(last.get("ratings") or 0),
        "scenes": int(last.get("scenes") or 0),
        "next_run_at": _iso(next_at),
    }


def status_line(block: Mapping[str, Any]) -> str:
    """One human line for the log and Health Check."""
    if block.get("last_run_at"):
        text = (f"Last play-state import {block['last_run_at']}: {block['plays']} play(s), "
                f"{block['resume_points']} resume point(s), {block['ratings']} rating(s)")
    else:
        text = "Play-state import: none yet"
    nxt = block.get("next_run_at")
    return text + (f"; next at {nxt}." if nxt else "; not scheduled (import_play_state off).")


def _iso(epoch: object) -> str | None:
    if not isinstance(epoch, int | float):
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(float(epoch)))
