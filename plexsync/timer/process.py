"""The wake-up timer process: `python plexsync.py wake-timer <data_dir>` (spawned by `arm`).

Life of one timer:
1. Take `wake-timer.lock` (waiting up to `RUN_LOCK_WAIT` s for a timer that is just exiting);
   if it stays held, another timer runs: exit. Then, under the state lock, check the state file
   names this pid (else exit: a newer arm replaced it) and mark it `ready`.
2. Loop: exit when `wake_timer` is off (the settings snapshot) or the state file no longer names
   this pid. Sleep until `armed_until`, at most `MAX_SLEEP` (15 min) at a stretch, woken early
   by SIGUSR1 when an arm moves the time earlier (POSIX; Windows re-reads every `WINDOWS_POLL`).
3. When due, first the outage breaker (plexsync/resilience/): while it is open, probe Plex's
   `GET /identity` when a probe is due (one prober across processes) and ask for nothing
   until Plex answers: a bad probe re-arms for the next probe (5 s → 10 s → … → 60 s), a good
   one closes the breaker and goes on. Then open the queue, read the earliest due time and
   the drain markers, close it (no connection is held while asleep), and:
   - no job left and no automatic reconciliation or play-state import due
     (`state.RECONCILE_DUE_KEY`, `state.IMPORT_DUE_KEY`): exit;
   - the earliest job is due later: re-arm itself for then and sleep again;
   - a drain is running or already requested: check again in `ACTIVE_RECHECK` s (that drain
     re-arms the timer when it ends; the re-check covers a drain that was killed);
   - otherwise claim the request (`markers.schedule_if_idle`, the hook's rule) and ask Stash
     for Process Queue with `runPluginTask`; then exit. If Stash does not answer (restarting,
     or refusing an expired credential), withdraw the marker and try again after
     `STASH_RETRY_BASE` (5 s), doubling up to `STASH_RETRY_CAP` (60 s): the timer never exits
     while work is due and Stash has not taken the drain.
4. On exit, clear the state file if it still names this pid, and release the lock.

It never writes to Plex, and talks to it only for the breaker's probe; it imports nothing
heavy (standard library, the SQLite store, the markers, the raw-socket POST, the breaker's
file and probe modules). Its stdout/stderr are `wake-timer.log`: one line per decision.
"""

from __future__ import annotations

import os
import sys
import time

from plexsync.core import lockfile
from plexsync.queue import markers
from plexsync.stash import post as stash_post
from plexsync.timer import state

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any

MAX_SLEEP = 15 * 60.0
ACTIVE_RECHECK = 60.0
WINDOWS_POLL = 30.0
RUN_LOCK_WAIT = 10.0
DUE_SLACK = 0.5        # a job due within this is due now (clock granularity, not a wait)
MIN_REARM = 1.0        # a re-arm is at least this far ahead: the timer never spins
# Stash unreachable or refusing the credentials while work is due: try again after 5 s, 10 s,
# 20 s, 40 s, then every 60 s (tests shorten the schedule)
STASH_RETRY_BASE = float(os.environ.get("PLEXSYNC_STASH_RETRY_BASE", "5"))
STASH_RETRY_CAP = float(os.environ.get("PLEXSYNC_STASH_RETRY_CAP", "60"))
OFF = "wake_timer is off"
DISARMED = "disarmed"


def _say(message: str) -> None:
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    sys.stderr.write(f"{stamp} wake-timer[{os.getpid()}] {message}\n")
    sys.stderr.flush()


class Waiter:
    """Sleeps up to N seconds; SIGUSR1 (an earlier arm) ends the sleep at once (POSIX)."""

    def __init__(self) -> None:
        self._read: int | None = None
        if os.name == "nt":
            return
        import signal

        read, write = os.pipe()
        os.set_blocking(write, False)
        os.set_blocking(read, False)
        signal.set_wakeup_fd(write)
        signal.signal(signal.SIGUSR1, lambda *_: None)
        self._read = read

    def __call__(self, seconds: float) -> None:
        if self._read is None:
            time.sleep(min(seconds, WINDOWS_POLL))
            return
        import select

        ready, _, _ = select.select([self._read], [], [], max(0.0, seconds))
        if ready:
            try:
                while os.read(self._read, 512):
                    pass
            except BlockingIOError:
                pass


def _open_store(data_dir: str) -> Any:
    from plexsync.queue.job_queue import JobQueue

    return JobQueue.open(data_dir)


class WakeTimer:
    """One timer's loop; clock, sleep, Stash request and store are injectable for tests."""

    def __init__(
        self,
        data_dir: str,
        *,
        pid: int | None = None,
        clock: Callable[[], float] = time.time,
        wait: Callable[[float], None] | None = None,
        request: Callable[[Mapping[str, Any]], None] = stash_post.request_drain,
        open_store: Callable[[str], Any] = _open_store,
        probe: Callable[[str], Any] | None = None,
    ) -> None:
        self.probe = probe
        self._stash_delay = 0.0
        self.data_dir = data_dir
        self.pid = pid if pid is not None else os.getpid()
        self.clock = clock
        self._wait = wait
        self.request = request
        self.open_store = open_store

    def run(self) -> str:
        """Run until done; returns why it exited (also logged)."""
        run_lock = lockfile.lock(state.path(self.data_dir, state.RUN_LOCK), RUN_LOCK_WAIT)
        if run_lock is None:
            return self._exit("another wake-up timer is running")
        try:
            with state.StateLock(self.data_dir):
                current = state.read_state(self.data_dir)
                if current.get("pid") != self.pid:
                    return self._exit("not the armed timer (a newer one replaced it)")
                wait = self._wait or Waiter()   # the signal handler first, then `ready`
                state.write_state(self.data_dir, {**current, "ready": True})
            while True:
                reason = self._loop(wait)
                if reason in (OFF, DISARMED) or self._disarm():
                    return self._exit(reason)
        except BaseException:
            self._disarm()
            raise
        finally:
            lockfile.unlock(run_lock)

    def _loop(self, wait: Callable[[float], None]) -> str:
        while True:
            if not state.enabled(self.data_dir):
                return OFF
            current = state.read_state(self.data_dir)
            if current.get("pid") != self.pid or current.get("armed_until") is None:
                return DISARMED
            armed = float(current["armed_until"])
            now = self.clock()
            if now < armed - DUE_SLACK:
                wait(min(armed - now, MAX_SLEEP))
                continue
            verdict = self._check(now)
            if verdict is None:
                continue
            return verdict

    def _check(self, now: float) -> str | None:
        """Due: decide from the queue. None = keep sleeping (re-armed), else the exit reason."""
        if not self._plex_answers(now):
            return None
        token = markers.stamp(now)
        store = self.open_store(self.data_dir)
        try:
            meta = store.read_meta()
            due = earliest(earliest(store.next_due_at(), meta.get(state.RECONCILE_DUE_KEY)),
                           meta.get(state.IMPORT_DUE_KEY))
            if due is None:
                return "the queue is empty"
            if due > now + DUE_SLACK:
                self._rearm(due, now)
                return None
            meta = store.update_meta(markers.schedule_if_idle(now, token))
            if meta.get(markers.SCHEDULED_AT) != token:
                self._rearm(now + ACTIVE_RECHECK, now)
                _say(f"a drain is {markers.drain_state(meta, now)}; checking again in "
                     f"{ACTIVE_RECHECK:.0f} s")
                return None
            try:
                self.request(state.read_credentials(self.data_dir))
            except (OSError, ValueError) as exc:
                # Stash restarting, or refusing an expired cookie: work is due, so try again
                # on a backoff (a task run meanwhile hands over fresh credentials)
                store.update_meta(markers.withdraw(token))
                self._stash_delay = stash_retry_delay(self._stash_delay)
                self._rearm(now + self._stash_delay, now)
                if isinstance(exc, stash_post.CredentialsRefused):
                    _say(f"Stash refused the stored credentials ({exc}); trying again in "
                         f"{self._stash_delay:g} s. Any PlexSync task run from Stash hands the "
                         "timer a fresh session; if Stash has a login, generate an API key in "
                         "Settings → Security so the timer's credential does not expire.")
                else:
                    _say(f"Stash did not answer ({type(exc).__name__}: {str(exc)[:120]}); "
                         f"trying again in {self._stash_delay:g} s")
                return None
            return "asked Stash to run Process Queue"
        finally:
            store.close()

    def _plex_answers(self, now: float) -> bool:
        """The breaker's part: False = it stays open (re-armed for the next probe)."""
        from plexsync.resilience import state as breaker_file
        from plexsync.resilience.state import Circuit

        current = breaker_file.read(self.data_dir, now)[0]
        if current["state"] == Circuit.CLOSED:
            return True
        from plexsync.resilience.breaker import Breaker

        breaker = Breaker(self.data_dir, warn=_say)
        if breaker.begin_probe(now):
            # the current settings' address (the user may have corrected it since the outage)
            url = state.plex_url(self.data_dir) or str(current.get("plex_url") or "")
            if self.probe is None:
                from plexsync.resilience.probe import probe as stdlib_probe

                # verify_tls as the last task saw it: a self-signed https Plex must not
                # fail every probe here (the breaker would never close from the timer)
                verify = state.verify_tls(self.data_dir)
                result = stdlib_probe(url, verify=verify)
            else:
                result = self.probe(url)
            current = breaker.end_probe(self.clock(), bool(result.ok))
            _say(f"Plex probe: {'answers' if result.ok else 'down'} ({result.detail})")
            if current["state"] == Circuit.CLOSED:
                return True
        else:
            current = breaker.peek(now)
            if current["state"] == Circuit.CLOSED:
                return True
        at = current.get("next_probe_at")
        if current["state"] != Circuit.OPEN or not at:   # another live process probes right now
            at = now + breaker_file.PROBE_BASE
        self._rearm(float(at), now)
        _say(f"Plex is down; next probe in {max(MIN_REARM, float(at) - now):.0f} s")
        return False

    def _rearm(self, at: float, now: float) -> None:
        """Sleep again until `at`, unless an arm moved the time meanwhile (keep the earlier).
        Never for a time already past: at least `MIN_REARM` s from now (no busy loop)."""
        at = max(at, now + MIN_REARM)
        with state.StateLock(self.data_dir):
            current = state.read_state(self.data_dir)
            if current.get("pid") != self.pid:
                return
            armed = current.get("armed_until")
            if armed is None or float(armed) <= now + DUE_SLACK or float(armed) > at:
                state.write_state(self.data_dir, {**current, "armed_until": at})

    def _disarm(self) -> bool:
        """Clear the state before exiting; False (keep running) when an arm wrote a later
        time after this timer's decision: the arm counted on this live timer."""
        try:
            with state.StateLock(self.data_dir):
                current = state.read_state(self.data_dir)
                if current.get("pid") == self.pid:
                    armed = current.get("armed_until")
                    if armed is not None and float(armed) > self.clock() + DUE_SLACK:
                        return False
                    state.write_state(self.data_dir, {"armed_until": None, "pid": None})
        except (OSError, TimeoutError):
            pass  # a stale state names a dead pid: `timer_alive` sees through it
        return True

    def _exit(self, reason: str) -> str:
        _say(f"exits: {reason}")
        return reason


def stash_retry_delay(previous: float) -> float:
    """The wait before the next try at Stash after `previous` (0 = the first failure)."""
    return STASH_RETRY_BASE if previous <= 0 else min(STASH_RETRY_CAP, previous * 2)


def earliest(job_due: float | None, reconcile_due: str | None) -> float | None:
    """The earliest of a job's due time and the next automatic reconciliation's or import's
    (a Process Queue task runs them when they are due)."""
    try:
        other = float(reconcile_due) if reconcile_due else None
    except ValueError:
        other = None
    if job_due is None or other is None:
        return job_due if other is None else other
    return min(job_due, other)


def main(argv: list[str]) -> int:
    """`plexsync.py wake-timer <data_dir>`: run one timer; exit status 0 whatever happened."""
    if len(argv) != 1 or not os.path.isdir(argv[0]):
        sys.stderr.write("usage: plexsync.py wake-timer <data_dir>\n")
        return 2
    try:
        WakeTimer(argv[0]).run()
    except Exception as exc:  # never a traceback loop: one line in the log and gone
        _say(f"exits on an error: {type(exc).__name__}: {exc}")
    return 0
