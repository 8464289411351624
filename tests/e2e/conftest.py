"""Shared helpers for end-to-end tests: run plexsync.py exactly as Stash runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from testkit.fake_plex import FakePlex
from testkit.fake_stash import FakeStash

ROOT = Path(__file__).resolve().parents[2]
ENTRYPOINT = ROOT / "plexsync.py"


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
    env = dict(os.environ, PLEXSYNC_DATA_DIR=str(data_dir))
    text = stdin if isinstance(stdin, str) else json.dumps(stdin)
    proc = subprocess.run([sys.executable, str(ENTRYPOINT)], input=text, text=True,
                          capture_output=True, env=env, timeout=timeout, check=False)
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1, f"expected one JSON line on stdout, got {proc.stdout!r}"
    return Run(json.loads(lines[0]), proc.returncode, proc.stderr)


@pytest.fixture
def fakes(tmp_path: Path) -> Iterator[tuple[FakeStash, FakePlex]]:
    with FakeStash(plugin_dir=str(tmp_path / "plugin")) as stash, FakePlex() as plex:
        yield stash, plex
