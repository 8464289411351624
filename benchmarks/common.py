"""The figure model shared by every benchmark, and small statistics helpers.

A benchmark module exposes `FIGURES` (what it reports, each with its limit) and
`measure(quick) -> dict[str, float]`, one run's values keyed by `Figure.key`; a measured limit
comes back under `limit_key(key)`. `Unavailable` means the feature is not in this tree (a gap
in the table, never a made-up number).
"""

from __future__ import annotations

import os
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


class Unavailable(Exception):
    """The feature this benchmark measures is not in this tree; the message says which."""


@dataclass(frozen=True)
class Figure:
    key: str                      # stable JSON key, e.g. "hook.cached.queued.p50_ratio"
    label: str                    # the table's row
    unit: str
    limit: float | None = None    # a stated limit; None = measured (limit_key) or none at all
    bound: str = ""               # what bounds it: the table's limit note
    target: str = ""              # the project's target, if any ("<= 2.0")


def limit_key(key: str) -> str:
    return f"{key}@limit"


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..1) of a non-empty list."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def summary(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def quiet_log() -> None:
    """Keep PlexSync's per-job log lines out of the report."""
    import io

    from plexsync.core.log import log

    log._stream = io.StringIO()


def on_path() -> None:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))


def rss_kib(pid: int) -> int:
    """Resident set size of a live process (Linux /proc); 0 where /proc is absent."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def peak_rss_mib() -> float:
    """This process's own peak RSS: Linux's VmHWM, which starts afresh at exec. Not
    `ru_maxrss`: a spawned child inherits, across the exec, the peak of the parent that
    forked it (so a child of a 300 MiB parent reports 300 MiB). ru_maxrss where /proc is
    absent."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load_average() -> list[float]:
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    return [round(x, 2) for x in load]


def machine() -> dict[str, Any]:
    import platform

    model = platform.processor()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            model = next((ln.split(":", 1)[1].strip() for ln in fh
                          if ln.startswith("model name")), model)
    except OSError:
        pass
    return {"system": platform.platform(), "cpu": model, "cores": os.cpu_count(),
            "load_average": load_average()}
