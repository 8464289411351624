"""When the automatic play-state import is due, and what the queue meta keeps of it.

Rules (`due`): with `import_play_state` off, never. Otherwise an import is due when none has
started yet, or the last attempt (whatever its outcome) started `INTERVAL` (15 minutes) ago
or more, so an outage is retried 15 minutes later, not on every task. The queue meta
holds every value (no schema step): the high-water marks (Plex's clock, epoch seconds), the
last import's summary (JSON) and the next due time, which the wake-up timer reads like a
job's due time (`timer.state.IMPORT_DUE_KEY`). Cost when not due: one meta read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from plexsync.playstate.status import LAST_KEY, RATED_EDGE_KEY, RATED_KEY, RESUME_KEY, VIEWED_KEY

INTERVAL = 15 * 60.0

__all__ = ["INTERVAL", "LAST_KEY", "RATED_EDGE_KEY", "RATED_KEY", "RESUME_KEY", "VIEWED_KEY",
           "Due", "due", "high_water"]


@dataclass(frozen=True, slots=True)
class Due:
    now: bool
    next_at: float | None = None    # None: never (import_play_state is off)


def due(enabled: bool, last_started_at: float | None, now: float) -> Due:
    if not enabled:
        return Due(False)
    if last_started_at is None or now - last_started_at >= INTERVAL:
        return Due(True)
    return Due(False, last_started_at + INTERVAL)


def high_water(meta: Mapping[str, str], key: str) -> int:
    try:
        return int(float(meta.get(key) or 0))
    except ValueError:
        return 0

