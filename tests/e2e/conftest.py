"""Shared helpers for end-to-end tests: run plexsync.py exactly as Stash runs it."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from testkit import stash_exec
from testkit.fake_plex import FakePlex
from testkit.fake_stash import FakeStash

ROOT = Path(__file__).resolve().parents[2]
ENTRYPOINT = ROOT / "plexsync.py"
# plexsync.py as Stash starts it: the manifest's exec line (testkit/stash_exec.py).
STASH_COMMAND = stash_exec.command(ROOT)


def stash_command_with(*options: str) -> list[str]:
    """STASH_COMMAND with extra interpreter options (e.g. `-X importtime`) after the binary."""
    return [STASH_COMMAND[0], *options, *STASH_COMMAND[1:]]


@dataclass
class Run:
    answer: dict[str, Any]
    returncode: int
    stderr: str

    @property
    def log_lines(self) -> list[str]:
        return [line[3:] for line in self.stderr.splitlines()
                if len(line) >= 3 and line[0] == "\x01" and line[1] != "p"]


def run_plugin(stdin: dict[str, Any] | str, data_dir: Path, timeout: float = 300) -> Run:
    env = stash_exec.environment(ROOT, PLEXSYNC_DATA_DIR=str(data_dir))
    text = stdin if isinstance(stdin, str) else json.dumps(stdin)
    proc = subprocess.run(STASH_COMMAND, input=text, text=True,
                          capture_output=True, env=env, timeout=timeout, check=False)
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1, f"expected one JSON line on stdout, got {proc.stdout!r}"
    return Run(json.loads(lines[0], parse_constant=_not_json), proc.returncode, proc.stderr)


def _not_json(name: str) -> object:
    """Python's json reads NaN and Infinity; Stash's Go decoder (and the page) does not."""
    raise AssertionError(f"the answer holds {name}, which is not JSON")



def library(stash: FakeStash, plex: FakePlex, n: int, **settings: object) -> list[int]:
    """`n` scenes, each with its file in one Plex section (`/data` in Stash is `/media` in
    Plex), and PlexSync's settings pointing at this Plex; returns the scene ids."""
    plex.add_section(1, "Movies", ["/media"])
    ids = []
    for i in range(n):
        plex.add_item(1, f"/media/s{i}.mp4", size=100 + i)
        ids.append(stash.add_scene(title=f"Scene {i}", details="About it",
                                   files=[{"path": f"/data/s{i}.mp4", "size": 100 + i}]))
    stash.plugin_config["PlexSync"] = {"plex_url": plex.url, "plex_token": plex.token,
                                       "path_map": "/data=/media", **settings}
    return ids

@pytest.fixture
def fakes(tmp_path: Path) -> Iterator[tuple[FakeStash, FakePlex]]:
    with FakeStash(plugin_dir=str(tmp_path / "plugin")) as stash, FakePlex() as plex:
        yield stash, plex
