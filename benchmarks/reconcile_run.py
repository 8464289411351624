"""Reconcile All over a large library: seconds, peak memory, Stash queries, Plex requests.

Wraps `benchmarks/reconcile.py` (the reconciliation feature's own benchmark): the fake Stash
and the fake Plex each in a child process with the same N scenes (1 % of the Plex items
drifted), sync records primed as an earlier sync would leave them, then ONE
`reconcile(scope=all)` in a fresh child process so that its time and memory are its own.
The count limits come from the product's own page sizes (imported): Stash queries are
ceil(N / `reconcile.engine.PER_PAGE`), the scene pages and nothing else (the settings come
with the task; scenes whose files are shared by no other scene need no ownership query);
Plex requests are one pass over the listing, ceil(items / `plex.index.DEFAULT_PAGE_SIZE`),
plus the connect (`GET /`) and the sections (`GET /library/sections`). No item read.
The time and memory limits are measured (benchmarks/reconcile_floor.py): after the run, a
fresh child process fetches and parses the same Plex listing pages (ElementTree) and the same
Stash pages (the same document, bare `http.client` POSTs, `json.loads`), keeping what
comparison needs, and reports its wall, CPU and peak RSS the same way.
Unavailable (a gap in the table) when the tree has no `plexsync.reconcile`.
"""

from __future__ import annotations

import importlib.util
from typing import Any

from benchmarks.common import Figure, Unavailable, limit_key

# Plex requests that are not listing pages: the connect (GET /) and the sections list.
CONNECT_AND_SECTIONS = 2

FIGURES = [
    Figure("reconcile.wall_s", "reconcile all: wall time", "s",
           bound="fetch + parse the same Stash and Plex pages, nothing else"),
    Figure("reconcile.cpu_s", "reconcile all: PlexSync CPU", "s",
           bound="fetch + parse the same Stash and Plex pages, nothing else"),
    Figure("reconcile.peak_mib", "reconcile all: peak RSS of PlexSync's process", "MiB",
           bound="that floor's process: the listing's values by path, one Stash page"),
    Figure("reconcile.stash_queries", "reconcile all: Stash queries", "req",
           bound="scenes / Stash page size (250), nothing else"),
    Figure("reconcile.plex_requests", "reconcile all: Plex requests", "req",
           bound="items / Plex page size (1,000) + connect + sections"),
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


def _pages(count: int, page: int) -> int:
    """Pages of `page` for `count` rows; an empty set still costs the one page that says so."""
    return max(1, -(-count // page))


def stash_query_limit(scenes: int) -> int:
    """Reconcile pages for `scenes` scenes at the engine's own page size."""
    from plexsync.reconcile.engine import PER_PAGE

    return _pages(scenes, PER_PAGE)


def plex_request_limit(items: int) -> int:
    """One listing pass over one section of `items` at the index's page size, plus the
    connect and the sections list."""
    from plexsync.plex.index import DEFAULT_PAGE_SIZE

    return _pages(items, DEFAULT_PAGE_SIZE) + CONNECT_AND_SECTIONS


def measure(quick: bool) -> dict[str, float]:
    scenes = 2_000 if quick else 100_000
    result = _module().run(scenes, 0.01, with_floor=True)
    got, plex, floor = result["got"], result["plex_requests"], result["floor"]
    if got["out"]["scanned"] != scenes:
        raise RuntimeError(f"reconcile scanned {got['out']['scanned']} of {scenes} scenes")
    if floor["scanned"] != scenes or floor["matched"] != scenes:
        raise RuntimeError(f"the floor read {floor['scanned']} scenes and found "
                           f"{floor['matched']} in the listing, of {scenes}")
    return {"reconcile.wall_s": got["wall"], "reconcile.cpu_s": got["cpu"],
            "reconcile.peak_mib": got["rss_mib"], "reconcile.stash_queries":
            result["stash_queries"], "reconcile.plex_requests": plex["total"],
            "reconcile.plex_item_reads": plex["items"],
            limit_key("reconcile.wall_s"): floor["wall"],
            limit_key("reconcile.cpu_s"): floor["cpu"],
            limit_key("reconcile.peak_mib"): floor["rss_mib"],
            # the fake Plex holds one item per scene, in one section
            limit_key("reconcile.stash_queries"): stash_query_limit(scenes),
            limit_key("reconcile.plex_requests"): plex_request_limit(scenes)}
