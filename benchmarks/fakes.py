"""The loopback fakes in a child process, so their serving time is not counted as ours.

    with FakeHost("benchmarks.fakes:sync_world", scenes=1000) as host:
        host.info                    # what the builder returned first (URLs, tokens, ids)
        host.call("plex_counts")     # a command the builder registered

A builder is a module-level function `(**kwargs) -> (info, commands, stop)`; it runs in the
child (spawned, so nothing of the parent is inherited) and its commands are served over a pipe
until the parent leaves the `with` block.
"""

from __future__ import annotations

import contextlib
import importlib
import multiprocessing
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

Commands = dict[str, Callable[..., Any]]


def _serve(conn: Any, builder: str, kwargs: dict[str, Any]) -> None:
    from benchmarks.common import on_path

    on_path()
    module, name = builder.split(":")
    info, commands, stop = getattr(importlib.import_module(module), name)(**kwargs)
    conn.send(info)
    try:
        while True:
            message = conn.recv()
            if message is None:
                break
            command, args = message
            conn.send(commands[command](*args))
    finally:
        stop()


class FakeHost:
    def __init__(self, builder: str, **kwargs: Any) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_serve, args=(child, builder, kwargs), daemon=True)
        self.info: Any = None

    def __enter__(self) -> FakeHost:
        self._proc.start()
        self.info = self._conn.recv()
        return self

    def call(self, command: str, *args: Any) -> Any:
        self._conn.send((command, args))
        return self._conn.recv()

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(OSError):
            self._conn.send(None)
        self._proc.join(30)
        if self._proc.is_alive():
            self._proc.kill()
            self._proc.join(5)


# ---------------------------------------------------------------- builders (run in the child)

def stash_only() -> tuple[Any, Commands, Callable[[], None]]:
    """A fake Stash that timestamps every runPluginTask request on arrival (before serving)."""
    from testkit.fake_stash import FakeStash

    stash = FakeStash().start()
    arrivals: list[float] = []
    dispatch = stash._dispatch

    def timed_dispatch(handler: Any) -> None:
        arrivals.append(time.time())
        dispatch(handler)

    stash._dispatch = timed_dispatch  # type: ignore[method-assign]
    commands: Commands = {
        "task_runs": lambda: len(stash.task_runs),
        "arrivals": lambda: list(arrivals),
        "hook_input": lambda scene_id: stash.hook_input(
            scene_id, input={"id": str(scene_id), "title": "A title"},
            input_fields=["id", "title"]),
        "object_hook_input": lambda performer_id: stash.hook_input(
            performer_id, "Performer.Update.Post",
            input={"id": str(performer_id), "name": "A new name"}, input_fields=["id", "name"]),
    }
    return stash.server_connection(), commands, stash.stop


def _classify(method: str, path: str) -> str:
    if path.startswith("/library/metadata/") and method == "GET":
        return "read"
    if (path.startswith("/library/metadata/") and method == "POST") or method == "PUT":
        return "write"
    return "other"


def sync_world(scenes: int) -> tuple[Any, Commands, Callable[[], None]]:
    """Both fakes with a generated world of `scenes` scenes (testkit.world)."""
    from testkit.fake_plex import FakePlex
    from testkit.fake_stash import FakeStash
    from testkit.world import generate, populate

    plex, stash = FakePlex().start(), FakeStash().start()
    world = generate(scenes)
    ids = populate(world, stash, plex)

    def edit_all() -> None:
        for sid in ids.values():
            stash.update_scene(sid, title=f"{stash.scene(sid)['title']} (edited)")

    def counts() -> dict[str, int]:
        kinds = Counter(_classify(r.method, r.path) for r in plex.requests)
        return {"read": kinds["read"], "write": kinds["write"], "total": sum(kinds.values())}

    def clear() -> None:
        plex.clear_requests()
        stash.clear_requests()

    def stash_posts() -> list[tuple[str, dict[str, Any]]]:
        """The GraphQL documents Stash served since `clear`, with their variables, in order."""
        return [(r.query, r.variables) for r in stash.requests]

    def stop() -> None:
        plex.stop()
        stash.stop()

    info = {"plex_url": plex.url, "plex_token": plex.token, "path_map": world.path_map,
            "stash": stash.server_connection(), "scene_ids": list(ids.values())}
    commands: Commands = {"edit_all": edit_all, "counts": counts, "clear": clear,
                          "stash_posts": stash_posts}
    return info, commands, stop


def index_path(i: int) -> str:
    return f"/media/videos/studio-{i % 300:03d}/year-{2000 + i % 25}/scene-{i:06d}-a-title.mp4"


def plex_section(items: int) -> tuple[Any, Commands, Callable[[], None]]:
    """A fake Plex with one section of `items` movies, filled directly (the fake's `add_item`
    checks every existing item for a duplicate path: O(n) per call)."""
    from testkit.fake_plex import FakePlex, ItemState

    plex = FakePlex().start()
    plex.add_section(1, "Movies", ["/media/videos"])
    now = int(time.time())
    with plex._lock:
        for i in range(1, items + 1):
            plex._items[i] = ItemState(
                rating_key=i, section_id=1, title=f"scene {i:06d}",
                files=[(index_path(i), 1_000_000 + i, 600_000 + i)], added_at=now,
                updated_at=now,
                tags={"genre": ["Drama", "Night"], "actor": ["Ada"], "collection": [],
                      "label": [], "director": [], "writer": [], "producer": [], "country": []})
        plex._next_rk = items + 1
    commands: Commands = {
        "listing_gets": lambda: plex.count("GET", "/library/sections/1/all"),
        "clear": plex.clear_requests,
        "items": lambda: items,
    }
    return (plex.url, plex.token), commands, plex.stop


def _env_without_probe_overrides() -> dict[str, str]:
    """PlexSync's environment with the product's real probe schedule (5 s → 60 s): the test
    suite's `PLEXSYNC_PROBE_*` shortcuts never leak into a measurement."""
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("PLEXSYNC_PROBE_")}


def outage_world(scenes: int, data_dir: str) -> tuple[Any, Commands, Callable[[], None]]:
    """Both fakes with `scenes` generated scenes whose files Plex has (testkit.world's plain
    scenes), and Stash's plugin job runner (testkit.stash_jobs): every runPluginTask request
    (from a hook, a task or the wake-up timer) runs `plexsync.py` as Stash starts it
    (testkit/stash_exec.py) with `data_dir` as its data folder, one task at a time. The
    commands are the outage's steps (benchmarks/outage.py); `report` is what the fakes saw,
    for its checks."""
    import json
    import subprocess

    from testkit import stash_exec
    from testkit.fake_plex import FakePlex
    from testkit.fake_stash import FakeStash
    from testkit.stash_jobs import ROOT, PluginJobs
    from testkit.world import World, generate, populate

    generated = generate(scenes + 7)            # 7 special cases (absent, ambiguous, ...)
    plain = [s for s in generated.scenes if s.kind == "plain"][:scenes]
    world = World(scenes=plain, stash_root=generated.stash_root, plex_root=generated.plex_root)
    plex, stash = FakePlex().start(), FakeStash().start()
    ids = list(populate(world, stash, plex).values())
    plex_paths = {sid: s.files[0].plex_path for sid, s in zip(ids, plain, strict=True)}
    stash.plugin_config["PlexSync"] = {"plex_url": plex.url, "plex_token": plex.token,
                                       "path_map": world.path_map}
    env = stash_exec.environment(ROOT, _env_without_probe_overrides(),
                                 PLEXSYNC_DATA_DIR=data_dir)
    jobs = PluginJobs(stash, data_dir, env=env, timeout=1800).start()

    def enqueue_all() -> None:
        _enqueue(data_dir, ids)

    def run_plugin(document: dict[str, Any]) -> dict[str, Any]:
        proc = subprocess.run(stash_exec.command(ROOT), input=json.dumps(document),
                              capture_output=True, text=True, env=env, timeout=1800,
                              check=False)
        lines = proc.stdout.strip().splitlines()
        if proc.returncode != 0 or not lines:
            raise RuntimeError(f"plexsync.py exited {proc.returncode}: {proc.stderr[-2000:]}")
        answer: dict[str, Any] = json.loads(lines[-1])
        return answer

    def first_sync() -> dict[str, Any]:
        """Set-up: every scene synced once while Plex is up (Process Queue run directly)."""
        enqueue_all()
        return run_plugin(stash.task_input({"mode": "process_queue"}))

    def outage() -> dict[str, Any]:
        """Plex goes away (connection refused, as during a restart); every scene is edited in
        Stash and queued; the last edit's hook (a real hook process) asks Stash for Process
        Queue, which meets the outage."""
        plex.go_down()
        for sid in ids:
            stash.update_scene(sid, title=f"{stash.scene(sid)['title']} (edited)")
        enqueue_all()
        last = ids[-1]
        return run_plugin(stash.hook_input(
            last, input={"id": str(last), "title": stash.scene(last)["title"]},
            input_fields=["id", "title"]))

    def plex_up() -> float:
        plex.come_up()
        return time.time()

    def runs() -> list[dict[str, Any]]:
        return [{"mode": r.mode, "requested_at": r.requested_at, "started_at": r.started_at,
                 "ended_at": r.ended_at, "returncode": r.returncode, "answer": r.answer,
                 "stderr_tail": r.stderr[-1500:]} for r in jobs.runs]

    def report(since: float) -> dict[str, Any]:
        offset = time.time() - time.monotonic()   # the request log is stamped in monotonic time
        edits = [r.at + offset for r in plex.requests
                 if r.method == "PUT" and r.path.startswith("/library/sections/")]
        wrong = []
        for sid, path in plex_paths.items():
            item = plex.find_by_file(path) if path else None
            want = stash.scene(sid)["title"]
            if item is None or item.title != want:
                wrong.append(f"scene {sid}: Plex has {item.title if item else None!r}, "
                             f"Stash {want!r}")
        return {
            "edits_since": sorted(t for t in edits if t >= since),
            "wrong": wrong,
            "runs": runs(),
        }

    def stop() -> None:
        jobs.stop()
        plex.stop()
        stash.stop()

    commands: Commands = {"first_sync": first_sync, "outage": outage, "plex_up": plex_up,
                          "report": report, "runs": runs, "pending_runs": jobs.pending}
    return {"scene_ids": ids}, commands, stop


def stash_restart_world(scenes: int, data_dir: str) -> tuple[Any, Commands, Callable[[], None]]:
    """Both fakes with `scenes` plain scenes and Stash's plugin job runner (as `outage_world`),
    for Stash going away in the middle of a Process Queue and coming back
    (benchmarks/stash_restart.py). The product's real Stash retry schedule (5 s → 60 s): the
    test suite's `PLEXSYNC_STASH_RETRY_*` shortcuts are removed from the environment."""
    import json
    import os
    import subprocess
    import threading

    from testkit import stash_exec
    from testkit.fake_plex import FakePlex
    from testkit.fake_stash import FakeStash
    from testkit.stash_jobs import ROOT, PluginJobs
    from testkit.world import World, generate, populate

    generated = generate(scenes + 7)
    plain = [s for s in generated.scenes if s.kind == "plain"][:scenes]
    world = World(scenes=plain, stash_root=generated.stash_root, plex_root=generated.plex_root)
    plex, stash = FakePlex().start(), FakeStash().start()
    ids = list(populate(world, stash, plex).values())
    stash.plugin_config["PlexSync"] = {"plex_url": plex.url, "plex_token": plex.token,
                                       "path_map": world.path_map}
    base = {k: v for k, v in os.environ.items() if not k.startswith("PLEXSYNC_")}
    env = stash_exec.environment(ROOT, base, PLEXSYNC_DATA_DIR=data_dir)
    jobs = PluginJobs(stash, data_dir, env=env, timeout=1800).start()

    def restart_mid_drain(after_edits: int) -> dict[str, Any]:
        """Queue every scene and run Process Queue; Stash goes away once `after_edits` edits
        reached Plex (Plex answers a little slowly, so the drain is mid-way then)."""
        _enqueue(data_dir, ids)
        plex.set_delay(0.02)

        def watch() -> None:
            while plex.count("PUT") < after_edits:
                time.sleep(0.005)
            stash.go_down()
        threading.Thread(target=watch, daemon=True).start()
        proc = subprocess.run(stash_exec.command(ROOT),
                              input=json.dumps(stash.task_input({"mode": "process_queue"})),
                              capture_output=True, text=True, env=env, timeout=1800,
                              check=False)
        plex.set_delay(0)
        lines = proc.stdout.strip().splitlines()
        answer: dict[str, Any] = json.loads(lines[-1]) if lines else {"stderr": proc.stderr}
        return answer

    def stash_up() -> float:
        stash.come_up()
        return time.time()

    def runs() -> list[dict[str, Any]]:
        return [{"mode": r.mode, "returncode": r.returncode, "answer": r.answer}
                for r in jobs.runs]

    def stop() -> None:
        jobs.stop()
        plex.stop()
        stash.stop()

    commands: Commands = {"restart_mid_drain": restart_mid_drain, "stash_up": stash_up,
                          "runs": runs, "pending_runs": jobs.pending}
    return {"scene_ids": ids}, commands, stop


def _enqueue(data_dir: str, ids: list[int]) -> None:
    """Queue every scene as one save each would (a hook job, due now)."""
    from plexsync.queue.enums import JobSource
    from plexsync.queue.job_queue import JobQueue

    now = time.time()
    store = JobQueue.open(data_dir, clock=lambda: now)
    try:
        for sid in ids:
            store.enqueue(sid, now, JobSource.HOOK)
    finally:
        store.close()
