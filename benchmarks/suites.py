"""The benchmark suites, in the order the table shows them, and their declared figures."""

from __future__ import annotations

import importlib
from types import ModuleType

from benchmarks.common import Figure

# name -> (module, runs in a full run). Reconcile's 100,000-scene set-up takes minutes, so a
# full run measures it once; so is the outage: one run is about 2.5 minutes, 124 s of which is
# the ramp's own clock-paced floor, so repeats would add minutes and little spread; the Stash
# restart likewise waits out its timer's real backoff (about half a minute). Every other
# suite is repeated for median/min/max.
SUITES: dict[str, tuple[str, int]] = {
    "hook": ("benchmarks.hook_latency", 3),
    "queue": ("benchmarks.queue_throughput", 3),
    "sync": ("benchmarks.sync_requests", 3),
    "index": ("benchmarks.index_build", 3),
    "reconcile": ("benchmarks.reconcile_run", 1),
    "outage": ("benchmarks.outage", 1),
    "timer": ("benchmarks.wake_timer", 3),
    "playstate": ("benchmarks.play_state", 3),
    "stash": ("benchmarks.stash_restart", 1),
}
# The feature a suite needs; its absence from the tree is the only accepted gap.
FEATURES = {"reconcile": "plexsync.reconcile", "outage": "plexsync.resilience",
            "playstate": "plexsync.playstate", "stash": "plexsync.timer"}
# Suites whose feature is in the tree but whose benchmark is not written yet: a declared gap,
# shown in the table and docs/performance.md with this reason. Remove the entry with the gap.
# None today.
KNOWN_GAPS: dict[str, str] = {}


def module(name: str) -> ModuleType:
    return importlib.import_module(SUITES[name][0])


def figures(name: str) -> list[Figure]:
    found: list[Figure] = module(name).FIGURES
    return found


def all_figures() -> dict[str, tuple[str, Figure]]:
    """Every declared figure by key, with its suite."""
    return {fig.key: (name, fig) for name in SUITES for fig in figures(name)}
