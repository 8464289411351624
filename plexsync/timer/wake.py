"""Arming the wake-up timer from a task (plexsync/timer/), with a credential that lasts.

The timer may sleep for hours (a retry's backoff, the next automatic reconciliation, a long Plex
outage) and then asks Stash for Process Queue with the credentials the arming task handed it.
The plugin's session cookie is only valid for Stash's `max_session_age` (an hour by default),
so where Stash has a login, a timer armed for later would be refused and the work would wait
for the next edit. Stash's API key does not expire: when Stash has one and the task was not
given one already, the timer gets it too, in its owner-only credentials file
(docs/wake-timer.md). Without one the timer keeps the cookie, as before.

Every task also makes sure work due later has a live timer (`ensure_timer`): a timer killed
(SIGKILL, a reboot) or never armed is re-armed by the next task, and Health Check reports when
arming fails and why.

Failure: asking Stash for its key is best effort (one query per task process, remembered by
the Stash client); a failure leaves the timer with the cookie.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from plexsync.core.context import TaskContext
from plexsync.core.log import log
from plexsync.errors import PlexSyncError


def stash_login(ctx: TaskContext) -> tuple[str, bool]:
    """(Stash's API key or "", whether Stash has a login); ("", False) when Stash cannot say."""
    if ctx.stash is None:
        return "", False
    try:
        login: tuple[str, bool] = ctx.stash.api_key()
    except PlexSyncError as exc:
        log.debug(f"Stash's API key could not be read ({exc}); the wake-up timer keeps the "
                  "session cookie")
        return "", False
    return login


def timer_connection(ctx: TaskContext) -> Mapping[str, Any]:
    """`ctx.server_connection`, with Stash's API key added when Stash has one."""
    conn = ctx.server_connection
    if conn.get("ApiKey"):
        return conn
    key, _login = stash_login(ctx)
    return {**conn, "ApiKey": key} if key else conn


def arm_timer(ctx: TaskContext, at: float) -> None:
    """Have the wake-up timer ask Stash for Process Queue at `at`; best effort
    (`timer.arm.arm_quietly`: a task never fails because its timer could not be armed)."""
    from plexsync.timer.arm import arm_quietly

    enabled = ctx.settings.wake_timer
    conn = timer_connection(ctx) if enabled else ctx.server_connection
    arm_quietly(ctx.data_dir, at, conn, enabled=enabled)


# A re-armed timer wakes at least this much later (a due job then drains at its wake-up).
REARM_GAP = 2.0


def work_due(data_dir: str) -> float | None:
    """The earliest time work is due (a job, the next automatic reconciliation or import), or
    None: what the timer itself wakes for (`timer.process.earliest`)."""
    from plexsync.queue.job_queue import JobQueue
    from plexsync.timer.process import earliest
    from plexsync.timer.state import IMPORT_DUE_KEY, RECONCILE_DUE_KEY

    queue = JobQueue.open(data_dir)
    try:
        meta = queue.read_meta()
        return earliest(earliest(queue.next_due_at(), meta.get(RECONCILE_DUE_KEY)),
                        meta.get(IMPORT_DUE_KEY))
    finally:
        queue.close()


def ensure_timer(ctx: TaskContext) -> str:
    """Work due later with no live timer: arm one. Returns "" (a timer is alive, or none is needed)
    or why arming failed (one short phrase, for Health Check and the log)."""
    from plexsync.timer.arm import arm
    from plexsync.timer.state import timer_status

    if not ctx.settings.wake_timer:
        return ""
    now = time.time()
    try:
        if timer_status(ctx.data_dir, now) is not None:
            return ""
        due = work_due(ctx.data_dir)
        if due is None or due <= now:   # due now: a drain's business (a hook or this task)
            return ""
        arm(ctx.data_dir, max(due, now + REARM_GAP), timer_connection(ctx))
    except (OSError, TimeoutError, PlexSyncError) as exc:
        reason = f"{type(exc).__name__}: {exc}"[:200]
        log.debug(f"could not arm the wake-up timer ({reason})")
        return reason
    return ""
