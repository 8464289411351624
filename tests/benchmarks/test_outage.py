"""The outage benchmark's ramp floor (benchmarks/outage.py): it is the token bucket's own pace,
and it follows the bucket's constants. No benchmark runs here (the outage itself is driven by
`python -m benchmarks --only outage`; tests/e2e/test_outage_breaker.py covers the product)."""

from __future__ import annotations

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
