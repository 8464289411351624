"""One version, in plexsync/__init__.py; the manifest, pyproject, changelog and index agree."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

import plexsync
from tests.release.conftest import ROOT


def test_manifest_declares_the_package_version() -> None:
    manifest = yaml.safe_load((ROOT / "PlexSync.yml").read_text(encoding="utf-8"))
    assert str(manifest["version"]) == plexsync.__version__


def test_pyproject_takes_its_version_from_the_package() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    if "version" in project["project"]:
        assert project["project"]["version"] == plexsync.__version__
    else:
        assert "version" in project["project"]["dynamic"]
        dynamic = project["tool"]["setuptools"]["dynamic"]["version"]
        assert dynamic == {"attr": "plexsync.__version__"}


def test_changelog_newest_release_is_the_package_version() -> None:
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    releases = re.findall(r"^## \[(\d[^\]]*)\] - (\d{4}-\d{2}-\d{2})$", text, re.MULTILINE)
    assert releases, "CHANGELOG.md has no '## [x.y.z] - YYYY-MM-DD' release heading"
    assert releases[0][0] == plexsync.__version__
    assert "## [Unreleased]" in text


def test_index_declares_the_package_version(release: Path) -> None:
    entries = yaml.safe_load((release / "index.yml").read_text(encoding="utf-8"))
    assert entries[0]["version"] == plexsync.__version__


def test_version_is_semantic() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.-]+)?", plexsync.__version__)
