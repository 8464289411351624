"""Automatic reconciliation: is a run due, and when is the next one (docs/design.md).

Rules (`due`):
- `reconcile_interval` never → never automatic (neither on the interval nor at start-up);
- otherwise a run is due when there is no complete run yet, or the last one started at least
  one interval (hourly, daily, weekly) ago;
- and at start-up: the first invocation under a new Stash process runs one when the last run
  started more than `STARTUP_AGE` (one hour) ago.
"Start-up" is read from the parent process id: Stash starts plexsync.py itself, so a new
parent id means Stash was (re)started since PlexSync last looked (one meta row). A task run
from the command line (cron, a shell) has no Stash parent and is never a start-up.

Cost when not due: one indexed read of the newest history row and the meta table, made by
tasks only (the hook never checks: every hook that queues a scene brings a Process Queue task,
which checks). The scope of an automatic run is `reconcile_scope`.
"""

from __future__ import annotations

from dataclasses import dataclass

from plexsync.core.settings import Settings

INTERVALS: dict[str, float] = {"hourly": 3600.0, "daily": 86400.0, "weekly": 7 * 86400.0}
STARTUP_AGE = 3600.0
PARENT_KEY = "reconcile_parent_pid"


@dataclass(frozen=True, slots=True)
class Due:
    now: bool                 # a run is due now
    reason: str = ""          # "interval" | "startup" | "first run"
    next_at: float | None = None   # when the next one falls due (None: never)


def due(settings: Settings, last_run_at: float | None, now: float, started_up: bool) -> Due:
    interval = INTERVALS.get(settings.reconcile_interval)
    if interval is None:
        return Due(False)
    if last_run_at is None:
        return Due(True, "first run")
    if now - last_run_at >= interval:
        return Due(True, "interval")
    if started_up and now - last_run_at > STARTUP_AGE:
        return Due(True, "startup")
    return Due(False, next_at=last_run_at + interval)


def started_up(meta: dict[str, str], parent_pid: int) -> bool:
    """Whether `parent_pid` differs from the parent PlexSync last noted (see the module)."""
    return meta.get(PARENT_KEY) != str(parent_pid)
