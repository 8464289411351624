"""The user guide stays true: every setting and task is documented, the path_map examples map as
docs/docker.md says, and every `docs/design.md#<anchor>` the code cites exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from plexsync.core.paths import PathMap

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


def _manifest() -> dict[str, object]:
    data = yaml.safe_load((ROOT / "PlexSync.yml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_every_setting_in_the_manifest_has_a_row_in_settings_md() -> None:
    page = (DOCS / "settings.md").read_text(encoding="utf-8")
    settings = _manifest()["settings"]
    assert isinstance(settings, dict)
    missing = [key for key in settings if f"| `{key}` |" not in page]
    assert not missing, f"docs/settings.md has no table row for: {', '.join(missing)}"


def test_every_task_in_the_manifest_is_described_in_tasks_md() -> None:
    page = (DOCS / "tasks.md").read_text(encoding="utf-8")
    tasks = _manifest()["tasks"]
    assert isinstance(tasks, list)
    missing = [t["name"] for t in tasks if t["name"] not in page]
    assert not missing, f"docs/tasks.md does not mention: {', '.join(missing)}"


# (path_map, Stash path, Plex path) exactly as docs/docker.md shows them.
DOCKER_EXAMPLES = [
    ("/data/videos=/media/videos", "/data/videos/2024/a.mp4", "/media/videos/2024/a.mp4"),
    ("/data/videos=/media/videos; /data/clips=/clips", "/data/clips/x.mp4", "/clips/x.mp4"),
    ("/data=/media; /data/special=/special", "/data/special/x.mp4", "/special/x.mp4"),
    ("/data=/media; /data/special=/special", "/data/other/y.mp4", "/media/other/y.mp4"),
    ("/data/videos=\\\\NAS\\videos", "/data/videos/2024/a.mp4", "\\\\NAS\\videos\\2024\\a.mp4"),
    ("/data/videos=V:\\", "/data/videos/2024/a.mp4", "V:\\2024\\a.mp4"),
    ("/data/videos=V:\\videos", "/data/videos/2024/a.mp4", "V:\\videos\\2024\\a.mp4"),
    ("D:\\Media\\Videos=/media/videos", "D:\\Media\\Videos\\a.mp4", "/media/videos/a.mp4"),
    ("d:/media/videos=/media/videos", "D:\\Media\\Videos\\a.mp4", "/media/videos/a.mp4"),
    ("E:\\Videos=\\\\STASHPC\\Videos", "E:\\Videos\\a.mp4", "\\\\STASHPC\\Videos\\a.mp4"),
]


@pytest.mark.parametrize(("path_map", "stash_path", "plex_path"), DOCKER_EXAMPLES)
def test_docker_md_path_map_example_maps_as_documented(
    path_map: str, stash_path: str, plex_path: str
) -> None:
    page = (DOCS / "docker.md").read_text(encoding="utf-8")
    for text in (path_map, *path_map.split("; ")):
        assert text in page or f"`{text}`" in page, f"{text!r} is not in docs/docker.md"
    assert PathMap.parse(path_map).to_plex(stash_path) == plex_path


def _anchors(page: Path) -> set[str]:
    text = page.read_text(encoding="utf-8")
    return set(re.findall(r"^#+ .*\{#([\w-]+)\}\s*$", text, re.MULTILINE))


def test_design_md_anchors_cited_in_code_exist() -> None:
    anchors = _anchors(DOCS / "design.md")
    cited: dict[str, list[str]] = {}
    for base in ("plexsync", "testkit", "tests", "scripts"):
        for path in (ROOT / base).rglob("*.py"):
            for anchor in re.findall(r"docs/design\.md#([\w-]+)", path.read_text("utf-8")):
                cited.setdefault(anchor, []).append(path.relative_to(ROOT).as_posix())
    entry = (ROOT / "plexsync.py").read_text(encoding="utf-8")
    for anchor in re.findall(r"docs/design\.md#([\w-]+)", entry):
        cited.setdefault(anchor, []).append("plexsync.py")
    missing = {a: files for a, files in cited.items() if a not in anchors}
    assert not missing, ("code cites docs/design.md anchors that do not exist (add a heading "
                         f"with {{#anchor}} or fix the citation): {missing}")
    assert "matching" in anchors and "release-packaging" in anchors
