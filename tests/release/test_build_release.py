"""The build command makes a zip Stash can install, and the same sources make the same bytes."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

import plexsync
from tests.release.conftest import BUILD, FIXED_DATE, ROOT, run_build

RUNTIME_TOP = {"PlexSync.yml", "plexsync.py", "requirements.txt", "LICENSE"}


def copy_sources(copy: Path) -> Path:
    """The shipped files and the build script, copied into `copy` (a checkout without git)."""
    shutil.copytree(ROOT / "plexsync", copy / "plexsync",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "ui", copy / "ui")
    for name in (*RUNTIME_TOP, "scripts/build_release.py"):
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / name, copy / name)
    return copy


def _index(release: Path) -> dict[str, Any]:
    entries = yaml.safe_load((release / "index.yml").read_text(encoding="utf-8"))
    assert isinstance(entries, list) and len(entries) == 1, entries
    entry = entries[0]
    assert isinstance(entry, dict)
    return entry


def test_zip_holds_the_manifest_entrypoint_package_ui_requirements_and_license_only(
    release: Path,
) -> None:
    with zipfile.ZipFile(release / "PlexSync.zip") as archive:
        names = archive.namelist()
    top = {n for n in names if "/" not in n}
    assert top == RUNTIME_TOP
    nested = [n for n in names if "/" in n and not n.startswith("ui/")]
    assert nested and all(n.startswith("plexsync/") and n.endswith(".py") for n in nested)
    package = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "plexsync").rglob("*.py"))
    assert sorted(nested) == package
    # The PlexSync page: every file the manifest's ui: section names ships, and nothing else.
    manifest = yaml.safe_load((ROOT / "PlexSync.yml").read_text(encoding="utf-8"))
    named = sorted([*manifest["ui"]["javascript"], *manifest["ui"]["css"]])
    assert sorted(n for n in names if n.startswith("ui/")) == named == [
        "ui/plexsync.css", "ui/plexsync.js"]
    assert not any(part in n for n in names
                   for part in ("tests/", "testkit/", "docs/", "__pycache__", ".pyc"))
    # Stash loads every .yml under plugins/ as a plugin: the manifest must be the only one.
    assert [n for n in names if n.endswith((".yml", ".yaml"))] == ["PlexSync.yml"]


def test_zip_entries_have_fixed_time_mode_and_order(release: Path) -> None:
    with zipfile.ZipFile(release / "PlexSync.zip") as archive:
        infos = archive.infolist()
    assert [i.filename for i in infos] == sorted(i.filename for i in infos)
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {i.external_attr >> 16 for i in infos} == {0o100644}


def test_index_entry_describes_the_zip_beside_it(release: Path) -> None:
    entry = _index(release)
    zip_path = release / entry["path"]
    assert zip_path.is_file()
    assert entry["sha256"] == hashlib.sha256(zip_path.read_bytes()).hexdigest()
    assert entry["sha256"] == entry["sha256"].lower()  # Stash compares %x output exactly
    assert entry["id"] == "PlexSync" == Path(entry["path"]).stem
    assert entry["version"] == plexsync.__version__
    with zipfile.ZipFile(zip_path) as archive:
        manifest = yaml.safe_load(archive.read("PlexSync.yml"))
    assert entry["name"] == manifest["name"]
    assert entry["metadata"]["description"] == manifest["description"]
    assert str(manifest["version"]) == entry["version"]
    assert entry["requires"] == []
    # Go layout "2006-01-02 15:04:05 -0700", which every Stash version's pkg.Time parses.
    assert datetime.strptime(entry["date"], "%Y-%m-%d %H:%M:%S %z").utcoffset() is not None
    assert entry["date"] == f"{FIXED_DATE} +0000"


def test_same_sources_build_byte_identical_zip_and_index(release: Path, tmp_path: Path) -> None:
    # A fresh tree: new mtimes, new directory order, no git.
    copy = copy_sources(tmp_path / "checkout")
    os.utime(copy / "plexsync.py", (1_000_000_000, 1_000_000_000))
    run_build(tmp_path / "again", script=copy / "scripts" / "build_release.py")
    for name in ("PlexSync.zip", "index.yml"):
        assert (tmp_path / "again" / name).read_bytes() == (release / name).read_bytes(), name


def test_changed_source_changes_the_sha256(release: Path, tmp_path: Path) -> None:
    copy = copy_sources(tmp_path / "checkout")
    with (copy / "plexsync.py").open("a", encoding="utf-8") as handle:
        handle.write("# changed\n")
    run_build(tmp_path / "changed", script=copy / "scripts" / "build_release.py")
    assert _index(tmp_path / "changed")["sha256"] != _index(release)["sha256"]


def test_index_date_defaults_to_the_last_commit_of_a_shipped_file(tmp_path: Path) -> None:
    env = dict(os.environ)
    env.pop("SOURCE_DATE_EPOCH", None)
    commit = subprocess.run(
        ["git", "log", "-1", "--format=%cd", "--date=format-local:%Y-%m-%d %H:%M:%S", "--",
         "PlexSync.yml", "plexsync.py", "requirements.txt", "LICENSE", "plexsync", "ui"],
        cwd=ROOT, capture_output=True, text=True, check=True, env={**env, "TZ": "UTC0"},
    ).stdout.strip()
    proc = subprocess.run([sys.executable, str(BUILD), "--out", str(tmp_path)], env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert _index(tmp_path)["date"] == f"{commit} +0000"


def test_build_refuses_a_manifest_whose_version_differs(tmp_path: Path) -> None:
    copy = copy_sources(tmp_path / "checkout")
    manifest = copy / "PlexSync.yml"
    manifest.write_text(manifest.read_text(encoding="utf-8").replace(
        f"version: {plexsync.__version__}", "version: 9.9.9"), encoding="utf-8")
    proc = subprocess.run([sys.executable, str(copy / "scripts" / "build_release.py"),
                           "--out", str(tmp_path / "out"), "--date", FIXED_DATE],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 1
    assert "version 9.9.9" in proc.stderr and not (tmp_path / "out" / "index.yml").exists()


def test_build_refuses_a_manifest_naming_a_ui_file_it_would_not_ship(tmp_path: Path) -> None:
    copy = copy_sources(tmp_path / "src")
    (copy / "ui" / "plexsync.css").unlink()
    proc = subprocess.run([sys.executable, str(copy / "scripts" / "build_release.py"),
                           "--out", str(tmp_path / "out"), "--date", FIXED_DATE],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 1
    assert "ui/plexsync.css" in proc.stderr and not (tmp_path / "out" / "index.yml").exists()


def _git_checkout(copy: Path) -> Path:
    """`copy_sources` committed to a fresh git repository (a maintainer's checkout)."""
    copy_sources(copy)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"]
    subprocess.run([*git, "init", "-q"], cwd=copy, check=True)
    subprocess.run([*git, "add", "-A"], cwd=copy, check=True)
    subprocess.run([*git, "commit", "-qm", "sources"], cwd=copy, check=True)
    return copy


def _build_in(copy: Path, out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(copy / "scripts" / "build_release.py"),
                           "--out", str(out), "--date", FIXED_DATE],
                          capture_output=True, text=True, timeout=120, check=False)


def test_a_git_checkout_builds_the_same_zip_as_the_plain_copy(tmp_path: Path) -> None:
    copy = _git_checkout(tmp_path / "src")
    assert _build_in(copy, tmp_path / "out").returncode == 0
    plain = copy_sources(tmp_path / "plain")
    assert _build_in(plain, tmp_path / "out2").returncode == 0
    assert (tmp_path / "out" / "PlexSync.zip").read_bytes() == \
        (tmp_path / "out2" / "PlexSync.zip").read_bytes()


def test_stray_files_beside_the_sources_fail_the_build_and_are_named(tmp_path: Path) -> None:
    copy = _git_checkout(tmp_path / "src")
    strays = ["plexsync/sync/images.py.orig", "plexsync/core/log.py~", "ui/plex.env",
              "plexsync/data/plexsync.db", "plexsync/scratch.py"]
    for name in strays:
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        (copy / name).write_text("PLEXTOKEN-stray")
    proc = _build_in(copy, tmp_path / "out")
    assert proc.returncode == 1
    assert all(name in proc.stderr for name in strays), proc.stderr
    assert not (tmp_path / "out" / "PlexSync.zip").exists()


def test_an_untracked_python_file_in_a_git_checkout_fails_the_build(tmp_path: Path) -> None:
    copy = _git_checkout(tmp_path / "src")
    (copy / "plexsync" / "core" / "notes_local.py").write_text("SECRET = 1\n")
    proc = _build_in(copy, tmp_path / "out")
    assert proc.returncode == 1
    assert "plexsync/core/notes_local.py" in proc.stderr and "not tracked by git" in proc.stderr


def test_symlinks_in_the_sources_fail_the_build_and_are_never_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.py").write_text("TOKEN = 'PLEXTOKEN-outside'\n")
    copy = copy_sources(tmp_path / "src")
    (copy / "plexsync" / "linked.py").symlink_to(outside / "secret.py")
    (copy / "ui" / "more").symlink_to(outside, target_is_directory=True)
    proc = _build_in(copy, tmp_path / "out")
    assert proc.returncode == 1
    assert "plexsync/linked.py" in proc.stderr and "ui/more" in proc.stderr
    assert "symlink" in proc.stderr
