"""How Stash starts PlexSync's process: the manifest's `exec` line, as Stash builds it.

Stash reads `exec` from `PlexSync.yml`: when its first element is exactly `python` or
`python3` it is replaced by Stash's `pythonPath` setting (here: the Python running the tests),
`{pluginDir}` is substituted in the other elements, and the plugins root (the parent of the
plugin's folder) is appended to `PYTHONPATH`. Every test, fake and benchmark that runs
`plexsync.py` "as Stash does" goes through `command()` and `environment()`, so a change to the
manifest's exec line (such as `-S`, docs/performance.md) is what they all run.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = "PlexSync.yml"


def exec_line(plugin_dir: Path | str = ROOT) -> list[str]:
    """The manifest's `exec` list, unresolved."""
    with open(Path(plugin_dir) / MANIFEST, encoding="utf-8") as fh:
        manifest = yaml.safe_load(fh)
    line = manifest.get("exec") if isinstance(manifest, dict) else None
    if not isinstance(line, list) or not line or not all(isinstance(a, str) for a in line):
        raise ValueError(f"{MANIFEST} in {plugin_dir} has no exec list of strings")
    return line


def command(plugin_dir: Path | str = ROOT, *args: str, python: str = sys.executable) -> list[str]:
    """The argv Stash runs for this plugin folder; `args` follow (the command line's tasks)."""
    first, *rest = exec_line(plugin_dir)
    binary = python if first in ("python", "python3") else first
    return [binary, *(a.replace("{pluginDir}", str(plugin_dir)) for a in rest), *args]


def environment(plugin_dir: Path | str = ROOT,
                base: Mapping[str, str] | None = None, **extra: str) -> dict[str, str]:
    """`base` (default: this process's environment) with the plugins root appended to
    PYTHONPATH, as Stash does, and `extra` on top."""
    env = dict(os.environ if base is None else base)
    root = str(Path(plugin_dir).resolve().parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (env.get("PYTHONPATH"), root) if p)
    env.update(extra)
    return env
