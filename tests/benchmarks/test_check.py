"""The CI check of results.json (benchmarks/check.py): complete reports pass, gaps only for an
absent feature. No benchmark runs here; CI runs `python -m benchmarks --quick` itself."""

from __future__ import annotations

from typing import Any

import pytest

from benchmarks.check import problems
from benchmarks.suites import FEATURES, KNOWN_GAPS, all_figures


def _report(**overrides: dict[str, Any]) -> dict[str, Any]:
    figures: dict[str, dict[str, Any]] = {
        key: {"median": 1.0, "min": 0.5, "max": 2.0} for key in all_figures()}
    figures.update(overrides)
    return {"commit": "abc", "python": "3.11.7", "machine": {"cores": 2}, "figures": figures}


def _absent(module: str) -> bool:
    return False


def _present(module: str) -> bool:
    return True


def test_a_report_with_every_figure_passes() -> None:
    assert problems(_report(), _present) == []


def test_a_missing_figure_is_named() -> None:
    report = _report()
    del report["figures"]["hook.cached.queued.p50_ratio"]
    assert problems(report, _present) == ["hook.cached.queued.p50_ratio: missing"]


def test_a_failed_suite_fails_the_check() -> None:
    report = _report(**{"sync.changed.scenes_per_s": {"failed": "failed: boom"}})
    assert problems(report, _present) == ["sync.changed.scenes_per_s: failed: boom"]


def test_a_gap_passes_only_while_its_feature_is_absent_from_the_tree() -> None:
    suite_of = {key: suite for key, (suite, _) in all_figures().items()}
    key = next(k for k, suite in suite_of.items()
               if suite in FEATURES and suite not in KNOWN_GAPS)
    report = _report(**{key: {"gap": "gap: not landed"}})
    assert problems(report, _absent) == []
    assert problems(report, _present) == [
        f"{key}: a gap, but nothing is missing from the tree (gap: not landed)"]


def test_a_gap_in_a_suite_with_no_optional_feature_fails() -> None:
    report = _report(**{"hook.bare.p50_ms": {"gap": "gap: ?"}})
    assert problems(report, _absent) != []


def test_a_report_without_the_commit_fails() -> None:
    report = _report()
    del report["commit"]
    assert problems(report, _present) == ["results.json has no 'commit'"]


def test_a_declared_known_gap_passes_even_with_its_feature_in_the_tree(
        monkeypatch: pytest.MonkeyPatch) -> None:
    report = _report(**{"outage.recovery_s": {"gap": "gap: declared"}})
    assert problems(report, _present) != []
    monkeypatch.setitem(KNOWN_GAPS, "outage", "not measured yet")
    assert problems(report, _present) == []
