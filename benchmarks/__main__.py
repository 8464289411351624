"""`python -m benchmarks [--quick] [--runs N] [--only hook,sync] [--out results.json]`

Runs every benchmark (benchmarks/suites.py), prints one table (median, min and max over the
runs, each figure beside its limit: what the same machine allows, measured in the same run
where it can be), and writes results.json with the machine, the Python version and the commit.
`--quick` (CI): small sizes, one run; it proves the benchmarks run and report every figure, its
numbers are not the product's. Exit status 1 when a benchmark failed (a gap is not a failure).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import time
import traceback
from typing import Any

from benchmarks.common import (
    ROOT,
    Figure,
    Unavailable,
    limit_key,
    load_average,
    machine,
    on_path,
    summary,
)
from benchmarks.suites import SUITES, figures, module


def commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                              check=False).stdout.strip()

    head = git("rev-parse", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--untracked-files=no", "--", "plexsync", "plexsync.py",
                "benchmarks")
    return head + ("+dirty" if dirty else "")


def run_suite(name: str, quick: bool, runs: int) -> tuple[list[dict[str, float]], str | None]:
    """The suite's per-run values, or a gap/failure reason."""
    samples: list[dict[str, float]] = []
    for n in range(runs):
        started = time.perf_counter()
        print(f"  {name}: run {n + 1}/{runs} ...", end="", flush=True, file=sys.stderr)
        try:
            samples.append(module(name).measure(quick))
        except Unavailable as exc:
            print(f" gap: {exc}", file=sys.stderr)
            return [], f"gap: {exc}"
        except Exception as exc:
            traceback.print_exc()
            return samples, f"failed: {type(exc).__name__}: {exc}"
        print(f" {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return samples, None


def figure_result(fig: Figure, samples: list[dict[str, float]],
                  problem: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {"label": fig.label, "unit": fig.unit, "bound": fig.bound,
                           "target": fig.target}
    values = [s[fig.key] for s in samples if fig.key in s]
    if problem is not None or not values:
        out["gap" if problem is None or problem.startswith("gap") else "failed"] = (
            problem or "no value measured")
        return out
    out.update(summary(values), runs=len(values))
    limits = [s[limit_key(fig.key)] for s in samples if limit_key(fig.key) in s]
    if fig.limit is not None:
        out.update(limit=fig.limit, limit_kind="stated")
    elif limits:
        out.update(limit=statistics.median(limits), limit_kind="measured")
    return out


def fmt(value: float | None) -> str:
    if value is None:
        return "—"
    if float(value).is_integer() or abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}" if abs(value) < 1 else f"{value:.2f}"


def table(results: dict[str, dict[str, Any]]) -> str:
    head = f"{'figure':<50}{'unit':>10}{'median':>10}{'min':>10}{'max':>10}{'limit':>10}  target"
    lines = [head, "-" * len(head)]
    for res in results.values():
        if "median" not in res:
            reason = res.get("gap") or res.get("failed")
            lines.append(f"{res['label']:<50}{res['unit']:>10}  {reason}")
            continue
        lines.append(f"{res['label']:<50}{res['unit']:>10}{fmt(res['median']):>10}"
                     f"{fmt(res['min']):>10}{fmt(res['max']):>10}{fmt(res.get('limit')):>10}"
                     f"  {res['target']}")
    return "\n".join(lines)


def markdown(results: dict[str, dict[str, Any]]) -> str:
    """The same table in Markdown (docs/performance.md quotes it)."""
    lines = ["| figure | unit | median | min | max | limit | bounded by | target |",
             "|---|---|--:|--:|--:|--:|---|---|"]
    for res in results.values():
        label = res["label"].replace("|", "\\|")
        if "median" not in res:
            reason = str(res.get("gap") or res.get("failed")).replace("|", "\\|")
            lines.append(f"| {label} | {res['unit']} | {reason} | | | | {res['bound']} | |")
            continue
        lines.append(f"| {label} | {res['unit']} | {fmt(res['median'])} | {fmt(res['min'])} | "
                     f"{fmt(res['max'])} | {fmt(res.get('limit'))} | {res['bound']} | "
                     f"{res['target']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks",
                                     description=(__doc__ or "").splitlines()[2])
    parser.add_argument("--quick", action="store_true", help="small sizes, one run (CI)")
    parser.add_argument("--runs", type=int, help="runs per suite (default: 3, reconcile 1)")
    parser.add_argument("--only", help=f"comma-separated suites of: {', '.join(SUITES)}")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results.json"))
    parser.add_argument("--markdown", action="store_true", help="also print a Markdown table")
    opts = parser.parse_args(argv)
    on_path()
    names = opts.only.split(",") if opts.only else list(SUITES)
    unknown = [n for n in names if n not in SUITES]
    if unknown:
        parser.error(f"--only: unknown suite(s) {', '.join(unknown)}; choose from "
                     f"{', '.join(SUITES)}")
    started = time.time()
    load_before = load_average()
    results: dict[str, dict[str, Any]] = {}
    failed = False
    for name in names:
        runs = 1 if opts.quick else (opts.runs or SUITES[name][1])
        samples, problem = run_suite(name, opts.quick, runs)
        failed |= problem is not None and problem.startswith("failed")
        for fig in figures(name):
            results[fig.key] = figure_result(fig, samples, problem)
    report = {
        "command": "python -m benchmarks" + (" --quick" if opts.quick else ""),
        "date": datetime.datetime.fromtimestamp(started, datetime.UTC).isoformat(
            timespec="seconds"),
        "seconds": round(time.time() - started, 1),
        "commit": commit(),
        "python": sys.version.split()[0],
        "implementation": sys.implementation.name,
        "machine": {**machine(), "load_average_before": load_before},
        "quick": opts.quick,
        "figures": results,
    }
    os.makedirs(os.path.dirname(os.path.abspath(opts.out)), exist_ok=True)
    with open(opts.out, "w", encoding="utf-8") as fh:
        json.dump(report, fh, indent=2, ensure_ascii=False)
        fh.write("\n")
    mach = machine()
    print(f"{report['command']} · {report['date']} · commit {report['commit'][:12]} · Python "
          f"{report['python']} · {mach['cores']} cores ({mach['cpu']}) · load "
          f"{load_before[0]:.1f} before, {mach['load_average'][0]:.1f} after")
    print(table(results))
    if opts.markdown:
        print()
        print(markdown(results))
    print(f"written to {opts.out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
