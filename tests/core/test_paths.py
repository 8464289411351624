"""The matcher reads Plex paths as `config.FsPath` does: segment-wise, POSIX or Windows (where
case and separators do not matter), and the hook and the field mapping share one table."""

from __future__ import annotations

from collections.abc import Sequence

from plexsync.core import vocab as stash_inputs
from plexsync.core.paths import PathMap, basename, folder_of
from plexsync.hook import handler as hook
from plexsync.plex.model import Candidate
from plexsync.sync.matcher import (
    NotInPlex,
    OutOfScope,
    SceneFile,
    match,
    section_of,
)


class Empty:
    def by_path(self, plex_path: str) -> Candidate | None:
        return None

    def by_basename(self, basename_folded: str) -> Sequence[Candidate]:
        return []


def test_a_windows_location_holds_its_files_whatever_their_case_or_separators() -> None:
    locations = {1: ("d:\\media\\videos",)}
    assert section_of("D:\\Media\\Videos\\x.mp4", locations) == 1
    assert section_of("D:/Media/Videos/sub/x.mp4", {1: ("D:\\Media\\Videos\\",)}) == 1
    assert section_of("D:\\Media\\Videos2\\x.mp4", locations) is None


def test_a_posix_location_stays_case_sensitive_and_segment_wise() -> None:
    assert section_of("/Media/x.mp4", {1: ("/media",)}) is None
    assert section_of("/media/videos2/x.mp4", {1: ("/media/videos",)}) is None
    assert section_of("/media/videos/x.mp4", {1: ("/media",), 2: ("/media/videos/",)}) == 2


def test_a_file_plex_has_not_scanned_under_a_windows_library_is_not_in_plex_yet() -> None:
    files = [SceneFile("/data/new/x.mp4", 1, 1.0)]
    result = match(files, PathMap.parse("/data=D:\\Media"), Empty(), {3: ("d:\\MEDIA",)})
    assert isinstance(result, NotInPlex)
    assert (result.section_id, result.folder) == (3, "D:\\Media\\new")
    assert isinstance(match(files, PathMap.parse("/data=E:\\Media"), Empty(),
                            {3: ("d:\\MEDIA",)}), OutOfScope)


def test_the_folder_to_scan_keeps_the_path_s_own_style() -> None:
    assert folder_of("/media/a/x.mp4") == "/media/a"
    assert folder_of("C:\\x.mp4") == "C:\\"
    assert folder_of("\\\\nas\\share\\v\\x.mp4") == "\\\\nas\\share\\v"


def test_a_posix_file_name_may_contain_a_backslash() -> None:
    assert basename("/media/odd\\name.mp4") == "odd\\name.mp4"
    assert basename("C:\\media\\x.mp4") == basename("C:/media/x.mp4") == "x.mp4"


def test_every_clearable_input_is_one_the_hook_lets_through_and_reports_cleared() -> None:
    for name in stash_inputs.CLEARABLE:
        reason, cleared = hook.gate({"type": "Scene.Update.Post", "id": 1,
                                     "input": {name: None}, "inputFields": [name]}, {})
        assert reason is None and cleared == [name], name
