"""Build the release once per test session, the way a maintainer does: the build command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "scripts" / "build_release.py"
FIXED_DATE = "2026-01-20 12:00:00"


def run_build(out: Path, script: Path = BUILD, date: str | None = FIXED_DATE) -> str:
    """Run the build command; returns its stdout (it fails the test on a non-zero exit)."""
    argv = [sys.executable, str(script), "--out", str(out)]
    if date is not None:
        argv += ["--date", date]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.fixture(scope="session")
def release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding PlexSync.zip and index.yml, built from this checkout."""
    out = tmp_path_factory.mktemp("release")
    run_build(out)
    return out
