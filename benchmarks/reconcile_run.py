"""Reconcile All over a large library: seconds, peak memory, Stash queries, Plex requests.

Wraps `benchmarks/reconcile.py` (the reconciliation feature's own benchmark): the fake Stash
and the fake Plex each in a child process with the same N scenes (1 % of the Plex items
drifted), sync records primed as an earlier sync would leave them, then ONE
`reconcile(scope=all)` in a fresh child process so that its time and memory are its own.
The bound: one pass over Plex's paged listing (plus connect and sections) and no item read.
Unavailable (a gap in the table) when the tree has no `plexsync.reconcile`.
"""

from __future__ import annotations

import importlib.util
from typing import Any

from benchmarks.common import Figure, Unavailable

FIGURES = [
    Figure("reconcile.wall_s", "reconcile all: wall time", "s"),
    Figure("reconcile.cpu_s", "reconcile all: PlexSync CPU", "s"),
    Figure("reconcile.peak_mib", "reconcile all: peak RSS of PlexSync's process", "MiB"),
    Figure("reconcile.stash_queries", "reconcile all: Stash queries", "req"),
    Figure("reconcile.plex_requests", "reconcile all: Plex requests", "req",
           bound="the listing pages + connect + sections"),
    Figure("reconcile.plex_item_reads", "reconcile all: Plex item reads", "req", limit=0.0,
           bound="none: the listing carries the values"),
]


def _module() -> Any:
    if importlib.util.find_spec("plexsync.reconcile") is None:
        raise Unavailable("plexsync.reconcile is not in this tree (issue 12 not landed)")
    try:
        return importlib.import_module("benchmarks.reconcile")
    except ImportError as exc:
        raise Unavailable(f"benchmarks/reconcile.py is not in this tree ({exc})") from None


def measure(quick: bool) -> dict[str, float]:
    scenes = 2_000 if quick else 100_000
    result = _module().run(scenes, 0.01)
    got, plex = result["got"], result["plex_requests"]
    if got["out"]["scanned"] != scenes:
        raise RuntimeError(f"reconcile scanned {got['out']['scanned']} of {scenes} scenes")
    return {"reconcile.wall_s": got["wall"], "reconcile.cpu_s": got["cpu"],
            "reconcile.peak_mib": got["rss_mib"], "reconcile.stash_queries":
            result["stash_queries"], "reconcile.plex_requests": plex["total"],
            "reconcile.plex_item_reads": plex["items"]}
