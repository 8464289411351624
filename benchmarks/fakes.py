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

    def stop() -> None:
        plex.stop()
        stash.stop()

    info = {"plex_url": plex.url, "plex_token": plex.token, "path_map": world.path_map,
            "stash": stash.server_connection(), "scene_ids": list(ids.values())}
    commands: Commands = {"edit_all": edit_all, "counts": counts,
                          "clear": plex.clear_requests}
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
