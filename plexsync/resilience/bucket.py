"""The post-recovery token bucket (docs/outages.md, "After a recovery").

After Plex comes back, a backlog must not hit it at full speed at once: the rate of jobs that
send Plex requests ramps linearly from `START_RATE` (5 jobs/s) to `FULL_RATE` (20 jobs/s) over
`RAMP_SECONDS` (5 min) from the recovery, and after the ramp the bucket does not limit at all
(steady state). Only the Plex requests spend tokens: a job that sent Plex nothing (an unchanged
scene, a skipped one) costs none and waits for nothing (`acquire(0)`). When the error rate of
the recent jobs climbs above `ERROR_RATE_LIMIT`, the ramp restarts from its slow end (the
recovery time is moved to now).

Pacing is sub-second waiting inside a drain that has work to do now (1/rate s per job, at most
0.2 s), never a wait for work due later. Clock and sleep are injected; tests never sleep.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

START_RATE = 5.0
FULL_RATE = 20.0
RAMP_SECONDS = 300.0
WINDOW = 20                 # recent outcomes the error rate is measured over
ERROR_RATE_LIMIT = 0.25
MIN_SAMPLES = 8


class TokenBucket:
    def __init__(self, recovered_at: float | None, clock: Callable[[], float],
                 sleep: Callable[[float], None]) -> None:
        self.recovered_at = recovered_at
        self.clock = clock
        self.sleep = sleep
        self.tokens = 1.0
        self._last = clock()
        self._recent: deque[bool] = deque(maxlen=WINDOW)

    def rate(self, now: float) -> float | None:
        """Jobs per second allowed now; None = no limit (no recovery, or the ramp is over)."""
        if self.recovered_at is None:
            return None
        elapsed = now - self.recovered_at
        if elapsed >= RAMP_SECONDS:
            return None
        elapsed = max(0.0, elapsed)
        return START_RATE + (FULL_RATE - START_RATE) * elapsed / RAMP_SECONDS

    def acquire(self, requests: int = 1) -> float:
        """Spend `requests` tokens, sleeping until they are there; 0 (a job that sent Plex
        nothing) costs nothing. Returns the seconds slept."""
        now = self.clock()
        rate = self.rate(now)
        if rate is None or requests <= 0:
            self._last = now
            return 0.0
        self.tokens = min(1.0, self.tokens + (now - self._last) * rate)
        self._last = now
        if self.tokens >= requests:
            self.tokens -= requests
            return 0.0
        wait = (requests - self.tokens) / rate
        self.sleep(wait)
        self._last = self.clock()
        self.tokens = 0.0
        return wait

    def outcome(self, ok: bool) -> None:
        """Record one job's result; too many errors restart the ramp from 5 jobs/s."""
        self._recent.append(ok)
        if len(self._recent) < MIN_SAMPLES:
            return
        errors = self._recent.count(False) / len(self._recent)
        if errors > ERROR_RATE_LIMIT:
            self.recovered_at = self.clock()
            self._recent.clear()
