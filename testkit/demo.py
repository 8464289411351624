"""The demo: PlexSync's main job against a fake Stash and a fake Plex, as Stash would run it.

    bash scripts/demo.sh            (or: .venv/bin/python -m testkit.demo --scenes 40)

1. Starts both fakes on loopback and loads a generated library (Stash paths under /data/videos,
   Plex sees them under /media/videos, so path_map matters; a few files are missing from Plex,
   one is ambiguous). Plex items start as a Plex agent leaves them: file name as title.
2. Plays a user editing scenes in Stash: each edit runs `plexsync.py` as a hook subprocess with
   Stash's real stdin JSON, and shows how long the user's save waited.
3. Acts as Stash's job queue (`testkit/stash_jobs.py`): runs every task the plugin asks Stash
   for (Process Queue), one at a time, exactly as Stash would (a subprocess, stdin JSON, stderr
   log protocol). Process Queue ends when nothing is due now, so Stash's queue stays free.
4. One file is new to Plex: PlexSync asks Plex to scan its folder, and the retry is due later.
   The user runs Sync All Scenes meanwhile; then the wake-up timer (a small background process)
   asks Stash for Process Queue when the retry comes due, and the scene lands in Plex with no
   further edit.
5. Prints Plex items before and after, the plugin's log, and the queue status.
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

from testkit import stash_exec
from testkit.fake_plex import FakePlex
from testkit.fake_stash import FakeStash
from testkit.stash_jobs import JobRun, PluginJobs
from testkit.world import generate, populate

ROOT = Path(__file__).resolve().parent.parent
LEVELS = {"t": "trace", "d": "debug", "i": "info ", "w": "WARN ", "e": "ERROR", "p": "progress"}


def log_lines(stderr: str) -> list[str]:
    lines = []
    for raw in stderr.splitlines():
        if len(raw) >= 3 and raw[0] == "\x01" and raw[2] == "\x02":
            if raw[1] != "p":
                lines.append(f"{LEVELS.get(raw[1], raw[1])}  {raw[3:]}")
        elif raw.strip():
            lines.append(f"stderr {raw}")
    return lines


def run_plugin(stdin: dict[str, Any], data_dir: str) -> tuple[dict[str, Any], list[str], float]:
    """Run plexsync.py exactly as Stash does; returns (answer, log lines, seconds)."""
    env = stash_exec.environment(ROOT, PLEXSYNC_DATA_DIR=data_dir)
    started = time.perf_counter()
    proc = subprocess.run(stash_exec.command(ROOT), input=json.dumps(stdin),
                          capture_output=True, text=True, env=env, timeout=600, check=False)
    elapsed = time.perf_counter() - started
    lines = log_lines(proc.stderr)
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


def show_runs(jobs: PluginJobs, shown: int, who: str) -> int:
    """Print the task runs Stash's job queue finished since `shown`; returns the new count."""
    runs: list[JobRun] = list(jobs.runs)
    for run in runs[shown:]:
        print(f"\nStash's job queue ran {run.task_name!r} {run.args} ({who}):")
        for line in log_lines(run.stderr):
            print(f"  {line}")
        print(f"  → {run.seconds:.2f} s in Stash's queue, answer: {json.dumps(run.answer)[:300]}")
    return len(runs)


def timer_line(data_dir: str) -> str:
    """What the status JSON says about the wake-up timer, and what `ps` shows for it."""
    from plexsync.timer.arm import command
    from plexsync.timer.state import timer_status

    live = timer_status(data_dir, time.time())
    if live is None:
        return "no wake-up timer is armed"
    when = time.strftime("%H:%M:%S", time.localtime(live["armed_until"]))
    return (f"the wake-up timer (pid {live['pid']}) asks Stash for Process Queue at {when}, "
            f"in {max(0.0, live['armed_until'] - time.time()):.0f} s; `ps` shows it as: "
            f"{' '.join(Path(p).name if i == 0 else p for i, p in enumerate(command(data_dir)))}")


def end_timer(data_dir: str) -> None:
    """The demo's data folder is about to vanish: stop a timer still armed for it."""
    import signal

    from plexsync.timer.state import timer_status

    live = timer_status(data_dir, time.time())
    if live is not None:
        os.kill(live["pid"], signal.SIGTERM)


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

        print(f"\nA user edits {args.edits} scenes in Stash; each save runs the PlexSync hook, "
              "and Stash's job queue runs the Process Queue it asks for:")
        jobs = PluginJobs(stash, data_dir).start()
        try:
            for scene in world.scenes[: args.edits]:
                sid = ids[scene.key]
                stash.update_scene(sid, rating100=80)
                stdin = stash.hook_input(sid, input={"id": str(sid), "rating100": 80},
                                         input_fields=["id", "rating100"])
                answer, lines, secs = run_plugin(stdin, data_dir)
                status = answer.get("error") or json.dumps(answer.get("output"))
                print(f"  scene {sid:>3}: the save waited {secs * 1000:5.1f} ms for the hook "
                      f"→ {status}")
            jobs.wait_idle(600)
            ran = show_runs(jobs, 0, "asked for by the hook")
            print("\nScene 3's file is new: Plex has not scanned it yet. PlexSync asked Plex to "
                  "scan just that folder and queued a retry. Process Queue did not wait for it: "
                  "Stash's job queue is free for your scans. Instead, "
                  f"{timer_line(data_dir)}.")

            print("\nMeanwhile the user runs Tasks → PlexSync → Sync All Scenes:")
            answer, lines, secs = run_plugin(stash.task_input({"mode": "sync_all"}), data_dir)
            for line in lines[-12:]:
                print(f"  {line}")
            print(f"  → {secs:.2f} s, answer: {json.dumps(answer)[:300]}")

            absent = [s for s in world.scenes[: args.edits] if s.kind == "absent"]
            if absent:
                target = world.plex_root + absent[0].files[0].stash_path[len(world.stash_root):]
                print(f"\nNo edit, no task from the user now: {timer_line(data_dir)}.")
                deadline = time.monotonic() + 180
                while time.monotonic() < deadline:
                    item = plex.find_by_file(target)
                    if item is not None and item.title == absent[0].title:
                        break
                    time.sleep(0.5)
                jobs.wait_idle(120)
                show_runs(jobs, ran, "asked for by the wake-up timer")
                landed = plex.find_by_file(target)
                print(f"\nScene 3 in Plex now: {landed.title if landed else '(still missing)'}")
        finally:
            jobs.stop()
            end_timer(data_dir)

        print("\nPlex AFTER:")
        print("\n".join(plex_rows(plex, shown)))

        answer, _, _ = run_plugin(stash.task_input({"mode": "queue_status"}), data_dir)
        print("\nView Queue Status:", json.dumps(answer.get("output") or answer, indent=None)[:900])
        writes = plex.count("PUT")
        print(f"\nPlex received {len(plex.requests)} requests in all, {writes} of them edits.")
        return 0 if not answer.get("error") else 1


if __name__ == "__main__":
    sys.exit(main())
