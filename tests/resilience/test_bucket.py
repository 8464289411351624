"""The post-recovery token bucket, on a fake clock (nothing sleeps)."""

from __future__ import annotations

from plexsync.resilience.bucket import FULL_RATE, RAMP_SECONDS, START_RATE, TokenBucket


class Clock:
    def __init__(self, now: float = 0.0) -> None:
        self.now = now
        self.slept = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.slept += seconds


def jobs_in(bucket: TokenBucket, clock: Clock, seconds: float) -> int:
    end, done = clock.now + seconds, 0
    while clock.now < end:
        bucket.acquire()
        done += 1
    return done


def test_rate_ramps_from_5_to_20_jobs_per_second_over_5_minutes() -> None:
    clock = Clock(1000.0)
    bucket = TokenBucket(1000.0, clock, clock.sleep)
    assert bucket.rate(1000.0) == START_RATE
    assert bucket.rate(1000.0 + RAMP_SECONDS / 2) == (START_RATE + FULL_RATE) / 2
    # the first 10 s average 5.25 jobs/s (5 → 5.5), plus the one token the bucket starts with
    assert 52 <= jobs_in(bucket, clock, 10.0) <= 55
    clock.now = 1000.0 + RAMP_SECONDS - 10
    assert 193 <= jobs_in(bucket, clock, 10.0) <= 201   # 19.5 → 20 jobs/s


def test_no_limit_at_steady_state_or_without_a_recovery() -> None:
    clock = Clock(10_000.0)
    for recovered in (None, 10_000.0 - RAMP_SECONDS):
        bucket = TokenBucket(recovered, clock, clock.sleep)
        for _ in range(1000):
            bucket.acquire()
        assert clock.slept == 0.0


def test_a_climbing_error_rate_slows_the_drain_again() -> None:
    clock = Clock(1000.0)
    bucket = TokenBucket(1000.0 - 290, clock, clock.sleep)   # near the end of the ramp
    assert (bucket.rate(clock.now) or 0) > 19
    for ok in [True] * 4 + [False] * 6:
        bucket.outcome(ok)
    assert bucket.rate(clock.now) == START_RATE
    steady = TokenBucket(None, clock, clock.sleep)
    for _ in range(10):
        steady.outcome(False)
    assert steady.rate(clock.now) == START_RATE
