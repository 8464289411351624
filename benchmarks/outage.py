"""Outage recovery: seconds from Plex's return to an empty queue, for 1,000 queued scenes,
through the resilience ramp (plexsync/resilience/).

Unavailable (a gap in the table) until the outage-resilience feature is in this tree: the
figure needs its breaker and ramp, and a number measured without them would not be this one.
"""

from __future__ import annotations

import importlib.util

from benchmarks.common import Figure, Unavailable

FIGURES = [
    Figure("outage.recovery_s", "outage: Plex back to an empty queue (1,000 scenes)", "s",
           bound="1,000 changed scenes at the sync rate"),
]


def measure(quick: bool) -> dict[str, float]:
    if importlib.util.find_spec("plexsync.resilience") is None:
        raise Unavailable("plexsync.resilience is not in this tree (outage issue not landed)")
    raise Unavailable("plexsync.resilience landed after this benchmark was written: "
                      "benchmarks/outage.py does not measure it yet")
