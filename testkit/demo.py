"""The demo: PlexSync's main job against a fake Stash and a fake Plex, as Stash would run it.

    bash scripts/demo.sh            (or: .venv/bin/python -m testkit.demo --scenes 40)

1. Starts both fakes on loopback and loads a generated library (Stash paths under /data/videos,
   Plex sees them under /media/videos, so path_map matters; a few files are missing from Plex,
   one is ambiguous). Plex items start as a Plex agent leaves them: file name as title.
2. Plays a user editing scenes in Stash: each edit runs `plexsync.py` as a hook subprocess with
   Stash's real stdin JSON, and shows how long the user's save waited.
3. Acts as Stash's job queue: runs every task the hooks scheduled (Process Queue), then Sync All
   Scenes, exactly as Stash would (a subprocess, stdin JSON, stderr log protocol).
4. Prints Plex items before and after, the plugin's log, and the queue status.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from testkit.fake_plex import FakePlex
from testkit.fake_stash import FakeStash
from testkit.world import generate, populate

ROOT = Path(__file__).resolve().parent.parent
ENTRYPOINT = ROOT / "plexsync.py"
LEVELS = {"t": "trace", "d": "debug", "i": "info ", "w": "WARN ", "e": "ERROR", "p": "progress"}


def run_plugin(stdin: dict[str, Any], data_dir: str) -> tuple[dict[str, Any], list[str], float]:
    """Run plexsync.py exactly as Stash does; returns (answer, log lines, seconds)."""
    env = dict(os.environ, PLEXSYNC_DATA_DIR=data_dir)
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, str(ENTRYPOINT)], input=json.dumps(stdin),
                          capture_output=True, text=True, env=env, timeout=600, check=False)
    elapsed = time.perf_counter() - started
    lines = []
    for raw in proc.stderr.splitlines():
        if len(raw) >= 3 and raw[0] == "\x01" and raw[2] == "\x02":
            if raw[1] != "p":
                lines.append(f"{LEVELS.get(raw[1], raw[1])}  {raw[3:]}")
        elif raw.strip():
            lines.append(f"stderr {raw}")
    try:
        answer = json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        answer = {"output": None, "error": f"no JSON answer (exit {proc.returncode})"}
    return answer, lines, elapsed


def plex_rows(plex: FakePlex, files: list[str]) -> list[str]:
    rows = []
    for path in files:
        item = plex.find_by_file(path)
        if item is None:
            rows.append(f"  {Path(path).name:<34} (not in Plex)")
            continue
        genres = ", ".join(item.tags.get("genre", [])[:3]) or "-"
        actors = ", ".join(item.tags.get("actor", [])[:2]) or "-"
        rating = f"{item.user_rating:g}" if item.user_rating is not None else "-"
        rows.append(f"  {item.title[:34]:<34} studio={item.studio or '-':<14} "
                    f"date={item.originally_available_at or '-':<10} rating={rating:<4} "
                    f"genres={genres[:30]:<30} actors={actors[:30]}  "
                    f"locked={len(item.locked)} poster={'yes' if item.poster else 'no'}")
    return rows


def run_scheduled_tasks(stash: FakeStash, done: int, data_dir: str) -> int:
    """Play Stash's job queue: run each task a hook scheduled, in order."""
    runs = stash.task_runs
    for run in runs[done:]:
        args = dict(run.get("args_map") or {})
        print(f"\nStash's job queue runs the scheduled task {run['task_name']!r} {args}:")
        answer, lines, secs = run_plugin(stash.task_input(args), data_dir)
        for line in lines:
            print(f"  {line}")
        print(f"  → {secs:.2f} s, answer: {json.dumps(answer)[:300]}")
    return len(runs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--scenes", type=int, default=30, help="library size (default 30)")
    parser.add_argument("--edits", type=int, default=5, help="scenes the 'user' edits (default 5)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="plexsync-demo-") as tmp, \
            FakeStash(plugin_dir=str(ROOT)) as stash, FakePlex(token="demo-plex-token") as plex:
        data_dir = str(Path(tmp) / "data")
        world = generate(args.scenes)
        ids = populate(world, stash, plex)
        stash.plugin_config["PlexSync"] = {
            "plex_url": plex.url, "plex_token": plex.token, "path_map": world.path_map,
        }
        shown = [s.files[0].plex_path or "" for s in world.scenes[: args.edits + 2]
                 if s.files[0].plex_path]
        print(f"Demo world: {len(world.scenes)} scenes in a fake Stash at {stash.url}, "
              f"a fake Plex at {plex.url}, path_map {world.path_map!r}.")
        print("\nPlex BEFORE (as Plex's own scanner left them):")
        print("\n".join(plex_rows(plex, shown)))

        print(f"\nA user edits {args.edits} scenes in Stash; each save runs the PlexSync hook:")
        for scene in world.scenes[: args.edits]:
            sid = ids[scene.key]
            stash.update_scene(sid, rating100=80)
            stdin = stash.hook_input(sid, input={"id": str(sid), "rating100": 80},
                                     input_fields=["id", "rating100"])
            answer, lines, secs = run_plugin(stdin, data_dir)
            status = answer.get("error") or json.dumps(answer.get("output"))
            print(f"  scene {sid:>3}: the save waited {secs * 1000:5.1f} ms for the hook "
                  f"→ {status}")
        print("\n(Scene 3's file is new: Plex has not scanned it yet. PlexSync asks Plex to scan "
              "just that folder and retries within a minute, so this drain waits ~30-60 s for it.)")
        done = run_scheduled_tasks(stash, 0, data_dir)

        print("\nThe user runs Tasks → PlexSync → Sync All Scenes:")
        answer, lines, secs = run_plugin(stash.task_input({"mode": "sync_all"}), data_dir)
        for line in lines[-12:]:
            print(f"  {line}")
        print(f"  → {secs:.2f} s, answer: {json.dumps(answer)[:300]}")
        done = run_scheduled_tasks(stash, done, data_dir)

        print("\nPlex AFTER:")
        print("\n".join(plex_rows(plex, shown)))

        answer, _, _ = run_plugin(stash.task_input({"mode": "queue_status"}), data_dir)
        print("\nView Queue Status:", json.dumps(answer.get("output") or answer, indent=None)[:900])
        writes = plex.count("PUT")
        print(f"\nPlex received {len(plex.requests)} requests in all, {writes} of them edits.")
        return 0 if not answer.get("error") else 1


if __name__ == "__main__":
    sys.exit(main())
