"""Install the released zip as Stash's package manager does, then run it against the fakes.

Only the zip's own files are used: the plugin folder is a fresh unzip, Stash's working directory
is elsewhere, PYTHONPATH holds only the plugins root (as Stash sets it), and the data directory is
the plugin's default (`<plugin folder>/data`), so a file missing from the zip fails this test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

from testkit import stash_exec
from testkit.fake_plex import FakePlex
from testkit.fake_stash import FakeStash
from testkit.world import generate, populate


def unzip_like_stash(zip_path: Path, package_dir: Path) -> None:
    """Stash's installer: skip directory entries, write each file under the package folder."""
    with zipfile.ZipFile(zip_path) as archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            target = package_dir / os.path.normpath(info.filename)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(archive.read(info))
            target.chmod((info.external_attr >> 16) & 0o777)


def run_as_stash(plugin_dir: Path, stash_cwd: Path, stdin: dict[str, Any]) -> dict[str, Any]:
    env = stash_exec.environment(plugin_dir, {
        k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PLEXSYNC_DATA_DIR")})
    # the unzipped manifest's exec line, as Stash reads it
    proc = subprocess.run(stash_exec.command(plugin_dir),
                          input=json.dumps(stdin), text=True, capture_output=True, env=env,
                          cwd=stash_cwd, timeout=300, check=False)
    assert proc.returncode == 0, (proc.stdout, proc.stderr)
    answer = json.loads(proc.stdout)
    assert isinstance(answer, dict) and answer["error"] is None, answer
    return answer


def test_unzipped_plugin_runs_its_hook_and_process_queue_from_its_own_files(
    release: Path, tmp_path: Path
) -> None:
    plugin_dir = tmp_path / "config" / "plugins" / "community" / "PlexSync"
    unzip_like_stash(release / "PlexSync.zip", plugin_dir)
    stash_cwd = tmp_path / "stash-cwd"
    stash_cwd.mkdir()
    # The package Stash's Python imports is the unzipped one, not this checkout's.
    where = subprocess.run(
        [sys.executable, "-c", "import sys; sys.path.insert(0, sys.argv[1]); "
         "import plexsync; print(plexsync.__file__)", str(plugin_dir)],
        cwd=stash_cwd, capture_output=True, text=True, check=True,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"}).stdout.strip()
    assert Path(where).is_relative_to(plugin_dir)

    world = generate(3)
    with FakeStash(plugin_dir=str(plugin_dir)) as stash, FakePlex() as plex:
        ids = populate(world, stash, plex)
        stash.plugin_config["PlexSync"] = {"plex_url": plex.url, "plex_token": plex.token,
                                           "path_map": world.path_map}
        scene = world.scenes[0]
        sid = ids[scene.key]
        hook = run_as_stash(plugin_dir, stash_cwd, stash.hook_input(
            sid, input={"id": str(sid), "title": scene.title}, input_fields=["id", "title"]))
        assert hook["output"] is not None
        assert len(stash.task_runs) == 1  # the hook scheduled Process Queue
        run_as_stash(plugin_dir, stash_cwd, stash.task_input(dict(stash.task_runs[0]["args_map"])))
        plex_path = scene.files[0].plex_path
        assert plex_path is not None
        item = plex.find_by_file(plex_path)
        assert item is not None and item.title == scene.title and item.summary == scene.details
    # State went to the plugin's own data folder, beside the unzipped files.
    assert (plugin_dir / "data" / "plexsync.db").is_file()
