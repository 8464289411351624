"""Outage recovery: seconds from Plex's return to an empty queue, for 1,000 queued scenes,
through the resilience ramp (plexsync/resilience/).

A gap in the table: before the outage-resilience feature was in the tree there was nothing to
measure, and the benchmark that drives a real outage through its breaker and ramp is not
written yet (`suites.KNOWN_GAPS`). A number measured without them would not be this one.
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
    from benchmarks.suites import KNOWN_GAPS

    raise Unavailable(KNOWN_GAPS["outage"])
