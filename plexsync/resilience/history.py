"""Outage history: the last `KEEP` outages and their MTTR, MTBF and availability.

Records live in the breaker file (state.py) and are appended by the breaker's close
transition, in the same atomic write, so each outage is recorded exactly once. Pure functions
over the state dict; standard library only.

- MTTR: mean duration of the recorded, finished outages.
- MTBF: mean up time between failures = (watched time - down time) / number of outages.
- availability: 1 - down time / watched time, over the window PlexSync has watched Plex:
  from `watched_since` (its first run: the breaker file is written then; moved forward when
  old records are dropped), or the last `WINDOW` (30 days) if that is shorter; outages are
  counted within that window only, an ongoing one included.
"""

from __future__ import annotations

import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

KEEP = 30
WINDOW = 30 * 86400.0


def append(state: dict[str, Any], start: float, end: float, jobs: int) -> None:
    outages: list[dict[str, Any]] = list(state.get("outages") or [])
    outages.append({"start": start, "end": end, "duration_s": round(end - start, 3),
                    "jobs_affected": jobs})
    while len(outages) > KEEP:
        dropped = outages.pop(0)
        state["watched_since"] = max(float(state.get("watched_since") or 0),
                                     float(dropped["end"]))
    state["outages"] = outages


def iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def summary(state: dict[str, Any], now: float) -> dict[str, Any]:
    """The status JSON `outages` block, plus the records and the ongoing outage."""
    outages = list(state.get("outages") or [])
    ongoing = state.get("opened_at")
    since = state.get("watched_since")
    start = max(float(now if since is None else since), now - WINDOW)
    watched = max(0.0, now - start)
    down = sum(max(0.0, float(o["end"]) - max(start, float(o["start"]))) for o in outages)
    if ongoing is not None:
        down += max(0.0, now - max(start, float(ongoing)))
    count = len(outages) + (1 if ongoing is not None else 0)
    mttr = round(down_finished(outages) / len(outages), 3) if outages else None
    mtbf = round(max(0.0, watched - down) / count, 3) if count and watched > 0 else None
    availability = round(max(0.0, 1 - down / watched), 6) if watched > 0 else None
    return {
        "count": count,
        "mttr_s": mttr,
        "mtbf_s": mtbf,
        "availability": availability,
        "ongoing": None if ongoing is None else {
            "start": iso(float(ongoing)), "duration_s": round(now - float(ongoing), 3),
            "jobs_affected": int(state.get("jobs_affected") or 0)},
        "history": [{"start": iso(o["start"]), "end": iso(o["end"]),
                     "duration_s": o["duration_s"], "jobs_affected": o["jobs_affected"]}
                    for o in reversed(outages)],
    }


def down_finished(outages: list[dict[str, Any]]) -> float:
    return sum(float(o["duration_s"]) for o in outages)
