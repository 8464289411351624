"""Task routing: `mode` (docs/tasks.md) → handler, and the context every handler receives.

Handlers live in the module of their concern and are imported only when their task runs.
Each takes a `TaskContext` and returns the task's `output` (shown in Stash's job and returned
to the CLI); a failure raises a `PlexSyncError` whose message tells the user what to do.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable, Mapping
from typing import Any

from plexsync.core import datadir
from plexsync.core.context import TaskContext
from plexsync.core.log import log
from plexsync.core.protocol import OPERATIONS, Invocation
from plexsync.core.settings import SYNC_FIELDS, Settings, defaults_to_write, secrets_in
from plexsync.errors import ConfigError, InputError, PlexSyncError, StashError

# mode → "module:function" inside the plexsync package, imported only when its task runs.
TASKS: dict[str, str] = {
    "process_queue": "tasks.process_queue:run_process_queue",
    "queue_status": "tasks.status:run_queue_status",
    "clear_queue": "tasks.admin:run_clear_queue",
    "clear_dlq": "tasks.dlq:run_clear_dlq",
    "purge_dlq": "tasks.dlq:run_purge_dlq",
    "recover_dlq": "tasks.dlq:run_recover_dlq",
    "health_check": "tasks.health:run_health_check",
    "outage_summary": "tasks.status:run_outage_summary",
    "reconcile_all": "tasks.reconcile:run_reconcile_all",
    "reconcile_recent": "tasks.reconcile:run_reconcile_recent",
    "reconcile_7days": "tasks.reconcile:run_reconcile_7days",
    "sync_all": "tasks.bulk:run_sync_all",
    "sync_recent": "tasks.bulk:run_sync_recent",
    "clear_match_cache": "tasks.admin:run_clear_match_cache",
    "import_play_state": "tasks.play_state:run_import_play_state",
}

# The PlexSync page tags the tasks it starts with this argument to find their results.
UI_REQUEST_ARG = "ui_request"
UI_REQUEST_MAX = 64

RUNTIME_MODULES = ("plexapi", "stashapi", "diskcache", "filelock", "requests")


def check_dependencies() -> None:
    """Fail with the exact pip command when a runtime requirement is missing."""
    for name in RUNTIME_MODULES:
        try:
            importlib.import_module(name)
        except ImportError:
            requirements = os.path.join(datadir.PLUGIN_ROOT, "requirements.txt")
            raise ConfigError(
                f"PlexSync needs the Python package '{name}', which is not installed for "
                f"{sys.executable}; run: {sys.executable} -m pip install -r {requirements}"
            ) from None


def validate_mode(mode: str) -> str:
    target = TASKS.get(mode)
    if target is None:
        raise InputError(f"unknown task mode {mode!r}; valid modes: {', '.join(sorted(TASKS))}.")
    return target


def resolve_handler(mode: str) -> Callable[[TaskContext], Any]:
    module_name, func_name = validate_mode(mode).split(":")
    handler: Callable[[TaskContext], Any] = getattr(
        importlib.import_module(f"plexsync.{module_name}"), func_name)
    return handler


def load_settings(
    stash: Any, data_dir: str, raw_override: Mapping[str, Any] | None = None
) -> Settings:
    """Read settings from Stash (or `raw_override`, the CLI's settings file), write missing
    defaults back to Stash once, configure logging."""
    raw = dict(raw_override) if raw_override is not None else stash.plugin_settings()
    for secret in secrets_in(raw):   # before configurePlugin: stashapi logs its variables
        log.add_secret(secret)
    missing = defaults_to_write(raw) if raw_override is None else {}
    if missing:
        try:
            stash.configure_plugin({**missing, **raw})   # never overwrite what the user set
            log.debug(f"wrote defaults for {len(missing)} unset settings")
        except StashError as exc:   # cosmetic (the UI's checkboxes): the defaults apply anyway
            log.warning(f"Could not save PlexSync's default settings in Stash ({exc}); they "
                        "apply anyway. Check that Stash can write its config.yml.")
    settings = Settings.from_mapping(raw)
    log.add_secret(settings.plex_token)
    log.configure(debug=settings.debug_logging, obfuscate_paths=settings.obfuscate_paths)
    if settings.legacy_used:
        _note_legacy_once(data_dir)
    write_settings_snapshot(data_dir, settings)
    return settings


def write_settings_snapshot(data_dir: str, settings: Settings) -> None:
    """The hook reads this instead of asking Stash (it may make no settings call). No secrets."""
    snapshot: dict[str, Any] = {
        "enabled": settings.enabled,
        "debug_logging": settings.debug_logging,
        "obfuscate_paths": settings.obfuscate_paths,
        # every toggle, sync_background included: a cover edit matters to either image
        **{f"sync_{name}": settings.syncs(name) for name in SYNC_FIELDS},
        "wake_timer": settings.wake_timer,  # the timer process reads it (timer/state.py)
        "verify_tls": settings.verify_tls,  # so does the timer's Plex probe
        "plex_url": settings.plex_url,      # and probes this address (the current one)
    }
    path = os.path.join(data_dir, datadir.SETTINGS_SNAPSHOT)
    if datadir.read_json(path, {}) != snapshot:
        datadir.write_json(path, snapshot)
    else:  # its mtime says "as of now" to the hook (see hook.settings_changed_since_snapshot)
        os.utime(path)


def _note_legacy_once(data_dir: str) -> None:
    marker = os.path.join(data_dir, "legacy-settings-noted")
    if not os.path.exists(marker):
        log.info("Using plexHost/plexPort/plexToken from the old PlexSync v0.1 settings; set "
                 "plex_url and plex_token to stop relying on them.")
        datadir.write_atomic(marker, b"1\n")


def run_task(invocation: Invocation, settings_raw: Mapping[str, Any] | None = None,
             started_by_stash: bool = True) -> Any:
    """Run the task `invocation.mode` names; `settings_raw` replaces Stash's plugin settings;
    `started_by_stash` is False for the command line (`TaskContext.started_by_stash`)."""
    assert invocation.mode is not None
    if invocation.mode in OPERATIONS:  # also reached from the CLI; plexsync.py goes direct
        from plexsync.tasks.page import run_operation

        return run_operation(invocation)
    validate_mode(invocation.mode)
    log.redact_libraries()   # before plexapi, stashapi or urllib3 log anything
    check_dependencies()
    handler = resolve_handler(invocation.mode)
    from plexsync.stash.api import StashClient

    request = ui_request(invocation.args)
    data_dir = datadir.resolve(invocation.plugin_dir)
    from plexsync.tasks.page import record_result

    stash = StashClient(invocation.server_connection)
    try:
        settings = load_settings(stash, data_dir, settings_raw)
    except PlexSyncError as exc:   # the page shows why its task did nothing
        record_result(data_dir, invocation.mode, request, error=log.redact(str(exc)))
        raise
    context = TaskContext(
        settings=settings,
        data_dir=data_dir,
        stash=stash,
        args={k: v for k, v in invocation.args.items() if k not in ("mode", UI_REQUEST_ARG)},
        server_connection=invocation.server_connection,
        started_by_stash=started_by_stash,
    )
    if invocation.mode != "process_queue":   # Process Queue probes and arms itself
        _recovery_check(context)
        _ensure_timer(context)
    try:
        output = handler(context)
    except PlexSyncError as exc:
        record_result(data_dir, invocation.mode, request, error=log.redact(str(exc)))
        raise
    # The automatic checks, after the task's own work; a task never triggers its own kind.
    for key, label, skip, target in AUTOMATIC:
        if invocation.mode not in skip:
            done = _automatic(label, target, context)
            if done is not None and isinstance(output, dict):
                output = {**output, key: done}
    record_result(data_dir, invocation.mode, request, output=output)
    return output


RECONCILE_MODES = frozenset({"reconcile_all", "reconcile_recent", "reconcile_7days"})


def ui_request(args: Mapping[str, Any]) -> str | None:
    """The page's request id (`ui-<time>-<random>`, ~20 characters), kept in
    task-results.json and sent back on every page poll: anything longer is refused."""
    value = args.get(UI_REQUEST_ARG)
    if value is None:
        return None
    text = str(value)
    if len(text) > UI_REQUEST_MAX:
        raise InputError(f"the ui_request argument is longer than {UI_REQUEST_MAX} characters; "
                         "it is the PlexSync page's own request id: start the task from the "
                         "page, or leave ui_request out.")
    return text


# (output key, what the warning calls it, modes it skips, "module:function" of the check)
AUTOMATIC = (
    ("auto_reconcile", "reconciliation", RECONCILE_MODES, "tasks.reconcile:auto_reconcile"),
    ("auto_import", "play-state import", frozenset({"import_play_state"}),
     "tasks.play_state:auto_import"),
)


def _automatic(label: str, target: str, context: TaskContext) -> dict[str, Any] | None:
    """One on-invocation automatic check (reconcile/auto.py, tasks/play_state.py). Its failure
    is a warning: the task itself succeeded."""
    module_name, func_name = target.split(":")
    check = getattr(importlib.import_module(f"plexsync.{module_name}"), func_name)
    try:
        result: dict[str, Any] | None = check(context)
    except PlexSyncError as exc:
        log.warning(f"Automatic {label} failed: {exc}")
        return None
    return result


def _ensure_timer(ctx: TaskContext) -> None:
    """Work due later with no live wake-up timer (killed, never armed): arm one now."""
    from plexsync.timer.wake import ensure_timer

    ensure_timer(ctx)


def _recovery_check(ctx: TaskContext) -> None:
    """Breaker recovery detection on every invocation: one local file read when closed."""
    from plexsync.resilience import state
    from plexsync.resilience.state import Circuit

    current, problem = state.read(ctx.data_dir, ctx.clock())
    missing = not os.path.exists(state.path(ctx.data_dir))   # the first run: start watching
    if current["state"] == Circuit.CLOSED and not problem and not missing:
        return
    from plexsync.resilience.gate import recovery_check
    from plexsync.timer.wake import arm_timer

    recovery_check(ctx, lambda: arm_timer(ctx, ctx.clock()))
