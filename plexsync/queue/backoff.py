"""Full-jitter exponential backoff per error class (docs/design.md#job-lifecycle).

The delay before retry `n` is drawn from `[floor, min(cap, base * 2**(n-1))]`, at least
`MIN_DELAY`: full jitter, so jobs failing together in an outage come back spread out. The
policy is chosen per failure from the live error (`outage`), so only the class and the attempt
count are stored. Why each policy (`POLICIES`) is what it is:
- PlexServerDown in an outage: retried without limit (the breaker bounds the load), so an
  outage alone never dead-letters a job. One item's request failing while Plex answers
  (`outage=False`) gets `max_retries` retries at least 30 s apart (~17 min at the default 5,
  time for a busy Plex to finish scanning), then the DLQ.
- PlexNotFound: 12 retries over about 2 hours, the first 30-60 s later: late enough for Plex to
  have scanned the folder PlexSync asked for and for the index to be allowed a rebuild
  (`index.AFTER_SCAN_INTERVAL`), soon enough to land within a minute (docs/design.md#matching).
- LowConfidence, Conflict, PlexBadRequest, PlexAuth, Internal: retrying cannot help.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from typing import NamedTuple

from plexsync.errors import ErrorClass

MIN_DELAY = 1.0
_MAX_EXPONENT = 30  # 2**30 * base is far beyond any cap; avoids float overflow for endless retries


class Policy(NamedTuple):
    base: float
    cap: float
    retries: int | None       # None: without limit; 0: never retried
    configurable: bool = False  # `retries` comes from the max_retries setting
    floor: float = 0.0          # the jitter is drawn from [floor, ceiling] instead of [0, ceiling]


NEVER = Policy(0.0, 0.0, 0)
DEFAULT_RETRYABLE = Policy(10.0, 600.0, 5, configurable=True)
LONE_FAILURE = Policy(60.0, 1800.0, 5, configurable=True, floor=30.0)

POLICIES: Mapping[ErrorClass, Policy] = {
    ErrorClass.PLEX_SERVER_DOWN: Policy(5.0, 300.0, None),
    ErrorClass.PLEX_NOT_FOUND: Policy(60.0, 1800.0, 12, floor=30.0),
    ErrorClass.STASH_ERROR: DEFAULT_RETRYABLE,
    ErrorClass.LOW_CONFIDENCE: NEVER,
    ErrorClass.CONFLICT: NEVER,
    ErrorClass.PLEX_BAD_REQUEST: NEVER,
    ErrorClass.PLEX_AUTH: NEVER,
    ErrorClass.INTERNAL: NEVER,
}


class Backoff:
    """Decides, per failure, between "retry in N seconds" and "dead-letter now"."""

    def __init__(
        self,
        max_retries: int = 5,
        rng: Callable[[], float] = random.random,
        policies: Mapping[ErrorClass, Policy] = POLICIES,
    ) -> None:
        self.max_retries = max_retries
        self._rng = rng
        self._policies = policies

    def policy(self, error_class: ErrorClass | str, *, outage: bool = True) -> Policy:
        """The class's policy; retrying without limit is for outages only (`outage`)."""
        try:
            policy = self._policies[ErrorClass(error_class)]
        except (KeyError, ValueError):  # an unknown class is treated as ordinary transient trouble
            return DEFAULT_RETRYABLE
        if policy.retries is None and not outage:
            return LONE_FAILURE
        return policy

    def limit(self, error_class: ErrorClass | str, *, outage: bool = True) -> int | None:
        """How many retries the class gets (None = without limit)."""
        policy = self.policy(error_class, outage=outage)
        return self.max_retries if policy.configurable else policy.retries

    def ceiling(self, error_class: ErrorClass | str, failures: int, *,
                outage: bool = True) -> float:
        """The upper bound of the jittered delay after `failures` failures."""
        policy = self.policy(error_class, outage=outage)
        exponent = min(max(failures, 1) - 1, _MAX_EXPONENT)
        return float(min(policy.cap, policy.base * 2**exponent))

    def retry_delay(self, error_class: ErrorClass | str, failures: int, *,
                    outage: bool = True) -> float | None:
        """Seconds until the next try after the `failures`-th failure, or None to dead-letter."""
        limit = self.limit(error_class, outage=outage)
        if limit is not None and failures > limit:
            return None
        ceiling = self.ceiling(error_class, failures, outage=outage)
        floor = min(self.policy(error_class, outage=outage).floor, ceiling)
        return max(MIN_DELAY, floor + self._rng() * (ceiling - floor))
