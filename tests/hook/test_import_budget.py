"""The hook's import budget: the exact modules a hook process loads (docs/architecture.md).

A hook runs on every scene save and the user's save waits for it, so its start-up time is the
product's most visible number. These tests pin the set of modules it loads: adding one is a
deliberate change to this file, never an accident of a refactor.
"""

from __future__ import annotations

import time
from pathlib import Path

from plexsync.resilience import state
from tests.helpers import modules_loaded_by

# Every PlexSync module the hook path may load, and nothing more.
PLEXSYNC_ALLOWED = {
    "plexsync", "plexsync.__main__", "plexsync.errors",
    "plexsync.core", "plexsync.core.datadir", "plexsync.core.fastjson", "plexsync.core.log",
    "plexsync.core.protocol", "plexsync.core.vocab",
    "plexsync.hook", "plexsync.hook.handler",
    "plexsync.queue", "plexsync.queue.enums", "plexsync.queue.markers", "plexsync.queue.schema",
    "plexsync.queue.sqlite_db", "plexsync.queue.job_queue", "plexsync.queue.transitions",
    "plexsync.queue.dead_letters", "plexsync.queue.object_jobs",
}
# Loaded only when the outage breaker's file says anything but a plain closed breaker.
PLEXSYNC_BREAKER_ONLY = {"plexsync.resilience", "plexsync.resilience.state"}
# Loaded only when the hook asks Stash for a drain (no drain running or requested yet).
PLEXSYNC_REQUEST_ONLY = {"plexsync.stash.post", "plexsync.stash", "plexsync.stash.documents"}
# Everything else it loads beyond a bare interpreter: C accelerators and what `enum` needs.
OTHERS_ALLOWED = {
    "__future__", "_collections", "_functools", "_json", "_operator", "_sqlite3", "collections",
    "enum", "functools", "itertools", "keyword", "operator", "reprlib", "types",
}


def test_the_hook_path_loads_exactly_the_allowed_plexsync_modules() -> None:
    loaded = modules_loaded_by("import plexsync.__main__, plexsync.hook.handler")
    assert {m for m in loaded if m.startswith("plexsync")} == PLEXSYNC_ALLOWED


def test_the_hook_path_loads_no_module_beyond_the_allow_list() -> None:
    loaded = modules_loaded_by("import plexsync.__main__, plexsync.hook.handler")
    others = {m for m in loaded if not m.startswith("plexsync")}
    extra = sorted(others - OTHERS_ALLOWED)
    assert not extra, f"new modules on the hook path: {extra}"


def test_the_drain_request_adds_only_its_own_modules() -> None:
    loaded = modules_loaded_by("import plexsync.__main__, plexsync.hook.handler, "
                        "plexsync.stash.post")
    assert {m for m in loaded if m.startswith("plexsync")} == (
        PLEXSYNC_ALLOWED | PLEXSYNC_REQUEST_ONLY)
    extra = sorted({m for m in loaded if not m.startswith("plexsync")} - OTHERS_ALLOWED)
    assert not extra, f"new modules on the hook's request path: {extra}"


def test_reading_the_breaker_adds_only_its_own_modules() -> None:
    loaded = modules_loaded_by("import plexsync.__main__, plexsync.hook.handler, "
                        "plexsync.resilience.state")
    assert {m for m in loaded if m.startswith("plexsync")} == (
        PLEXSYNC_ALLOWED | PLEXSYNC_BREAKER_ONLY)
    extra = sorted({m for m in loaded if not m.startswith("plexsync")} - OTHERS_ALLOWED)
    assert not extra, f"new modules on the hook's breaker path: {extra}"



def test_a_closed_breaker_file_is_read_without_loading_the_breaker_modules(
        tmp_path: Path) -> None:
    # The first task writes a closed breaker.json, so this is every save's path from then on.
    state.write(str(tmp_path), state.fresh(time.time()))
    probe = ("import time, plexsync.__main__, plexsync.hook.handler as h; "
             f"assert h._probe_pending({str(tmp_path)!r}, time.time()) is False")
    assert not PLEXSYNC_BREAKER_ONLY & modules_loaded_by(probe)
    opened = {**state.fresh(time.time()), "state": "open", "next_probe_at": time.time() + 60}
    state.write(str(tmp_path), opened)
    assert modules_loaded_by(probe.replace("is False", "is True")) >= PLEXSYNC_BREAKER_ONLY
