"""core/site_packages.py: what `python -S` skipped, loaded on demand."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHECK = """
import importlib.util, sys
sys.path.insert(0, sys.argv[1])
from plexsync.core import site_packages
before = importlib.util.find_spec("filelock") is None
site_packages.load()
paths = list(sys.path)
site_packages.load()
print(before, importlib.util.find_spec("filelock") is not None, paths == sys.path)
"""


def run(*options: str) -> str:
    return subprocess.run([sys.executable, *options, "-c", CHECK, str(ROOT)], capture_output=True,
                          text=True, check=True, timeout=60).stdout.strip()


def test_load_makes_site_packages_importable_once_under_minus_s() -> None:
    assert run("-S") == "True True True"


def test_load_is_a_no_op_when_site_already_ran() -> None:
    assert run() == "False True True"
