"""The wake-up timer: one small detached process that asks Stash for Process Queue when work
becomes due later (docs/wake-timer.md, and docs/design.md, "Stash's job queue").

Stash runs one job at a time and has no timer for plugins, so a task never sleeps for work due
later; it arms this timer instead (`plexsync.timer.arm.arm`) and ends. The timer sleeps until the
earliest due time, re-reads the queue, asks Stash to run Process Queue (`runPluginTask`, under
the hook's no-duplicate-drain rule of `plexsync.queue.markers`) and exits.

Modules: `state` (the state,
credentials and log files in the data directory), `arm` (the task side: arm for a time T,
spawn detached), `process` (the timer process itself).

May import: the standard library, `plexsync.core` (light modules, `core.lockfile` for its
lock), `plexsync.queue.markers`, `plexsync.queue.job_queue`, `plexsync.stash.post`, and
`plexsync.resilience` (state, breaker, probe: it probes Plex while the breaker is open).
Never plexapi, requests, stashapi, filelock or anything under sync/ or tasks/: the timer process
stays small, and it never writes to Plex. Each subpackage `__init__` holds only this docstring
(the hook's import budget).
"""
