"""Stash's raw plugin protocol: one JSON document in on stdin, one JSON object out on stdout.

`parse` turns stdin into an `Invocation` or raises `InputError` with one sentence that says what
was wrong. `respond` prints exactly one `{"output": ..., "error": ...}` object. Standard library
only: this is on the hook path.
"""

from __future__ import annotations

import sys

from plexsync.core import fastjson as json
from plexsync.core.log import log
from plexsync.errors import InputError

# `typing` costs milliseconds at import and this module is on the hook path
# (docs/design.md#hook-budget);
# mypy treats any name TYPE_CHECKING as true.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

SCENE_HOOKS = ("Scene.Update.Post", "Scene.Create.Post", "Scene.Destroy.Post")
# A performer, tag, studio or group renamed, merged or deleted (docs/design.md#object-jobs).
OBJECT_HOOKS = (
    "Performer.Update.Post", "Performer.Destroy.Post", "Tag.Update.Post", "Tag.Destroy.Post",
    "Tag.Merge.Post", "Studio.Update.Post", "Studio.Destroy.Post", "Group.Update.Post",
    "Group.Destroy.Post",
)
HOOK_TYPES = SCENE_HOOKS + OBJECT_HOOKS
# Modes Stash runs through `runPluginOperation` (answered at once, outside the job queue): they
# read local state only, so the entrypoint skips the task router, Stash and settings for them.
OPERATIONS = ("page_status",)


class Invocation:
    """What Stash asked for: a hook (`hook_context` set) or a task (`mode` set)."""

    __slots__ = ("args", "hook_context", "mode", "server_connection")

    def __init__(
        self,
        server_connection: dict[str, Any],
        args: dict[str, Any],
        mode: str | None,
        hook_context: dict[str, Any] | None,
    ) -> None:
        self.server_connection = server_connection
        self.args = args
        self.mode = mode
        self.hook_context = hook_context

    @property
    def plugin_dir(self) -> str | None:
        value = self.server_connection.get("PluginDir")
        return str(value) if value else None


def parse(raw: str) -> Invocation:
    if not raw.strip():
        raise InputError(
            "no input on stdin; PlexSync is run by Stash (or as `python plexsync.py <task>` "
            "from a shell)."
        )
    try:
        doc = json.loads(raw)
    except ValueError:
        raise InputError(
            "stdin is not JSON; PlexSync expects Stash's plugin input "
            '({"server_connection": ..., "args": ...}).'
        ) from None
    except RecursionError:  # JSON nested thousands of levels deep: never Stash's input
        raise InputError(
            "stdin JSON is nested too deeply to be Stash's plugin input; nothing was done."
        ) from None
    if not isinstance(doc, dict):
        raise InputError("stdin JSON is not an object; expected Stash's plugin input.")
    args = doc.get("args")
    if not isinstance(args, dict):
        raise InputError(
            'plugin input has no "args" object; run PlexSync from Stash\'s Tasks page or a hook.'
        )
    conn = doc.get("server_connection")
    conn = conn if isinstance(conn, dict) else {}
    _check_connection(conn)
    hook = args.get("hookContext")
    if isinstance(hook, dict):
        hook_type = hook.get("type")
        if hook_type not in HOOK_TYPES:
            raise InputError(
                f"PlexSync does not handle the {hook_type!r} hook; it listens to "
                f"{', '.join(HOOK_TYPES)} (check triggeredBy in PlexSync.yml)."
            )
        return Invocation(conn, args, None, hook)
    mode = args.get("mode")
    if not isinstance(mode, str) or not mode:
        raise InputError(
            'plugin input has neither a task "mode" nor a "hookContext"; run PlexSync from '
            "Stash's Tasks page or a hook."
        )
    return Invocation(conn, args, mode, None)


def _check_connection(conn: dict[str, Any]) -> None:
    """The server_connection fields PlexSync uses must have the types Stash sends."""
    cookie = conn.get("SessionCookie")
    if cookie is not None and not (
            isinstance(cookie, dict) and isinstance(cookie.get("Value", ""), str | None)
            and isinstance(cookie.get("Name", ""), str | None)):
        raise InputError('server_connection.SessionCookie must be an object whose "Name" and '
                         '"Value" are strings; Stash sends it that way, check what runs PlexSync.')
    for key in ("ApiKey", "PluginDir", "Host", "Scheme"):
        value = conn.get(key)
        if value is not None and not isinstance(value, str):
            raise InputError(f"server_connection.{key} must be a string, not "
                             f"{type(value).__name__}; check what runs PlexSync.")
        if isinstance(value, str) and "\x00" in value:
            raise InputError(f"server_connection.{key} contains a NUL character; check what "
                             "runs PlexSync.")


def respond(output: Any = None, error: str | None = None) -> None:
    """Print the one JSON answer Stash reads from stdout."""
    # Defence in depth: no registered secret leaves in an answer, whatever produced it.
    answer = log.scrub(json.dumps({"output": output, "error": error}, default=str))
    sys.stdout.write(answer + "\n")
    sys.stdout.flush()
