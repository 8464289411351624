"""The hook path (docs/design.md#hook-budget): gate, enqueue, schedule a drain, exit. Runs inside
the user's save.

Invariants:
- Never talks to Plex and imports nothing heavy: the standard library's json/os/sqlite3/time
  and the light PlexSync modules (queue.job_queue, queue.markers, queue.enums,
  resilience.state). At most one request to Stash: `runPluginTask(Process Queue)`, and only
  when no drain is running or already requested, and not while the outage breaker is open with
  its next probe ahead (the wake-up timer asks for the drain once Plex answers;
  docs/outages.md). That check is one small file read.
- Settings come from the snapshot file the last task wrote (`datadir.SETTINGS_SNAPSHOT`); when
  it is absent the defaults apply (enabled, every field synced).
- Gate: a scan (`input` null), Scene.Create.Post and Scene.Destroy.Post always enqueue (the
  drain finds a deleted scene gone and writes nothing). An update enqueues only when its
  `inputFields` name a field PlexSync syncs whose `sync_*` toggle is on; bulk updates
  (`input.ids`) are judged the same way.
- Object hooks (a performer, tag, studio or group renamed, merged or deleted;
  docs/design.md#object-jobs) write one coalesced object job instead, gated by `object_gate`
  (the name must be among `inputFields`, the kind's toggle on) and by the name PlexSync last
  read (a save that keeps it queues nothing); the drain request is the scene hook's.
- `cleared_fields` lists the synced Stash inputs the user explicitly emptied (named in
  `inputFields` with a null/""/[] value, or a bulk `{mode: SET, ids: []}`), by their Stash
  input name (title, details, date, studio_id, performer_ids, tag_ids, groups, group_ids,
  movies, movie_ids, rating100, director; the table is `core.vocab.CLEARABLE`), as
  `jobs.Job` and `fields.wanted` expect; only these may clear a Plex field, and only one
  PlexSync pushed a value to before (Stash's edit form sends every field on save).
- Failure: a database problem raises (Stash logs one error line); a failed drain request is one
  warning, because the job is already committed and the next hook or task will drain it.
"""

from __future__ import annotations

import os
import time

from plexsync.core import datadir
from plexsync.core import fastjson as json
from plexsync.core.log import log
from plexsync.core.protocol import OBJECT_HOOKS
from plexsync.core.vocab import ALWAYS_SYNCED, CLEARABLE, INPUT_FIELDS, TOGGLES
from plexsync.errors import InputError
from plexsync.queue import markers
from plexsync.queue.enums import JobSource, ObjectAction, ObjectKind
from plexsync.queue.job_queue import JobQueue

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any

    from plexsync.core.protocol import Invocation
    from plexsync.queue.markers import MetaFn

    Meta = dict[str, str]


def read_snapshot(data_dir: str) -> dict[str, Any]:
    """The settings the hook needs, as the last task saw them; {} (defaults) when absent."""
    path = os.path.join(data_dir, datadir.SETTINGS_SNAPSHOT)
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):
        return datadir.read_json(path, {})  # moves the damaged file aside with a warning
    return data if isinstance(data, dict) else {}


def syncs(snapshot: Mapping[str, Any], field: str) -> bool:
    """Whether `field` is synced: always for a field with no toggle, else its `sync_*` setting
    as the snapshot has it, or its default (core/vocab.py) when the snapshot does not say."""
    if field in ALWAYS_SYNCED:
        return True
    return bool(snapshot.get(f"sync_{field}", TOGGLES[field]))


def _is_empty(value: Any) -> bool:
    """Whether an input value may have emptied the field. A clear only empties Plex when the
    scene's list really is empty in Stash (fields.py), so a bulk REMOVE, which may or may not
    have removed the last entry, counts as a possible clear."""
    if value is None or value == "" or value == []:
        return True
    if isinstance(value, dict):  # bulk BulkUpdateIds {ids, mode}
        mode = str(value.get("mode", "")).upper()
        return mode == "REMOVE" or (mode == "SET" and not value.get("ids"))
    return False


def settings_changed_since_snapshot(conn: Mapping[str, Any], data_dir: str) -> bool:
    """True when Stash's config.yml is newer than the settings snapshot: the user may have
    changed PlexSync's settings since the last task wrote it, so its gates cannot be trusted
    (the drain re-reads the settings and drops hook jobs if PlexSync really is disabled)."""
    config_dir = conn.get("Dir")
    if not config_dir:
        return False
    try:
        config_mtime = os.stat(os.path.join(str(config_dir), "config.yml")).st_mtime
        snapshot_mtime = os.stat(os.path.join(data_dir, datadir.SETTINGS_SNAPSHOT)).st_mtime
    except OSError:
        return False
    return config_mtime > snapshot_mtime


def gate(hook: Mapping[str, Any], snapshot: Mapping[str, Any]) -> tuple[str | None, list[str]]:
    """(reason to skip or None, cleared fields) for one hook context. Pure."""
    payload = hook.get("input")
    names = hook.get("inputFields")
    if hook.get("type") == "Scene.Create.Post" or payload is None or not isinstance(names, list):
        return None, []
    touched = {f for name in names for f in INPUT_FIELDS.get(str(name), ())}
    if not touched:
        return "no field PlexSync syncs was changed", []
    if not any(syncs(snapshot, f) for f in touched):
        return "only fields with syncing turned off were changed", []
    values = payload if isinstance(payload, dict) else {}
    cleared = sorted({
        name for name in map(str, names)
        if name in CLEARABLE and syncs(snapshot, CLEARABLE[name]) and _is_empty(values.get(name))
    })
    return None, cleared


def _scene_id(hook: Mapping[str, Any], noun: str = "scene") -> int:
    """The hook's `id` (the scene's, or the performer's, tag's... for object hooks)."""
    try:
        scene_id = int(hook["id"])
    except (KeyError, TypeError, ValueError, OverflowError):
        raise InputError(
            f"the {hook.get('type')} hook carried no {noun} id; nothing was queued."
        ) from None
    if not 0 < scene_id < 2**63:   # SQLite's INTEGER is 64-bit signed
        raise InputError(f"the hook's {noun} id {scene_id} is not valid; nothing was queued.")
    return scene_id


BREAKER_FILE = "breaker.json"   # resilience.state.FILE (tests/hook/test_handler.py pins it)


def _probe_pending(data_dir: str, now: float) -> bool:
    """`resilience.state.probe_pending`, imported only when the breaker is not plainly closed:
    the first task writes the file and it stays closed almost always, so the hook reads it
    itself then (the module's import is ~1 ms of every save). Anything else, damage included,
    goes through the module's own reader."""
    raw = datadir.read_bytes(os.path.join(data_dir, BREAKER_FILE))
    if raw is None:
        return False
    try:
        if json.loads(raw.decode("utf-8")).get("state") == "closed":
            return False
    except (ValueError, AttributeError):
        pass
    from plexsync.resilience import state as breaker_state

    return breaker_state.probe_pending(data_dir, now)


TIMER_RUN_LOCK = "wake-timer.lock"   # timer.state.RUN_LOCK (tests/hook/test_handler.py pins it)


def _timer_alive(data_dir: str) -> bool:
    """Whether a live wake-up timer will ask for the drain once Plex answers: a running timer
    holds its run lock for its whole life (plexsync/timer/state.py), and a killed one's lock
    died with it. One lock attempt on a local file. None alive: the hook requests the drain
    itself, and that drain, stopping at the open breaker, arms a new timer; the save is never
    stranded."""
    from plexsync.core import lockfile

    return lockfile.is_locked(os.path.join(data_dir, TIMER_RUN_LOCK))


def run_hook(invocation: Invocation) -> dict[str, Any]:
    hook = invocation.hook_context or {}
    data_dir = datadir.resolve(invocation.plugin_dir)
    conn = invocation.server_connection
    snapshot = read_snapshot(data_dir)
    log.configure(debug=bool(snapshot.get("debug_logging")),
                  obfuscate_paths=bool(snapshot.get("obfuscate_paths")))
    if snapshot and settings_changed_since_snapshot(conn, data_dir):
        snapshot = {}  # gate on the defaults; the drain applies the real settings
    cookie = conn.get("SessionCookie")
    log.add_secret(cookie.get("Value") if isinstance(cookie, dict) else None)
    log.add_secret(conn.get("ApiKey"))
    hook_type = str(hook.get("type"))
    if hook_type in OBJECT_HOOKS:
        return _object_hook(hook, hook_type, snapshot, data_dir, conn)
    scene_id = _scene_id(hook)
    if not snapshot.get("enabled", True):
        log.info(f"PlexSync is disabled (Settings → Plugins → PlexSync → Enabled); "
                 f"scene {scene_id} was not queued.")
        return {"skipped": "disabled", "scene": scene_id}
    # A deleted scene is queued like an edit: the drain finds it gone and writes nothing.
    reason, cleared = (None, []) if hook_type == "Scene.Destroy.Post" else gate(hook, snapshot)
    if reason is not None:
        log.debug(f"scene {scene_id}: {reason}; not queued")
        return {"skipped": reason, "scene": scene_id}

    def enqueue(store: JobQueue, now: float, meta_fn: MetaFn | None) -> tuple[str, Meta]:
        return "queued", store.enqueue(scene_id, now, JobSource.HOOK, cleared, meta_fn=meta_fn)

    what = f"scene {scene_id}"
    _, drain = _enqueue_and_request(enqueue, what, snapshot, data_dir, conn)
    log.debug(f"{what} queued" + (f" (cleared {', '.join(cleared)})" if cleared else "")
              + f"; drain {drain}")
    return {"queued": scene_id, "drain": drain}


# Object hooks: (kind, action) by hook type, and the setting(s) that sync each kind's name.
_OBJECT_EVENTS = {
    "Update": ObjectAction.UPDATE, "Destroy": ObjectAction.DESTROY, "Merge": ObjectAction.MERGE,
}
_OBJECT_TOGGLES: dict[str, tuple[str, ...]] = {
    "performer": ("performers",), "tag": ("tags",), "studio": ("studio", "collections"),
    "group": ("collections",),
}
# The only object input whose change reaches Plex: PlexSync writes names, nothing else.
OBJECT_SYNCED_INPUTS = frozenset({"name"})


def object_gate(hook: Mapping[str, Any], kind: str, action: ObjectAction,
                snapshot: Mapping[str, Any]) -> str | None:
    """The reason to skip an object hook, or None. Pure."""
    if not any(syncs(snapshot, f) for f in _OBJECT_TOGGLES[kind]):
        return f"syncing of {kind} names is turned off"
    names = hook.get("inputFields")
    if action is ObjectAction.UPDATE and isinstance(names, list) \
            and not OBJECT_SYNCED_INPUTS.intersection(map(str, names)):
        return "no field PlexSync syncs was changed (only the name reaches Plex)"
    return None


def _merged_ids(hook: Mapping[str, Any]) -> list[int]:
    """Tag.Merge.Post: the source tag ids of TagsMergeInput (they are deleted now)."""
    payload = hook.get("input")
    sources = payload.get("source") if isinstance(payload, dict) else None
    out = []
    for value in sources if isinstance(sources, list) else []:
        try:
            number = int(value)
        except (TypeError, ValueError, OverflowError):
            continue
        if 0 < number < 2**63:
            out.append(number)
    return out


def _object_hook(hook: Mapping[str, Any], hook_type: str, snapshot: Mapping[str, Any],
                 data_dir: str, conn: Mapping[str, Any]) -> dict[str, Any]:
    """One coalesced object job for a performer, tag, studio or group (sync/objects.py expands
    it in the drain), and the drain request as for a scene."""
    noun, event = hook_type.split(".")[:2]
    kind, action = ObjectKind(noun.lower()), _OBJECT_EVENTS[event]
    object_id = _scene_id(hook, noun.lower())
    what = f"{noun.lower()} {object_id}"
    if not snapshot.get("enabled", True):
        log.info(f"PlexSync is disabled (Settings → Plugins → PlexSync → Enabled); the change "
                 f"to {what} was not queued.")
        return {"skipped": "disabled", kind.value: object_id}
    reason = object_gate(hook, kind.value, action, snapshot)
    if reason is not None:
        log.debug(f"{what}: {reason}; not queued")
        return {"skipped": reason, kind.value: object_id}
    merged = _merged_ids(hook) if action is ObjectAction.MERGE else []
    payload = hook.get("input")
    name = payload.get("name") if isinstance(payload, dict) else None
    # Stash's edit form sends the name on every save: a name every synced scene already has
    # changes nothing in Plex (Stash trims names as it stores them).
    same = name.strip() if action is ObjectAction.UPDATE and isinstance(name, str) else None

    def enqueue(store: JobQueue, now: float, meta_fn: MetaFn | None) -> tuple[str, Meta]:
        existed, meta = store.enqueue_object(kind, object_id, action, merged, now,
                                             meta_fn=meta_fn, name=same)
        return ("unchanged" if existed is None else "updated" if existed else "new"), meta

    status, drain = _enqueue_and_request(enqueue, what, snapshot, data_dir, conn)
    if status == "unchanged":
        log.debug(f"{what}: its name did not change; not queued")
        return {"skipped": "the name did not change", kind.value: object_id}
    log.debug(f"{what} {action.value} queued ({status}); drain {drain}")
    return {"queued": {kind.value: object_id, "action": action.value}, "drain": drain}


def _enqueue_and_request(
    enqueue: Callable[[JobQueue, float, MetaFn | None], tuple[str, Meta]], what: str,
    snapshot: Mapping[str, Any], data_dir: str, conn: Mapping[str, Any],
) -> tuple[str, str]:
    """Run `enqueue` in one transaction with the drain-request marker, then ask Stash for
    Process Queue when this hook claimed the request. Returns (enqueue status, drain state)."""
    now = time.time()
    token = markers.stamp(now)
    # While the outage breaker is open and its next probe is not due, the wake-up timer is
    # armed for that probe and asks for a drain once Plex answers: requesting one now would
    # only add a run to Stash's job list that stops at once. An overdue probe (no timer
    # alive) or a dead timer falls through to the usual request, whose drain probes or arms.
    waiting = _probe_pending(data_dir, now) and snapshot.get("wake_timer", True) \
        and _timer_alive(data_dir)
    store = JobQueue.open(data_dir, clock=lambda: now)
    try:
        # Urgency (due now) follows from the source, as for every enqueue (enums.JobSource).
        status, meta = enqueue(store, now,
                               None if waiting else markers.schedule_if_idle(now, token))
        drain = "waiting for Plex" if waiting else \
            "requested" if meta.get(markers.SCHEDULED_AT) == token else \
            markers.drain_state(meta, now).value
        if drain == "requested":
            # Only now: most hooks of a burst find a drain already requested, and the request
            # path (the socket POST, the GraphQL document) is ~1 ms of imports they never use.
            from plexsync.stash import post as stash_post

            try:
                stash_post.request_drain(conn)
            except (OSError, ValueError) as exc:
                store.update_meta(markers.withdraw(token))
                drain = "not requested"
                log.warning(log.redact(
                    f"{what.capitalize()} is queued, but asking Stash to run Process Queue "
                    f"failed ({type(exc).__name__}: {exc}); the next edit or task will run it."))
    finally:
        store.close()
    return status, drain
