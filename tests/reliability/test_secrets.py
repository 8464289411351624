"""Secrets: a sync with a distinctive Plex token, Stash API key and session cookie leaves no
trace of any of them in stdout, stderr (debug logging on), any file of the data directory, or
any process's command line while the plugin runs."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from testkit.fake_plex import FakePlex
from testkit.fake_stash import FakeStash
from tests.e2e.conftest import STASH_COMMAND
from tests.reliability.conftest import PLEX_ROOT, STASH_ROOT, ps_command_lines

pytestmark = pytest.mark.plex_offspec("one run meets a hostile proxy on purpose")

TOKEN = "PLEXTOKEN-zq7Xv93kLmW2"
API_KEY = "STASHAPIKEY-Jr84nQpd0Ts"
COOKIE = "SESSIONCOOKIE-h3Wq0aPzN5"
SECRETS = (TOKEN, API_KEY, COOKIE)


def _run(stdin: dict[str, object], data_dir: Path, seen: list[str],
         umask: int | None = None) -> tuple[str, str]:
    env = dict(os.environ, PLEXSYNC_DATA_DIR=str(data_dir))
    proc = subprocess.Popen(STASH_COMMAND, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            preexec_fn=None if umask is None else lambda: os.umask(umask))
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    proc.stdin.write(json.dumps(stdin))
    proc.stdin.close()
    while proc.poll() is None:   # look at every command line while it runs
        seen.extend(ps_command_lines())
        time.sleep(0.05)
    out, err = proc.stdout.read(), proc.stderr.read()
    proc.wait()
    return out, err


def test_no_secret_reaches_output_logs_files_or_command_lines(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    seen: list[str] = []
    texts: list[str] = []
    with FakeStash(api_key=API_KEY, session_cookie=COOKIE,
                   plugin_dir=str(tmp_path / "plugin")) as stash, FakePlex(token=TOKEN) as plex:
        plex.add_section(1, "Movies", [PLEX_ROOT])
        sids = []
        for i in range(5):
            sids.append(stash.add_scene(title=f"Secret-free {i}", files=[
                {"path": f"{STASH_ROOT}/{i}.mp4", "size": 10 + i, "duration": 5.0}]))
            plex.add_item(1, f"{PLEX_ROOT}/{i}.mp4", size=10 + i, duration_ms=5000)
        stash.plugin_config["PlexSync"] = {"plex_url": plex.url, "plex_token": TOKEN,
                                           "path_map": f"{STASH_ROOT}={PLEX_ROOT}",
                                           "debug_logging": True}
        runs = [stash.hook_input(sids[0], input={"id": str(sids[0]), "title": "x"},
                                 input_fields=["id", "title"]),
                stash.task_input({"mode": "sync_all"}),
                stash.task_input({"mode": "queue_status"})]
        for stdin in runs:
            texts.extend(_run(stdin, data_dir, seen))
        plex.hostile.add("status", path="/", status=403)     # an error path logs too
        texts.extend(_run(stash.task_input({"mode": "sync_all"}), data_dir, seen))
        plex.hostile.clear()
        plex.hostile.add("redirect", method="PUT", path=r"/library/sections/\d+/all")
        stash.update_scene(sids[1], title="changed")
        texts.extend(_run(stash.task_input({"mode": "sync_recent"}), data_dir, seen))
        assert plex.item(1).title == "Secret-free 0"   # the sync really ran with the token
    files = [p for p in data_dir.rglob("*") if p.is_file()]
    assert files, "the data directory should hold state"
    blobs = [p.read_bytes() for p in files]
    assert seen, "command lines were sampled"
    for secret in SECRETS:
        assert not any(secret in t for t in texts), f"{secret} in stdout/stderr"
        assert not any(secret.encode() in b for b in blobs), f"{secret} in a data file"
        assert not any(secret in line for line in seen), f"{secret} on a command line"


# Every place a user may paste the Plex token (docs/reliability.md, "Secrets"): the token
# setting, Plex's "View XML" link as plex_url, userinfo in plex_url, and the v0.1 keys.
def _pastes(plex: FakePlex) -> dict[str, dict[str, object]]:
    host = f"127.0.0.1:{plex.port}"
    return {
        "plex_token": {"plex_url": plex.url, "plex_token": TOKEN},
        "plex_url_query": {"plex_url": f"{plex.url}/library/sections?X-Plex-Token={TOKEN}"},
        "plex_url_query_and_token": {"plex_url": f"{plex.url}/?X-Plex-Token={TOKEN}",
                                     "plex_token": TOKEN},
        "plex_url_userinfo": {"plex_url": f"http://plex:{TOKEN}@{host}", "plex_token": TOKEN},
        "legacy_token": {"plexHost": "127.0.0.1", "plexPort": str(plex.port),
                         "plexToken": TOKEN},
        "legacy_host_query": {"plexHost": f"http://{host}/?X-Plex-Token={TOKEN}",
                              "plexToken": TOKEN},
    }


PASTE_PLACES = ("plex_token", "plex_url_query", "plex_url_query_and_token",
                "plex_url_userinfo", "legacy_token", "legacy_host_query")


def _environ(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/environ").read_bytes().replace(b"\0", b"\n").decode(
            errors="replace")
    except OSError:
        return ""


@pytest.mark.time_limit(150)
@pytest.mark.parametrize("place", PASTE_PLACES)
def test_a_token_pasted_anywhere_reaches_no_output_page_answer_state_file_or_timer(
        tmp_path: Path, place: str) -> None:
    from plexsync.timer import state as timer_state

    data_dir = tmp_path / "data"
    seen: list[str] = []
    texts: list[str] = []
    environments: list[str] = []
    with FakeStash(api_key=API_KEY, session_cookie=COOKIE,
                   plugin_dir=str(tmp_path / "plugin")) as stash, FakePlex(token=TOKEN) as plex:
        plex.add_section(1, "Movies", [PLEX_ROOT])
        sid = stash.add_scene(title="Pasted", files=[
            {"path": f"{STASH_ROOT}/p.mp4", "size": 10, "duration": 5.0}])
        plex.add_item(1, f"{PLEX_ROOT}/p.mp4", size=10, duration_ms=5000)
        stash.plugin_config["PlexSync"] = {**_pastes(plex)[place], "debug_logging": True,
                                           "path_map": f"{STASH_ROOT}={PLEX_ROOT}"}
        # Stash cannot save the defaults PlexSync writes back: stashapi logs the request's
        # variables (the whole settings map) on every task.
        stash.configure_plugin_error = "open /root/.stash/config.yml: permission denied"
        page = {"mode": "page_status"}
        runs = [stash.hook_input(sid, input={"id": str(sid), "title": "x"},
                                 input_fields=["id", "title"]),
                stash.task_input({"mode": "health_check", "ui_request": "r1"}),
                stash.task_input({"mode": "sync_all", "ui_request": "r2"}),
                stash.task_input(page)]
        for stdin in runs:
            texts.extend(_run(stdin, data_dir, seen))
        plex.stop()   # Plex goes away: the breaker opens, records plex_url, arms the timer
        stash.update_scene(sid, title="changed")
        for stdin in (stash.hook_input(sid, input={"id": str(sid), "title": "changed"},
                                       input_fields=["id", "title"]),
                      stash.task_input({"mode": "process_queue", "ui_request": "r3"}),
                      stash.task_input({"mode": "outage_summary"}), stash.task_input(page)):
            texts.extend(_run(stdin, data_dir, seen))
        pid = timer_state.read_state(str(data_dir)).get("pid")
        if isinstance(pid, int):
            environments.append(_environ(pid))
            seen.extend(ps_command_lines())
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
    for text in texts:
        assert TOKEN not in text and API_KEY not in text and COOKIE not in text, text[-2000:]
    for path in (p for p in data_dir.rglob("*") if p.is_file()):
        blob = path.read_bytes()
        assert TOKEN.encode() not in blob, path.name
        if path.name != timer_state.CREDENTIALS_FILE:   # the one owner-only home of these
            assert API_KEY.encode() not in blob and COOKIE.encode() not in blob, path.name
    for line in seen + environments:
        assert TOKEN not in line and API_KEY not in line and COOKIE not in line
    assert any('"health_check"' in t for t in texts), "the page answer holds the task results"
    assert (data_dir / "task-results.json").is_file()
    if place in ("plex_token", "legacy_token"):   # a working setup: Plex's outage was recorded
        assert "plex_url" in (data_dir / "breaker.json").read_text()
        assert environments, "the outage armed the wake-up timer"
    else:   # the token in an address: refused, and the page says why
        assert "holds more than a" in (data_dir / "task-results.json").read_text()


@pytest.mark.time_limit(120)
def test_everything_plexsync_creates_is_owner_only_under_umask_000(tmp_path: Path) -> None:
    import stat

    from plexsync.timer import state as timer_state

    data_dir = tmp_path / "data"
    data_dir.mkdir()
    data_dir.chmod(0o777)   # an existing loose folder: made owner-only, with a warning
    texts: list[str] = []
    with FakeStash(api_key=API_KEY, session_cookie=COOKIE,
                   plugin_dir=str(tmp_path / "plugin")) as stash, FakePlex(token=TOKEN) as plex:
        plex.add_section(1, "Movies", [PLEX_ROOT])
        sid = stash.add_scene(title="Loose", files=[
            {"path": f"{STASH_ROOT}/l.mp4", "size": 10, "duration": 5.0}])
        plex.add_item(1, f"{PLEX_ROOT}/l.mp4", size=10, duration_ms=5000)
        stash.plugin_config["PlexSync"] = {"plex_url": plex.url, "plex_token": TOKEN,
                                           "path_map": f"{STASH_ROOT}={PLEX_ROOT}"}
        hook = stash.hook_input(sid, input={"id": str(sid), "title": "x"},
                                input_fields=["id", "title"])
        for stdin in (hook, stash.task_input({"mode": "sync_all"})):
            texts.extend(_run(stdin, data_dir, [], umask=0))
        plex.stop()   # the breaker's file, the timer's credentials, state and log files
        stash.update_scene(sid, title="changed")
        for stdin in (hook, stash.task_input({"mode": "process_queue"})):
            texts.extend(_run(stdin, data_dir, [], umask=0))
        pid = timer_state.read_state(str(data_dir)).get("pid")
        if isinstance(pid, int):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
    assert any("was open to other users (mode 777); made it owner-only" in t for t in texts)
    loose = {str(p.relative_to(data_dir)): oct(stat.S_IMODE(p.lstat().st_mode))
             for p in [data_dir, *data_dir.rglob("*")]
             if stat.S_IMODE(p.lstat().st_mode) != (0o700 if p.is_dir() else 0o600)}
    assert loose == {}
    assert (data_dir / timer_state.CREDENTIALS_FILE).is_file()
    assert (data_dir / "index").is_dir()


@pytest.mark.time_limit(120)
def test_the_wake_up_timer_inherits_no_credential_from_a_command_line_task(
        tmp_path: Path) -> None:
    # The CLI reads the API key from PLEXSYNC_STASH_API_KEY; the timer it spawns must not carry
    # it (nor any other secret) in its environment: it reads its own owner-only file.
    from plexsync.timer import state as timer_state
    from tests.e2e.conftest import ROOT

    data_dir = tmp_path / "data"
    with FakeStash(api_key=API_KEY, session_cookie=COOKIE,
                   plugin_dir=str(tmp_path / "plugin")) as stash, FakePlex(token=TOKEN) as plex:
        plex.add_section(1, "Movies", [PLEX_ROOT])
        sid = stash.add_scene(title="Cli", files=[
            {"path": f"{STASH_ROOT}/c.mp4", "size": 10, "duration": 5.0}])
        stash.plugin_config["PlexSync"] = {"plex_url": plex.url, "plex_token": TOKEN,
                                           "path_map": f"{STASH_ROOT}={PLEX_ROOT}"}
        _run(stash.hook_input(sid, input={"id": str(sid), "title": "x"},
                              input_fields=["id", "title"]), data_dir, [])
        plex.stop()
        env = dict(os.environ, PLEXSYNC_DATA_DIR=str(data_dir),
                   PLEXSYNC_STASH_API_KEY=API_KEY, PLEXSYNC_PASTED_TOKEN=TOKEN)
        proc = subprocess.run([STASH_COMMAND[0], str(ROOT / "plexsync.py"), "process_queue",
                               "--stash-url", stash.url], env=env, capture_output=True,
                              text=True, timeout=90, check=False)
        pid = timer_state.read_state(str(data_dir)).get("pid")
        assert isinstance(pid, int), proc.stderr
        environment = _environ(pid)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    assert environment, "the timer was running"
    assert API_KEY not in environment and TOKEN not in environment
    assert API_KEY not in proc.stdout + proc.stderr and TOKEN not in proc.stdout + proc.stderr
