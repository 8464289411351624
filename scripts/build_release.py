"""Build PlexSync's plugin-manager release: `<out>/PlexSync.zip` and `<out>/index.yml`.

    .venv/bin/python scripts/build_release.py [--out dist] [--date "2026-01-20 12:00:00"]

Stash's package manager (Settings → Plugins → Available Plugins → Add Source) reads `index.yml`,
a YAML list of packages (`id, name, version, date, path, sha256, requires, metadata`), downloads
the zip named by `path` relative to the index, checks its sha256 and unzips it into
`<plugins>/<source local_path>/<id>/`. See docs/design.md#release-packaging.

What the zip holds is exactly what Stash needs at run time: the manifest `PlexSync.yml` at the
zip root (the plugin id is its basename), the entrypoint `plexsync.py`, the `plexsync/` package
(Python files only), the `ui/` folder (the PlexSync page's JavaScript and CSS, which the
manifest's `ui:` section names: the build refuses a manifest naming a file the zip would not
hold), `requirements.txt` and `LICENSE`. No tests, testkit, docs or caches.

Reproducible: the same input files give the same bytes, hence the same sha256.
- entries are sorted, every entry carries the same timestamp (1980-01-01, the zip epoch) and
  mode 0644, and no directory entries or extra fields are written;
- entries are STORED, not deflated: deflate output depends on the zlib build (zlib vs zlib-ng),
  which would make the same sources hash differently on another machine. The zip is ~0.4 MB;
- the index `date` (Stash offers an update only when it grows) is the commit time, in UTC, of
  the last commit touching a shipped file, so a docs-only commit does not announce an update.
  `--date` or SOURCE_DATE_EPOCH override it (for builds outside git).
The build refuses to run when PlexSync.yml's version differs from `plexsync.__version__`, or
when the package holds another `.yml` file (Stash would load it as a second plugin).

Nothing but the sources ships (docs/reliability.md, "Secrets"): a file under `plexsync/` or
`ui/` is shipped only when its kind is allowed there (`ALLOWED_SUFFIXES`: Python in the
package; JavaScript, CSS and images in ui/) and, in a git checkout, when git tracks it
(`git ls-files`). Anything else there (an editor's `*~`, a merge's `*.orig`, a `plex.env`, a
`data/plexsync.db`, an untracked scratch module) fails the build, every such file named; so
does any symlink (never followed: it could point anywhere on the maintainer's disk).
Caches (`__pycache__`, `*.pyc`) are skipped.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import os
import re
import subprocess
import sys
import zipfile
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PLUGIN_ID = "PlexSync"
MANIFEST = f"{PLUGIN_ID}.yml"
TOP_FILES = (MANIFEST, "plexsync.py", "requirements.txt", "LICENSE")
PACKAGE = "plexsync"
UI_DIR = "ui"  # the PlexSync page's files (docs/ui.md), named under `ui:` in the manifest
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o100644  # regular file, rw-r--r--
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"
# Stash's pkg.Time parsed "2006-01-02 15:04:05 -0700" only up to 2024; later versions also take
# the zone-less form. An explicit +0000 parses on both (docs/design.md#release-packaging).
INDEX_DATE_SUFFIX = " +0000"
ALLOWED_SUFFIXES = {PACKAGE: (".py",), UI_DIR: (".js", ".css", ".svg", ".png", ".woff2")}


class BuildError(Exception):
    """The sources cannot be released as they stand; the message says what to fix."""


def package_version(root: Path = ROOT) -> str:
    """`plexsync.__version__`, read without importing the package (the one version)."""
    tree = ast.parse((root / PACKAGE / "__init__.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
                and node.targets[0].id == "__version__"
                and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)):
            return node.value.value
    raise BuildError(f"{PACKAGE}/__init__.py has no __version__ = '...' string.")


def manifest_field(name: str, root: Path = ROOT) -> str:
    """A top-level scalar of PlexSync.yml (`name`, `version`, `description`), unquoted."""
    for line in (root / MANIFEST).read_text(encoding="utf-8").splitlines():
        match = re.match(rf"^{name}:\s*(.*)$", line)
        if match:
            value = match.group(1).strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                value = value[1:-1]
            return value
    raise BuildError(f"{MANIFEST} has no top-level {name}: line.")


def shipped_files(root: Path = ROOT) -> list[str]:
    """Paths (relative, '/'-separated, sorted) of every file the zip holds; BuildError naming
    every unexpected file or symlink (see the module docstring)."""
    files = [name for name in TOP_FILES if (root / name).is_file()]
    missing = sorted(set(TOP_FILES) - set(files))
    if missing:
        raise BuildError(f"missing release file(s): {', '.join(missing)}")
    links = [name for name in TOP_FILES if (root / name).is_symlink()]
    unexpected: list[str] = []
    for folder in (PACKAGE, UI_DIR):
        for dirpath, dirnames, filenames in os.walk(root / folder):   # never follows links
            here = Path(dirpath)
            dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
            for name in dirnames:
                if (here / name).is_symlink():
                    links.append((here / name).relative_to(root).as_posix())
            for filename in filenames:
                rel = (here / filename).relative_to(root).as_posix()
                if (here / filename).is_symlink():
                    links.append(rel)
                elif filename.endswith((".yml", ".yaml")):
                    raise BuildError(f"{rel}: Stash loads every .yml under its plugins folder "
                                     "as a plugin; rename it or move it out of the package.")
                elif filename.endswith(ALLOWED_SUFFIXES[folder]) and \
                        not filename.startswith("."):
                    files.append(rel)
                elif not filename.endswith((".pyc", ".pyo")):
                    unexpected.append(rel)
    problems = []
    if links:
        problems.append(f"symlink(s) in the release sources: {', '.join(sorted(links))}; the "
                        "build never follows them (they may point anywhere): replace each with "
                        "the file itself or remove it.")
    if unexpected:
        allowed = ", ".join(f"{k}/*{v}" for k, vs in ALLOWED_SUFFIXES.items() for v in vs)
        problems.append(f"unexpected file(s) in the release sources: "
                        f"{', '.join(sorted(unexpected))}; only {allowed} ship: delete them or "
                        "move them out of the tree.")
    tracked = git_tracked(root)
    untracked = sorted(set(files) - tracked) if tracked is not None else []
    if untracked:
        problems.append(f"file(s) not tracked by git in the release sources: "
                        f"{', '.join(untracked)}; commit them, or delete them or move them "
                        "out of the tree.")
    if problems:
        raise BuildError(" ".join(problems))
    absent = sorted(set(manifest_ui_files(root)) - set(files))
    if absent:
        raise BuildError(f"{MANIFEST} names UI file(s) the zip would not hold: "
                         f"{', '.join(absent)}; put them under {UI_DIR}/ or fix the ui: section.")
    return sorted(files)


def git_tracked(root: Path) -> set[str] | None:
    """What git tracks under `root` ('/'-separated), or None when `root` is no git checkout
    of its own (a copy of the sources: the allow-list alone decides)."""
    try:
        top = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=root,
                             capture_output=True, text=True, check=True).stdout.strip()
        if Path(top).resolve() != root.resolve():
            return None
        listed = subprocess.run(["git", "ls-files", "-z", "--", *TOP_FILES, PACKAGE, UI_DIR],
                                cwd=root, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return {name.decode("utf-8") for name in listed.split(b"\0") if name}


def manifest_ui_files(root: Path = ROOT) -> list[str]:
    """Local files the manifest's `ui:` section names (javascript/css list items; URLs and the
    assets map are not files)."""
    names: list[str] = []
    in_ui = False
    for line in (root / MANIFEST).read_text(encoding="utf-8").splitlines():
        if re.match(r"^\S", line):  # a top-level key ends (or starts) the section
            in_ui = line.startswith("ui:")
            continue
        match = re.match(r"^\s+-\s*[\"']?([^\"'#\s]+)", line)
        if in_ui and match and not match.group(1).startswith(("http://", "https://")):
            names.append(match.group(1).removeprefix("./"))
    return names


def build_zip(target: Path, root: Path = ROOT) -> list[str]:
    """Write the plugin zip to `target` byte-for-byte reproducibly; returns its entry names."""
    names = shipped_files(root)
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED) as archive:
        for name in names:
            info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
            info.external_attr = FILE_MODE << 16
            info.create_system = 3  # unix, so the mode above is honoured; fixed, not host-dependent
            info.compress_type = zipfile.ZIP_STORED
            archive.writestr(info, (root / name).read_bytes())
    return names


def release_date(root: Path = ROOT, override: str | None = None) -> str:
    """The index date: --date, else SOURCE_DATE_EPOCH, else the last commit of a shipped file."""
    if override:
        try:
            moment = datetime.strptime(override.removesuffix(INDEX_DATE_SUFFIX), DATE_FORMAT)
            return moment.strftime(DATE_FORMAT) + INDEX_DATE_SUFFIX
        except ValueError:
            raise BuildError(f"--date {override!r} must look like 2026-01-20 12:00:00 "
                             "(UTC).") from None
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not epoch:
        try:
            epoch = subprocess.run(
                ["git", "log", "-1", "--format=%ct", "--", *TOP_FILES, PACKAGE, UI_DIR],
                cwd=root, capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError) as exc:
            raise BuildError(f"cannot read the commit date from git ({exc}); pass --date or set "
                             "SOURCE_DATE_EPOCH.") from None
        if not epoch:
            raise BuildError("no commit touches the shipped files; commit them first, or pass "
                             "--date or set SOURCE_DATE_EPOCH.")
    if not epoch.isdigit():
        raise BuildError(f"SOURCE_DATE_EPOCH {epoch!r} is not a number of seconds.")
    return datetime.fromtimestamp(int(epoch), UTC).strftime(DATE_FORMAT) + INDEX_DATE_SUFFIX


def _yaml_str(value: str) -> str:
    # A JSON string (ASCII, escapes \" \\ \n \uXXXX) is a valid YAML double-quoted scalar, so any
    # description or name is safe: an unquoted ": " would break Stash's parse of the whole index.
    return json.dumps(value, ensure_ascii=True)


def index_entry(version: str, date: str, sha256: str, root: Path = ROOT) -> str:
    """One `index.yml` entry in the order of Stash's manual template."""
    return "\n".join([
        f"- id: {PLUGIN_ID}",
        f"  name: {_yaml_str(manifest_field('name', root))}",
        "  metadata:",
        f"    description: {_yaml_str(manifest_field('description', root))}",
        f"  version: {_yaml_str(version)}",
        f"  date: {_yaml_str(date)}",
        "  requires: []",
        f"  path: {PLUGIN_ID}.zip",
        f"  sha256: {sha256}",
        "",
    ])


def build(out: Path, root: Path = ROOT, date: str | None = None) -> dict[str, str]:
    """Build the zip and the index into `out`; returns what was written (for the summary)."""
    version = package_version(root)
    declared = manifest_field("version", root)
    if declared != version:
        raise BuildError(f"{MANIFEST} says version {declared} but {PACKAGE}.__version__ is "
                         f"{version}; set both to the release version.")
    when = release_date(root, date)
    out.mkdir(parents=True, exist_ok=True)
    zip_path = out / f"{PLUGIN_ID}.zip"
    names = build_zip(zip_path, root)
    digest = hashlib.sha256(zip_path.read_bytes()).hexdigest()  # lowercase hex, as Stash compares
    (out / "index.yml").write_text(index_entry(version, when, digest, root), encoding="utf-8")
    return {"zip": str(zip_path), "index": str(out / "index.yml"), "version": version,
            "date": when, "sha256": digest, "files": str(len(names))}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", default=str(ROOT / "dist"), help="output folder (default dist/)")
    parser.add_argument("--date", help="index date, 'YYYY-MM-DD HH:MM:SS' UTC (default: git)")
    args = parser.parse_args(argv)
    try:
        result = build(Path(args.out), ROOT, args.date)
    except BuildError as exc:
        print(f"build_release: {exc}", file=sys.stderr)
        return 1
    for key, value in result.items():
        print(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
