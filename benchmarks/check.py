"""`python -m benchmarks.check results.json`: CI's check that the benchmarks still report.

It checks that the JSON names the machine, the Python version and the commit, and that every
figure declared by a suite (benchmarks/suites.py) is present with a median, min and max, or is
a gap whose feature really is absent from this tree (`suites.FEATURES`) or that is declared,
with its reason, in `suites.KNOWN_GAPS`. It never checks how
fast anything was: CI machines vary, and a timed check would fail for the wrong reasons.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Callable, Mapping
from typing import Any

from benchmarks.suites import FEATURES, KNOWN_GAPS, all_figures


def feature_present(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def problems(report: Mapping[str, Any],
             present: Callable[[str], bool] = feature_present) -> list[str]:
    """Every way `report` falls short; empty when it is complete."""
    found = [f"results.json has no {key!r}" for key in ("commit", "python", "machine")
             if not report.get(key)]
    figures = report.get("figures") or {}
    for key, (suite, _fig) in all_figures().items():
        result = figures.get(key)
        if result is None:
            found.append(f"{key}: missing")
        elif "gap" in result:
            feature = FEATURES.get(suite)
            if suite not in KNOWN_GAPS and (feature is None or present(feature)):
                found.append(f"{key}: a gap, but nothing is missing from the tree "
                             f"({result['gap']})")
        elif "failed" in result:
            found.append(f"{key}: {result['failed']}")
        elif not all(isinstance(result.get(s), int | float) for s in ("median", "min", "max")):
            found.append(f"{key}: no median/min/max")
    return found


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        sys.stderr.write("usage: python -m benchmarks.check results.json\n")
        return 2
    with open(argv[0], encoding="utf-8") as fh:
        report = json.load(fh)
    found = problems(report)
    for line in found:
        print(f"benchmarks: {line}")
    if not found:
        print(f"benchmarks: all {len(all_figures())} figures reported")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
