"""PlexSync's entry: what `plexsync.py` (as Stash runs it) and `python -m plexsync` run.

stdin: Stash's plugin input (JSON). stdout: exactly one {"output", "error"} object. Log lines and
progress go to stderr in Stash's protocol. With arguments (`python plexsync.py process_queue`),
it runs a task from a shell instead (`plexsync/tasks/cli.py`); `plexsync.py wake-timer
<data_dir>` is the wake-up timer process a task starts (`plexsync/timer/`).

Only light modules are imported up front: a hook must be done in a few tens of milliseconds.
It lives here rather than in `plexsync.py` because Python compiles a script on every run but
loads a module from its bytecode cache (docs/design.md#hook-budget). Stash starts it with
`python -S` (PlexSync.yml): the hook and the page's status operation need only the standard
library; every other path loads site-packages first (`core/site_packages.py`), where plexapi and
stashapi live.
"""

from __future__ import annotations

import os
import sys

from plexsync.core.log import log
from plexsync.core.protocol import OPERATIONS, parse, respond
from plexsync.errors import PlexSyncError


def _site_packages() -> None:
    from plexsync.core import site_packages

    site_packages.load()


def main() -> int:
    # Everything PlexSync creates (state files, the queue database, its lock files, the index
    # cache, the timer's credentials) is its owner's alone, whatever umask Stash passed on:
    # files 0600, folders 0700 (docs/reliability.md, "Secrets").
    os.umask(0o077)
    if len(sys.argv) > 1:  # the wake-up timer, or a task from a shell
        _site_packages()
    if sys.argv[1:2] == ["wake-timer"]:  # the detached wake-up timer (plexsync/timer/)
        from plexsync.timer.process import main as timer_main

        return timer_main(sys.argv[2:])
    if len(sys.argv) > 1:
        from plexsync.tasks.cli import main as cli_main

        return cli_main(sys.argv[1:])
    try:
        invocation = parse(sys.stdin.read())
        if invocation.hook_context is not None:
            from plexsync.hook.handler import run_hook

            output = run_hook(invocation)
        elif invocation.mode in OPERATIONS:  # the PlexSync page's status: local state only
            from plexsync.tasks.page import run_operation

            output = run_operation(invocation)
        else:
            _site_packages()
            from plexsync.tasks.router import run_task

            output = run_task(invocation)
    except PlexSyncError as exc:
        message = log.redact(str(exc))
        log.error(message)
        respond(error=message)
        return 1
    except KeyboardInterrupt:
        respond(error="PlexSync was interrupted.")
        return 1
    except Exception as exc:  # a bug: report it in one line, keep the traceback at debug level
        import traceback

        log.debug(traceback.format_exc())
        message = log.redact(f"PlexSync hit an internal error: {type(exc).__name__}: {exc}")
        log.error(message)
        respond(error=message)
        return 1
    respond(output=output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
