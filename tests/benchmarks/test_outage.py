"""The outage benchmark (benchmarks/outage.py): its ramp floor is the token bucket's own pace
and follows the bucket's constants, and its checks refuse a broken recovery. No benchmark runs
here (`python -m benchmarks --only outage` drives the outage; tests/e2e/test_outage_breaker.py
covers the product)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from benchmarks import outage
from plexsync.resilience import bucket
from plexsync.resilience.bucket import TokenBucket


def paced_seconds(jobs: int) -> float:
    """Seconds the real TokenBucket makes a drain of `jobs` instant jobs wait from the
    recovery: one `acquire` after each job, as the drain's guard paces (a fake clock)."""
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    paced = TokenBucket(0.0, lambda: now[0], sleep)
    for _ in range(jobs):
        paced.acquire()
    return now[0]


def test_the_floor_for_1000_jobs_is_about_124_s_and_for_100_about_18_s() -> None:
    assert outage.ramp_floor(1000) == pytest.approx(123.5, abs=0.1)
    assert outage.ramp_floor(100) == pytest.approx(18.15, abs=0.05)
    assert outage.ramp_floor(1) == 0.0


@pytest.mark.parametrize("jobs", [2, 10, 100, 1000, 3000])
def test_the_floor_is_what_the_real_bucket_makes_a_drain_of_instant_jobs_wait(jobs: int) -> None:
    waited = paced_seconds(jobs)
    # a floor: never above the bucket's pace, and within a few token intervals of it
    assert outage.ramp_floor(jobs) - 1e-9 <= waited <= outage.ramp_floor(jobs) + 0.25


def test_past_the_ramp_the_rest_goes_out_unpaced() -> None:
    full_ramp = (bucket.START_RATE + bucket.FULL_RATE) / 2 * bucket.RAMP_SECONDS
    assert outage.ramp_floor(int(full_ramp) + 5000) == bucket.RAMP_SECONDS


@pytest.mark.parametrize(("start", "full", "ramp"), [(10.0, 10.0, 300.0), (10.0, 30.0, 100.0),
                                                   (2.0, 50.0, 60.0)])
def test_the_floor_follows_the_bucket_constants(monkeypatch: pytest.MonkeyPatch, start: float,
                                                full: float, ramp: float) -> None:
    for module in (bucket, outage):   # outage imported the names; the bucket reads its own
        monkeypatch.setattr(module, "START_RATE", start)
        monkeypatch.setattr(module, "FULL_RATE", full)
        monkeypatch.setattr(module, "RAMP_SECONDS", ramp)
    floor = outage.ramp_floor(101)
    if start == full:
        assert floor == pytest.approx(100 / start)
    assert floor - 1e-9 <= paced_seconds(101) <= floor + 0.25


def _run(requested_at: float) -> dict[str, object]:
    return {"mode": "process_queue", "requested_at": requested_at, "returncode": 0,
            "answer": {"output": {}}, "stderr_tail": ""}


def _good() -> tuple[dict[str, Any], dict[str, Any]]:
    report = {"wrong": [], "edits_since": [101.0 + i for i in range(3)],
              "runs": [_run(50.0), _run(105.0)]}
    return report, {"state": "closed", "outages": [{"start": 40.0, "end": 104.0}]}


def test_a_complete_recovery_passes_the_checks() -> None:
    outage._check(*_good(), scenes=3, t0=100.0)


@pytest.mark.parametrize(("spoil", "named"), [
    (lambda r, b: r.update(wrong=["scene 7: Plex has 'old'"]), "lack their value"),
    (lambda r, b: r.update(edits_since=[101.0]), "1 Plex edits after T0 for 3 scenes"),
    (lambda r, b: b.update(state="open"), "breaker open"),
    (lambda r, b: b.update(outages=[]), "0 outage(s)"),
    (lambda r, b: r["runs"].append(_run(120.0)), "Stash ran"),
    (lambda r, b: r["runs"][1].update(requested_at=99.0), "the recovery's Process Queue"),
    (lambda r, b: r["runs"][1].update(returncode=1), "the recovery's Process Queue"),
])
def test_a_broken_recovery_fails_loudly_instead_of_reporting_a_number(
        spoil: Callable[[dict[str, Any], dict[str, Any]], None], named: str) -> None:
    report, breaker = _good()
    spoil(report, breaker)
    with pytest.raises(RuntimeError, match=re.escape(named)):
        outage._check(report, breaker, scenes=3, t0=100.0)
