"""The standalone command line: the same tasks as Stash's Tasks page, from a shell or cron.

    python plexsync.py process_queue --stash-url http://localhost:9999 --api-key KEY
    python -m plexsync queue_status --settings plexsync-settings.json

Stash is reached with its API key (Settings → Security); PlexSync's settings are read from Stash
like in a task, or from a JSON file holding the same keys (`--settings`). Logs go to stderr as
plain lines; the task's output is printed to stdout as JSON. Exit status 0 on success, 1 on a
handled failure (one line on stderr says why), 2 on bad usage.
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any
from urllib.parse import urlsplit

from plexsync.core import datadir
from plexsync.core.log import log
from plexsync.core.protocol import Invocation
from plexsync.errors import InputError, PlexSyncError


def _parser() -> argparse.ArgumentParser:
    from plexsync.tasks.router import TASKS

    parser = argparse.ArgumentParser(
        prog="plexsync", description="Run a PlexSync task outside Stash.",
    )
    parser.add_argument("mode", choices=sorted(TASKS), metavar="TASK",
                        help="one of: " + ", ".join(sorted(TASKS)))
    parser.add_argument("--stash-url", default=os.environ.get("PLEXSYNC_STASH_URL",
                                                             "http://localhost:9999"),
                        help="Stash address (env PLEXSYNC_STASH_URL)")
    parser.add_argument("--api-key", default=os.environ.get("PLEXSYNC_STASH_API_KEY", ""),
                        help="Stash API key (env PLEXSYNC_STASH_API_KEY)")
    parser.add_argument("--settings", help="JSON file with PlexSync settings instead of Stash's")
    parser.add_argument("--arg", action="append", default=[], metavar="KEY=VALUE",
                        help="task argument, e.g. --arg days=7 (repeatable)")
    return parser


def _connection(url: str, api_key: str) -> dict[str, Any]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"--stash-url {url!r} is not a URL; use e.g. http://localhost:9999.")
    conn: dict[str, Any] = {
        "Scheme": parts.scheme,
        "Host": parts.hostname,
        "Port": parts.port or (443 if parts.scheme == "https" else 9999),
        "PluginDir": datadir.PLUGIN_ROOT,
    }
    if api_key:
        conn["ApiKey"] = api_key
    return conn


def _settings_file(path: str | None) -> dict[str, Any] | None:
    if path is None:
        return None
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except OSError as exc:
        raise InputError(f"cannot read --settings file {path!r}: {exc.strerror}.") from None
    except ValueError:
        raise InputError(f"--settings file {path!r} is not valid JSON.") from None
    if not isinstance(data, dict):
        raise InputError(f"--settings file {path!r} must hold a JSON object of settings.")
    return data


def main(argv: list[str]) -> int:
    log.plain = True
    args = _parser().parse_args(argv)
    try:
        task_args: dict[str, Any] = {"mode": args.mode}
        for item in args.arg:
            key, sep, value = item.partition("=")
            if not sep or not key:
                raise InputError(f"--arg {item!r} must look like KEY=VALUE.")
            task_args[key] = value
        invocation = Invocation(_connection(args.stash_url, args.api_key), task_args,
                                args.mode, None)
        from plexsync.tasks.router import run_task

        output = run_task(invocation, _settings_file(args.settings), started_by_stash=False)
    except PlexSyncError as exc:
        log.error(str(exc))
        return 1
    print(json.dumps(output, indent=2, default=str))
    return 0
