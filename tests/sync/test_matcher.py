"""docs/design.md#matching matching rules, on an in-memory lookup (the matcher is pure)."""

from __future__ import annotations

from collections.abc import Sequence

from plexsync.core.paths import PathMap, basename, fold
from plexsync.plex.model import Candidate
from plexsync.sync.matcher import (
    Confidence,
    Match,
    NotInPlex,
    OutOfScope,
    SceneFile,
    match,
    section_of,
)

LOCATIONS = {1: ("/media/videos",), 2: ("/media/other",)}
NO_MAP = PathMap()


class DictLookup:
    def __init__(self, *candidates: Candidate) -> None:
        self.items = list(candidates)

    def by_path(self, plex_path: str) -> Candidate | None:
        return next((c for c in self.items if c.path == plex_path), None)

    def by_basename(self, basename_folded: str) -> Sequence[Candidate]:
        return [c for c in self.items if fold(basename(c.path)) == basename_folded]


def cand(path: str, rk: int, size: int = 100, duration_ms: int = 60_000,
         section: int = 1) -> Candidate:
    return Candidate(section, path, rk, size, duration_ms)


def scene(*paths: str, size: int = 100, duration_s: float = 60.0) -> list[SceneFile]:
    return [SceneFile(p, size, duration_s) for p in paths]


def test_exact_mapped_path_is_a_high_match() -> None:
    lookup = DictLookup(cand("/media/videos/a/x.mp4", 7))
    result = match(scene("/data/videos/a/x.mp4"), PathMap.parse("/data/videos=/media/videos"),
                   lookup, LOCATIONS)
    assert result == Match(7, 1, Confidence.HIGH, "/media/videos/a/x.mp4", reason="exact path",
                           exact=True)


def test_exact_path_of_a_secondary_file_beats_a_basename_guess_for_the_primary() -> None:
    lookup = DictLookup(cand("/media/videos/elsewhere/one.mp4", 1),
                        cand("/media/videos/two.mp4", 2))
    result = match(scene("/media/videos/one.mp4", "/media/videos/two.mp4"), NO_MAP, lookup,
                   LOCATIONS)
    assert isinstance(result, Match) and result.rating_key == 2
    assert result.confidence is Confidence.HIGH


def test_unique_basename_with_same_size_is_high_whatever_the_case() -> None:
    lookup = DictLookup(cand("/media/videos/sorted/Clip.MP4", 3, size=555))
    result = match(scene("/data/videos/new/clip.mp4", size=555), NO_MAP, lookup, LOCATIONS)
    assert isinstance(result, Match)
    assert (result.rating_key, result.confidence) == (3, Confidence.HIGH)


def test_unique_basename_with_other_size_is_low_with_its_path_as_candidate() -> None:
    lookup = DictLookup(cand("/media/videos/sorted/clip.mp4", 3, size=999))
    result = match(scene("/data/videos/new/clip.mp4", size=555), NO_MAP, lookup, LOCATIONS)
    assert isinstance(result, Match) and result.confidence is Confidence.LOW
    assert result.candidates == ("/media/videos/sorted/clip.mp4",)


def test_several_basename_candidates_are_low_and_all_are_listed() -> None:
    lookup = DictLookup(cand("/media/videos/a/clip.mp4", 1, size=1),
                        cand("/media/videos/b/clip.mp4", 2, size=2))
    result = match(scene("/data/videos/c/clip.mp4", size=3), NO_MAP, lookup, LOCATIONS)
    assert isinstance(result, Match) and result.confidence is Confidence.LOW
    assert set(result.candidates) == {"/media/videos/a/clip.mp4", "/media/videos/b/clip.mp4"}


def test_several_candidates_with_exactly_one_agreeing_on_size_and_duration_is_high() -> None:
    lookup = DictLookup(cand("/media/videos/a/clip.mp4", 1, size=5, duration_ms=60_900),
                        cand("/media/videos/b/clip.mp4", 2, size=5, duration_ms=90_000))
    result = match(scene("/data/videos/c/clip.mp4", size=5, duration_s=60.0), NO_MAP, lookup,
                   LOCATIONS)
    assert isinstance(result, Match)
    assert (result.rating_key, result.confidence) == (1, Confidence.HIGH)


def test_duration_outside_one_second_does_not_agree() -> None:
    lookup = DictLookup(cand("/media/videos/a/clip.mp4", 1, size=5, duration_ms=61_500),
                        cand("/media/videos/b/clip.mp4", 2, size=5, duration_ms=90_000))
    result = match(scene("/data/videos/c/clip.mp4", size=5), NO_MAP, lookup, LOCATIONS)
    assert isinstance(result, Match) and result.confidence is Confidence.LOW


def test_two_candidates_agreeing_on_size_and_duration_stay_low() -> None:
    lookup = DictLookup(cand("/media/videos/a/clip.mp4", 1, size=5),
                        cand("/media/videos/b/clip.mp4", 2, size=5))
    result = match(scene("/data/videos/c/clip.mp4", size=5), NO_MAP, lookup, LOCATIONS)
    assert isinstance(result, Match) and result.confidence is Confidence.LOW


def test_low_picks_the_candidate_that_agrees_on_size_first() -> None:
    lookup = DictLookup(cand("/media/videos/a/clip.mp4", 1, size=9),
                        cand("/media/videos/b/clip.mp4", 2, size=5, duration_ms=1),
                        cand("/media/videos/d/clip.mp4", 4, size=5, duration_ms=1))
    result = match(scene("/data/videos/c/clip.mp4", size=5), NO_MAP, lookup, LOCATIONS)
    assert isinstance(result, Match) and result.confidence is Confidence.LOW
    assert result.rating_key in (2, 4) and result.candidates[0] == result.plex_path
    assert len(result.candidates) == 3


def test_two_files_of_one_multi_part_item_count_as_one_candidate() -> None:
    lookup = DictLookup(cand("/media/videos/a/clip.mp4", 1, size=5),
                        cand("/media/videos/b/clip.mp4", 1, size=7))
    result = match(scene("/data/videos/c/clip.mp4", size=5), NO_MAP, lookup, LOCATIONS)
    assert isinstance(result, Match) and result.confidence is Confidence.HIGH


def test_unknown_sizes_never_agree() -> None:
    lookup = DictLookup(cand("/media/videos/a/clip.mp4", 1, size=0))
    result = match(scene("/data/videos/c/clip.mp4", size=0), NO_MAP, lookup, LOCATIONS)
    assert isinstance(result, Match) and result.confidence is Confidence.LOW


def test_no_candidate_under_a_section_location_is_not_in_plex_with_its_folder() -> None:
    result = match(scene("/data/videos/new/clip.mp4"), PathMap.parse("/data/videos=/media/videos"),
                   DictLookup(), LOCATIONS)
    assert result == NotInPlex(1, "/media/videos/new/clip.mp4", "/media/videos/new")


def test_no_candidate_outside_every_section_is_out_of_scope() -> None:
    result = match(scene("/data/elsewhere/clip.mp4"), PathMap.parse("/data/videos=/media/videos"),
                   DictLookup(), LOCATIONS)
    assert result == OutOfScope(("/data/elsewhere/clip.mp4",))


def test_a_location_prefix_must_end_on_a_folder_boundary() -> None:
    assert section_of("/media/videos2/x.mp4", LOCATIONS) is None
    assert section_of("/media/videos/x.mp4", {1: ("/media/videos/",)}) == 1
    assert section_of("/media/videos/sub/x.mp4", {1: ("/media",), 2: ("/media/videos",)}) == 2


def test_windows_plex_paths_are_matched_by_basename_and_location() -> None:
    lookup = DictLookup(cand("D:\\Media\\Sorted\\clip.mp4", 5, size=5))
    pm = PathMap.parse("/data=D:\\Media")
    result = match(scene("/elsewhere/new/clip.mp4", size=5), pm, lookup, {1: ("D:\\Media",)})
    assert isinstance(result, Match) and result.rating_key == 5
    missing = match(scene("/data/new/other.mp4"), pm, DictLookup(), {1: ("D:\\Media",)})
    assert missing == NotInPlex(1, "D:\\Media\\new\\other.mp4", "D:\\Media\\new")


def test_a_scene_without_files_is_out_of_scope() -> None:
    assert match([], NO_MAP, DictLookup(), LOCATIONS) == OutOfScope(())


def test_a_mapped_path_inside_a_library_is_never_guessed_by_basename() -> None:
    lookup = DictLookup(cand("/media/videos/studio-a/clip.mp4", 3, size=5))
    result = match(scene("/data/videos/studio-b/clip.mp4", size=5),
                   PathMap.parse("/data/videos=/media/videos"), lookup, LOCATIONS)
    assert result == NotInPlex(1, "/media/videos/studio-b/clip.mp4", "/media/videos/studio-b")


def test_an_excluded_candidate_is_never_picked_and_leaves_the_scene_out_of_scope() -> None:
    lookup = DictLookup(cand("/media/videos/a/clip.mp4", 3, size=5))
    assert match(scene("/private/clip.mp4", size=5), NO_MAP, lookup, LOCATIONS,
                 excluded={3}) == OutOfScope(("/private/clip.mp4",))


def test_a_contested_candidate_is_at_best_low() -> None:
    lookup = DictLookup(cand("/media/videos/a/clip.mp4", 3, size=5))
    result = match(scene("/private/clip.mp4", size=5), NO_MAP, lookup, LOCATIONS,
                   contested={3})
    assert isinstance(result, Match) and result.confidence is Confidence.LOW
    assert not result.exact


def test_a_basename_match_says_why_it_was_accepted() -> None:
    lookup = DictLookup(cand("/media/videos/a/clip.mp4", 3, size=5))
    result = match(scene("/private/clip.mp4", size=5), NO_MAP, lookup, LOCATIONS)
    assert isinstance(result, Match) and "same size (5 bytes)" in result.reason


def test_a_windows_path_spelled_in_another_case_is_the_same_file_and_matches_exactly() -> None:
    # Stash's library was added as d:\videos, Plex's as D:\Videos: one file, one path.
    lookup = DictLookup(cand("D:\\Videos\\A\\x.mp4", 7))
    result = match(scene("d:\\videos\\A\\x.mp4"), NO_MAP, lookup, {1: ("D:\\Videos",)})
    assert isinstance(result, Match) and result.rating_key == 7 and result.exact, result
    mapped = match(scene("/data/A/x.mp4"), PathMap.parse("/data=d:\\videos"), lookup,
                   {1: ("D:\\Videos",)})
    assert isinstance(mapped, Match) and mapped.rating_key == 7 and mapped.exact, mapped
