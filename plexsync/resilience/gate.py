"""The tasks' side of the breaker: drain start, the drain's outage hooks, recovery checks.

- `check_before_drain`: a drain starting while the breaker is open probes Plex if a probe is
  due (one prober across processes); a good probe closes the breaker and the drain goes on
  (paced by the token bucket); otherwise the drain stops at once with one line saying since
  when Plex is down and when the next probe is due, and the wake-up timer is armed for it.
- `OutageGuard`: the drain's listener. An outage failure of a batch (the processor saw a
  request and Plex's health probe fail) counts once; while the breaker stays closed the drain
  goes on (the jobs were released without using an attempt), once it opens the drain stops.
  Successes reset the count; every job is paced by the token bucket after a recovery.
- `recovery_check`: on every other task invocation, a local file read; a probe only when one
  is due. A good probe closes the breaker and arms the timer for now, which asks Stash for
  Process Queue when a job is due (the hook's rule: not when a drain is scheduled or running).

Imports core, errors, queue model and this package; never sync/plex/stash/timer/tasks (the
wake-up timer is armed by the caller: `recovery_check`'s `on_recovery`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from plexsync.core.context import TaskContext
from plexsync.core.log import log
from plexsync.errors import ErrorClass
from plexsync.queue.model import Outcome, OutcomeKind
from plexsync.resilience import history, probe
from plexsync.resilience.breaker import CLOSED, OPEN, Breaker, counts_as_failure
from plexsync.resilience.bucket import TokenBucket

Prober = Callable[[str], probe.ProbeResult]


class BreakerLog:
    """Listener: one log line per state change."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock

    def state_change(self, old: str, new: str, state: dict[str, Any]) -> None:
        if new == OPEN and old == CLOSED:
            log.warning(f"Plex is unreachable: the circuit breaker opened after "
                        f"{state['failures']} failures in a row; queued jobs wait (no retries "
                        f"used up) and Plex is probed again at {_at(state['next_probe_at'])}.")
        elif new == CLOSED and state.get("outages"):
            last = state["outages"][-1]
            log.info(f"Plex answers again after an outage of {_duration(last['duration_s'])}; "
                     "syncing resumes, ramping from 5 to 20 jobs/s over 5 minutes.")


def breaker_for(ctx: TaskContext) -> Breaker:
    return Breaker(ctx.data_dir, warn=log.warning, listeners=[BreakerLog(ctx.clock)])


def run_probe(breaker: Breaker, ctx: TaskContext, prober: Prober | None = None) -> bool | None:
    """Probe if one is due and nobody else probes: True/False = Plex answered or not,
    None = no probe was due (or another process holds it)."""
    if not breaker.begin_probe(ctx.clock()):
        return None
    url = ctx.settings.plex_url or str(breaker.peek(ctx.clock()).get("plex_url") or "")
    result = (prober or _default_prober(ctx))(url)
    log.debug(f"Plex health probe: {'answers' if result.ok else 'down'} ({result.detail})")
    breaker.end_probe(ctx.clock(), result.ok)
    return result.ok


def _default_prober(ctx: TaskContext) -> Prober:
    verify = ctx.settings.verify_tls
    timeout = min(probe.TIMEOUT, ctx.settings.connect_timeout or probe.TIMEOUT)
    return lambda url: probe.probe(url, timeout=timeout, verify=verify)


def check_before_drain(ctx: TaskContext, breaker: Breaker, waiting: int,
                       prober: Prober | None = None) -> dict[str, Any] | None:
    """None = drain; else the task's output for a drain stopped by an open breaker."""
    now = ctx.clock()
    breaker.repair(now)
    state = breaker.peek(now)
    if state["state"] == CLOSED:
        return None
    if run_probe(breaker, ctx, prober):
        return None
    breaker.note_jobs(ctx.clock(), waiting)
    state = breaker.peek(ctx.clock())
    if state["state"] == CLOSED:   # another process's probe closed it meanwhile
        return None
    since = _at(state.get("opened_at"))
    next_at = state.get("next_probe_at")
    when = f"the next probe is due at {_at(next_at)}" if next_at else "a probe is running now"
    log.warning(f"Plex is down since {since}; {when}. Process Queue stops here; "
                f"{waiting} queued job(s) wait without using retries.")
    return {"stopped": "circuit_open", "circuit": state["state"], "down_since": since,
            "next_probe_at": _at(next_at), "waiting": waiting}


class OutageGuard:
    """The drain's outage listener (see the module docstring)."""

    def __init__(self, breaker: Breaker, clock: Callable[[], float],
                 sleep: Callable[[float], None], plex_url: str = "") -> None:
        self.breaker = breaker
        self.clock = clock
        self.plex_url = plex_url
        state = breaker.peek(clock())
        self._dirty = bool(state["failures"]) or state["state"] != CLOSED
        self.bucket = TokenBucket(state.get("recovered_at"), clock, sleep)
        self._sent = plex_requests_sent()

    def outage(self, error: BaseException, waiting: int) -> bool:
        """A batch hit an outage; True = stop the drain (the breaker is open)."""
        if not counts_as_failure(error):
            return True
        self._dirty = True
        state = self.breaker.failure(self.clock(), plex_url=self.plex_url, jobs=waiting)
        return bool(state["state"] != CLOSED)

    def trip(self, waiting: int) -> None:
        """Open the breaker now (a run of unanswered item requests: drain.NO_ANSWER_RUN)."""
        self._dirty = True
        self.breaker.trip(self.clock(), plex_url=self.plex_url, jobs=waiting)

    def outcome(self, outcome: Outcome) -> None:
        ok = outcome.kind is not OutcomeKind.FAILED
        error = outcome.error
        if ok and self._dirty:
            self.breaker.success(self.clock())
            self._dirty = False
        # the bucket slows for server trouble only, not for scenes Plex has no item for
        self.bucket.outcome(ok or not (error is not None and
                                       error.error_class is ErrorClass.PLEX_SERVER_DOWN))

    def pace(self) -> None:
        """After each job: a job that sent Plex any request spends a token; one that sent
        nothing (an unchanged scene) spends none and waits for nothing."""
        sent = plex_requests_sent()
        self.bucket.acquire(1 if sent > self._sent else 0)
        self._sent = sent


def plex_requests_sent() -> int:
    """Requests this process sent to Plex so far (plex/session.py counts them; 0 before the
    first: the module is not even loaded then, and is not imported here for it)."""
    import sys

    session = sys.modules.get("plexsync.plex.session")
    return int(session.SENT[0]) if session is not None else 0


def recovery_check(ctx: TaskContext, on_recovery: Callable[[], None],
                   prober: Prober | None = None) -> None:
    """Every task invocation: if the breaker is open and a probe is due, probe; a recovery
    calls `on_recovery` (the task arms the wake-up timer for now: it asks for Process Queue
    if a job is due; the timer sits above this layer, so the caller hands it in)."""
    try:
        breaker = breaker_for(ctx)
        breaker.repair(ctx.clock())
        if breaker.peek(ctx.clock())["state"] == CLOSED:
            return
        if run_probe(breaker, ctx, prober):
            on_recovery()
    except (OSError, TimeoutError) as exc:  # the task itself must still run
        log.debug(f"breaker recovery check skipped: {exc}")


def _at(epoch: Any) -> str:
    return history.iso(float(epoch)) or "?" if epoch is not None else "?"


def _duration(seconds: float) -> str:
    seconds = float(seconds)
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


