"""Outage resilience (docs/outages.md): the circuit breaker, its state file and outage history,
the `/identity` health probe, and the post-recovery token bucket.

- `state`: the breaker file `breaker.json` (standard library + core.fastjson only: the timer
  process reads and changes it too).
- `probe`: one raw-socket `GET /identity` (standard library only, for the same reason).
- `breaker`: the breaker's transitions (closed, open, half-open) in one table, and its listeners.
- `history`: outage records and MTTR / MTBF / availability (pure functions).
- `bucket`: the post-recovery token bucket (pure, clock injected).
- `gate`: the tasks' side: the breaker at a drain's start, in the drain (`OutageGuard`), and
  the recovery check on every invocation (its caller arms the wake-up timer).

May import: core, errors and queue only. Nothing here imports plexapi or requests; the hook
reads `state`, the timer `state`, `breaker` and `probe`.
"""
