"""Health Check (`health_check`): a doctor for the whole set-up (docs/health-check.md).

Each check yields `{"name", "ok", "problem", "fix", ...details}`; `problem` and `fix` are one
sentence each (empty when ok). The output is `{"ok": all ok, "checks": [...]}`, and the log
gets one line per check. A check that cannot run because an earlier one failed (no token
check without a reachable Plex) says so as its problem instead of being left out.

Failure behaviour: the task itself never fails for a broken set-up; that is what it reports.
It never writes to Plex or Stash; the only write is a probe file in the data directory.
"""

from __future__ import annotations

import os
import re
import time
from typing import Any

from plexsync.core.context import TaskContext
from plexsync.core.log import log
from plexsync.errors import ConfigError, PlexAuth, PlexSyncError, StashError
from plexsync.resilience import history, probe
from plexsync.resilience import state as breaker_state
from plexsync.resilience.state import Circuit
from plexsync.stash import documents as gql
from plexsync.timer.state import timer_status
from plexsync.timer.wake import ensure_timer, stash_login, work_due

SAMPLE = 20
MIN_STASH_VERSION = "v0.26.0"    # docs/install.md#stash-version
MIN_STASH = (0, 26, 0)
PLEX_PATH_LIMIT = 5000           # index rows read for the path_map check
NETWORK_FS = {"nfs", "nfs4", "cifs", "smb", "smbfs", "smb3", "afs", "9p", "ncpfs",
              "fuse.sshfs", "fuse.rclone", "davfs", "glusterfs", "ceph"}


def check(name: str, ok: bool, problem: str = "", fix: str = "", **details: Any) -> dict[str, Any]:
    return {"name": name, "ok": ok, "problem": "" if ok else problem,
            "fix": "" if ok else fix, **details}


def run_health_check(ctx: TaskContext) -> dict[str, Any]:
    checks = [check_settings(ctx), check_stash(ctx), check_stash_version(ctx)]
    reach = check_plex_reachable(ctx)
    checks.append(reach)
    client, sections, token = _plex_checks(ctx, reach["ok"])
    checks.extend(token)
    checks.append(check_path_map(ctx, client, sections))
    checks.append(check_breaker(ctx))
    checks.append(check_data_dir(ctx.data_dir))
    checks.append(check_timer(ctx))
    checks.append(check_play_import(ctx))
    for item in checks:
        if item["ok"]:
            log.info(f"Health: {item['name']}: ok" + (f" ({item['info']})" if item.get("info")
                                                      else ""))
        else:
            log.warning(f"Health: {item['name']}: {item['problem']} Fix: {item['fix']}")
    healthy = all(item["ok"] for item in checks)
    bad = sum(1 for item in checks if not item["ok"])
    log.info("Health Check: all ok." if healthy else f"Health Check: {bad} problem(s) found.")
    return {"ok": healthy, "checks": checks}


def check_settings(ctx: TaskContext) -> dict[str, Any]:
    s = ctx.settings
    if not s.plex_url:
        return check("settings", False, "plex_url is not set.",
                     "Enter your Plex address (e.g. http://192.168.1.5:32400) in Settings → "
                     "Plugins → PlexSync.")
    if not s.plex_url.startswith(("http://", "https://")):
        return check("settings", False, f"plex_url '{s.plex_url}' is not an http(s) address.",
                     "Write it as http://HOST:32400 (or https://...).")
    if not s.plex_token:
        return check("settings", False, "plex_token is not set.",
                     "Paste your X-Plex-Token into Settings → Plugins → PlexSync.")
    return check("settings", True, info=f"plex_url {s.plex_url}")


def check_stash(ctx: TaskContext) -> dict[str, Any]:
    try:
        total, _ = ctx.stash.scene_id_page(None, 1, 1)
    except StashError as exc:
        if exc.unreachable:   # its message names the cause (refused credentials, no answer)
            return check("stash", False, log.redact(f"Stash did not answer ({exc})"),
                         "Check that Stash is running, and run the task from Stash again; "
                         "from the CLI, check --stash-url and --api-key.")
        return check("stash", False, log.redact(f"Stash did not answer ({_short(exc)})."),
                     "Check that Stash is running and that the CLI's --stash-url and "
                     "--api-key are right.")
    except Exception as exc:
        return check("stash", False, log.redact(f"Stash did not answer ({_short(exc)})."),
                     "Check that Stash is running and that the CLI's --stash-url and "
                     "--api-key are right.")
    return check("stash", True, info=f"{total} scenes", scenes=total)


def check_stash_version(ctx: TaskContext) -> dict[str, Any]:
    """Stash's `version` against MIN_STASH_VERSION (docs/install.md#stash-version): older Stash
    lacks GraphQL fields the PlexSync page sends (v0.24 fails all four of its documents, v0.25
    has no `Job.error`). A version that does not parse (a development build) passes."""
    try:
        version = str(ctx.stash.call(gql.STASH_VERSION, quiet=True)["version"]["version"] or "")
    except Exception as exc:
        return check("stash_version", False, log.redact(
            f"Stash's version could not be read ({_short(exc)})."),
            f"Check that Stash is running; PlexSync needs Stash {MIN_STASH_VERSION} or later.")
    found = _version_tuple(version)
    if found is not None and found < MIN_STASH:
        return check("stash_version", False,
                     f"Stash {version} is older than {MIN_STASH_VERSION}, the oldest Stash "
                     "PlexSync works with.",
                     f"Update Stash to {MIN_STASH_VERSION} or later (Settings → About shows "
                     "its version).", version=version)
    return check("stash_version", True, info=f"Stash {version}", version=version)


def _version_tuple(text: str) -> tuple[int, int, int] | None:
    match = re.match(r"v?(\d+)\.(\d+)\.(\d+)", text.strip())
    return None if match is None else (int(match[1]), int(match[2]), int(match[3]))


def check_plex_reachable(ctx: TaskContext) -> dict[str, Any]:
    if not ctx.settings.plex_url:
        return check("plex_reachable", False, "Plex was not tried: plex_url is not set.",
                     "Set plex_url first.")
    answer = probe.probe(ctx.settings.plex_url, timeout=min(probe.TIMEOUT,
                                                            ctx.settings.connect_timeout),
                         verify=ctx.settings.verify_tls)
    if answer.setup:   # a certificate that does not verify: set-up, not an outage
        return check("plex_reachable", False,
                     f"Plex's certificate at {ctx.settings.plex_url} does not verify "
                     f"({answer.detail}).", answer.setup)
    if not answer.ok:
        return check("plex_reachable", False,
                     f"Plex does not answer GET /identity at {ctx.settings.plex_url} "
                     f"({answer.detail}).",
                     "Start Plex Media Server, or correct plex_url (host and port, "
                     "usually 32400) so that it reaches Plex itself, not a proxy page.")
    return check("plex_reachable", True, info=f"Plex {answer.version or 'version unknown'}",
                 version=answer.version)


def _plex_checks(ctx: TaskContext, reachable: bool) -> tuple[Any, list[Any], list[dict[str, Any]]]:
    """Token and libraries; returns (client or None, configured sections, checks)."""
    if not reachable or not ctx.settings.plex_token:
        skipped = "not checked: Plex is not reachable or the settings are incomplete."
        return None, [], [check("token", False, f"Token {skipped}", "Fix the checks above."),
                          check("libraries", False, f"Libraries {skipped}",
                                "Fix the checks above.")]
    from plexsync.plex.client import PlexClient

    client = PlexClient(ctx.settings, ctx.data_dir)
    try:
        client.connect()
    except PlexAuth:
        return None, [], [
            check("token", False, "Plex refused plex_token (401 Unauthorized).",
                  "Copy a fresh X-Plex-Token (Plex Web → any item → Get Info → View XML, "
                  "the X-Plex-Token in the address) into plex_token."),
            check("libraries", False, "Libraries not checked: the token was refused.",
                  "Fix plex_token first.")]
    except PlexSyncError as exc:
        return None, [], [check("token", False, f"Plex connection failed: {exc}",
                                "Check plex_url points at Plex Media Server."),
                          check("libraries", False, "Libraries not checked.",
                                "Fix the Plex connection first.")]
    token = check("token", True)
    try:
        sections = client.configured_sections()
    except ConfigError as exc:
        names = [s.title for s in client.sections()]
        return client, [], [token, check(
            "libraries", False, str(exc),
            "Set plex_library to one of: " + ", ".join(names) + " (or leave it empty for "
            "every movie library).", available=names)]
    except PlexSyncError as exc:
        return client, [], [token, check("libraries", False, str(exc),
                                         "Check Plex's libraries and plex_library.")]
    return client, sections, [token, check("libraries", True,
                                           info=", ".join(s.title for s in sections),
                                           libraries=[s.title for s in sections])]


def check_path_map(ctx: TaskContext, client: Any, sections: list[Any]) -> dict[str, Any]:
    if client is None or not sections:
        return check("path_map", False, "path_map not checked: no Plex library to compare with.",
                     "Fix the Plex checks above.")
    try:
        scenes = _sample_scene_paths(ctx)
    except Exception as exc:
        return check("path_map", False, f"path_map not checked: Stash did not list scenes "
                     f"({_short(exc)}).", "Fix the Stash check above.")
    plex_paths: list[str] = []
    try:
        for section in sections:
            start = 0
            while len(plex_paths) < PLEX_PATH_LIMIT:
                page = client.section_page(section.id, start, 500)
                plex_paths.extend(row[0] for row in page.rows)
                start += page.videos
                if not page.videos or start >= page.total:
                    break
    except PlexSyncError as exc:
        return check("path_map", False, f"path_map not checked: {exc}", "Fix the Plex checks.")
    known = set(plex_paths)
    mapped = [(path, ctx.settings.path_map.to_plex(path)) for path in scenes]
    misses = [{"stash_path": s, "mapped_path": m, "nearest_plex_path": _nearest(m, plex_paths)}
              for s, m in mapped if m not in known]
    hits = len(mapped) - len(misses)
    details: dict[str, Any] = {"sampled": len(mapped), "found_in_plex": hits,
                               "not_found": misses}
    if not mapped:
        return check("path_map", True, info="no scene with a file to sample", **details)
    if hits == 0:
        first = misses[0]
        return check("path_map", False,
                     f"None of {len(mapped)} sampled scenes maps to a Plex file: "
                     f"'{first['mapped_path']}' vs Plex's nearest "
                     f"'{first['nearest_plex_path']}'.",
                     "Set path_map so Stash's prefix becomes Plex's "
                     "(stash_prefix=plex_prefix), compare the two paths above.", **details)
    return check("path_map", True, info=f"{hits} of {len(mapped)} sampled scenes found in Plex"
                 + (" (the others may not be scanned yet)" if misses else ""), **details)


def _sample_scene_paths(ctx: TaskContext) -> list[str]:
    _, rows = ctx.stash.scene_id_page(None, 1, SAMPLE)
    ids = [int(row["id"]) for row in rows]
    scenes = ctx.stash.scenes_by_id(ids)
    paths: list[str] = []
    for scene_id in ids:
        files = (scenes.get(scene_id) or {}).get("files") or []
        if files and files[0].get("path"):
            paths.append(str(files[0]["path"]))
    return paths


def _nearest(path: str, candidates: list[str]) -> str:
    """The Plex path sharing the longest tail (same file name, deepest common folders)."""
    parts = path.replace("\\", "/").split("/")
    best, score = "", -1
    for candidate in candidates:
        other = candidate.replace("\\", "/").split("/")
        n = 0
        while n < min(len(parts), len(other)) and parts[-1 - n] == other[-1 - n]:
            n += 1
        if n > score:
            best, score = candidate, n
    return best


def check_breaker(ctx: TaskContext) -> dict[str, Any]:
    now = ctx.clock()
    state, problem = breaker_state.read(ctx.data_dir, now)
    summary = history.summary(state, now)
    last = summary["history"][0] if summary["history"] else None
    details = {"circuit": state["state"], "last_outage": last, "ongoing": summary["ongoing"]}
    if state["state"] != Circuit.CLOSED:
        return check("breaker", False,
                     f"The circuit breaker is {state['state']}: Plex has been down since "
                     f"{history.iso(state.get('opened_at'))}.",
                     "Bring Plex back; PlexSync probes it and resumes by itself.", **details)
    info = "closed" + (f"; last outage {last['start']} ({last['duration_s']:.0f} s)"
                       if last else "; no outage recorded")
    if problem:
        info += f"; its file was unreadable ({problem}) and reads as closed"
    return check("breaker", True, info=info, **details)


def check_data_dir(data_dir: str) -> dict[str, Any]:
    test = os.path.join(data_dir, f".health-{os.getpid()}")
    try:
        with open(test, "w") as file:
            file.write("ok")
        os.remove(test)
    except OSError as exc:
        return check("data_dir", False, f"The data directory {data_dir} is not writable "
                     f"({exc.strerror or exc}).",
                     "Give the user running Stash write access to it, or set "
                     "PLEXSYNC_DATA_DIR to a writable local folder.")
    fstype = filesystem_type(data_dir)
    if fstype in NETWORK_FS:
        return check("data_dir", False, f"The data directory {data_dir} is on a network "
                     f"file system ({fstype}); SQLite's locking is unreliable there.",
                     "Set PLEXSYNC_DATA_DIR to a folder on a local disk.", fstype=fstype)
    return check("data_dir", True, info=f"{data_dir} ({fstype or 'local'})", fstype=fstype)


def filesystem_type(path: str, mounts: str = "/proc/mounts") -> str:
    """The file system type of `path` on Linux ("" where /proc/mounts is not there)."""
    try:
        with open(mounts) as file:
            rows = [line.split() for line in file]
    except OSError:
        return ""
    real = os.path.realpath(path)
    best, kind = "", ""
    for row in rows:
        if len(row) < 3:
            continue
        mount = row[1].replace("\\040", " ")
        inside = real == mount or real.startswith(mount.rstrip("/") + "/")
        if inside and len(mount) > len(best):
            best, kind = mount, row[2]
    return kind


def check_timer(ctx: TaskContext) -> dict[str, Any]:
    if not ctx.settings.wake_timer:
        return check("wake_timer", True, info="off (wake_timer setting); retries wait for the "
                     "next hook or task", timer=None)
    key, login = stash_login(ctx)
    if login and not key and not ctx.server_connection.get("ApiKey"):
        return check(
            "wake_timer", False,
            "Stash has a login but no API key, so the wake-up timer can only use the plugin's "
            "session cookie, which Stash refuses after max_session_age (an hour by default): "
            "work due later than that waits for the next edit or task.",
            "In Stash, Settings → Security → API Key → Generate; PlexSync's next task hands it "
            "to the timer.", timer=None)
    failed = ensure_timer(ctx)   # re-arms a killed timer when work is due
    live = timer_status(ctx.data_dir, time.time())
    if live is None:
        due = work_due(ctx.data_dir)
        if due is not None and due > time.time():
            why = f"arming one failed ({failed})" if failed else "none could be started"
            return check(
                "wake_timer", False,
                f"Work is due at {history.iso(due)} and no wake-up timer is alive: {why}; "
                "it waits for the next edit or task.",
                "Make the data directory writable by the user running Stash and move away "
                "anything named in the reason (a folder in place of a wake-timer file); the "
                "next task re-arms the timer.", timer=None)
        return check("wake_timer", True, info="not running (no work due later)", timer=None)
    return check("wake_timer", True, info=f"pid {live['pid']} wakes at "
                 f"{history.iso(float(live['armed_until']))}", timer={
                     "pid": live["pid"], "armed_until": history.iso(float(live["armed_until"]))})


def check_play_import(ctx: TaskContext) -> dict[str, Any]:
    """The Plex → Stash play-state import: off, or its last run and next one (informational:
    an import that failed is retried on its own and says why in the log)."""
    from plexsync.playstate import status as play_status
    from plexsync.queue.job_queue import JobQueue

    if not ctx.settings.import_play_state:
        return check("play_import", True, info="off (import_play_state setting)",
                     play_import=None)
    store = JobQueue.open(ctx.data_dir)
    try:
        block = play_status.status_block(store.read_meta())
    finally:
        store.close()
    return check("play_import", True, info=play_status.status_line(block), play_import=block)


def _short(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:200]
