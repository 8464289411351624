"""docs/design.md#field-mapping field mapping: Stash scene → wanted Plex values (pure)."""

from __future__ import annotations

from typing import Any

import pytest

from plexsync.core.settings import Settings
from plexsync.core.vocab import CLEARABLE
from plexsync.sync.fields import (
    MAX_SUMMARY,
    OWNABLE,
    clean_date,
    clean_line,
    clean_summary,
    scene_files,
    wanted,
)
from plexsync.sync.matcher import SceneFile

DEFAULTS = Settings.from_mapping({})


def make_scene(**over: Any) -> dict[str, Any]:
    scene: dict[str, Any] = {
        "id": "1", "title": "A Title", "details": "Line one\nLine two", "date": "2021-02-03",
        "rating100": 75, "director": "Agnès Varda", "updated_at": "2024-01-01T00:00:00Z",
        "studio": {"id": "1", "name": "Northlight"},
        "performers": [{"id": "1", "name": "Ada"}, {"id": "2", "name": "Grace"}],
        "tags": [{"id": "1", "name": "Drama"}, {"id": "2", "name": "Night"}],
        "groups": [{"group": {"id": "1", "name": "Series One"}}],
        "files": [{"path": "/data/a.mp4", "size": 10, "duration": 12.5}],
        "paths": {"screenshot": "http://stash/scene/1/screenshot?t=1"},
    }
    scene.update(over)
    return scene


def test_a_full_scene_maps_every_field_of_the_spec_table() -> None:
    w = wanted(make_scene(), DEFAULTS)
    assert w.scalars == {"title": "A Title", "summary": "Line one\nLine two",
                         "date": "2021-02-03", "studio": "Northlight", "rating": 7.5}
    assert w.tags == {"actor": ("Ada", "Grace"), "genre": ("Drama", "Night"),
                      "director": ("Agnès Varda",)}
    assert w.collections == ("Northlight", "Series One")
    assert w.poster_url == "http://stash/scene/1/screenshot?t=1" and w.poster and not w.art
    assert w.lock and not w.preserve and not w.skip_reason


def test_an_empty_title_leaves_plex_title_even_when_cleared() -> None:
    assert "title" not in wanted(make_scene(title=""), DEFAULTS, {"title"}).scalars


def test_empty_stash_fields_are_left_alone_unless_explicitly_cleared() -> None:
    scene = make_scene(details="", date=None, rating100=None, studio=None, performers=[],
                       tags=[], director="", groups=[])
    w = wanted(scene, DEFAULTS)
    assert set(w.scalars) == {"title"} and w.tags == {} and w.collections is None

    cleared = wanted(scene, DEFAULTS, {"details", "date", "rating100", "studio_id",
                                       "performer_ids", "tag_ids", "director"}, OWNABLE)
    assert cleared.scalars == {"title": "A Title", "summary": None, "date": None,
                               "studio": None, "rating": None}
    assert cleared.tags == {"actor": (), "genre": (), "director": ()}
    assert cleared.collections == ()


def test_quality_gate_skips_a_scene_whose_metadata_is_all_empty() -> None:
    empty = make_scene(title="", details="", date=None, rating100=None, studio=None,
                       performers=[], tags=[], director="", groups=[])
    assert wanted(empty, DEFAULTS).skip_reason
    assert wanted(empty, DEFAULTS, {"title"}).skip_reason
    assert not wanted(empty, DEFAULTS, {"tag_ids"}, {"genre"}).skip_reason   # a clear goes through


def test_tags_as_labels_or_both_and_max_tags_cap() -> None:
    tags = [{"id": str(i), "name": f"T{i}"} for i in range(5)]
    labels = wanted(make_scene(tags=tags), Settings.from_mapping({"tags_as": "labels",
                                                                  "max_tags": 3}))
    assert labels.tags["label"] == ("T0", "T1", "T2") and "genre" not in labels.tags
    both = wanted(make_scene(tags=tags), Settings.from_mapping({"tags_as": "both"}))
    assert both.tags["genre"] == both.tags["label"] == tuple(f"T{i}" for i in range(5))


def test_max_tags_zero_means_no_cap() -> None:
    tags = [{"id": str(i), "name": f"T{i}"} for i in range(150)]
    assert len(wanted(make_scene(tags=tags), Settings.from_mapping({"max_tags": 0}))
               .tags["genre"]) == 150
    assert len(wanted(make_scene(tags=tags), DEFAULTS).tags["genre"]) == 100


@pytest.mark.parametrize("toggle", ["title", "summary", "date", "studio", "performers", "tags",
                                    "collections", "rating", "poster"])
def test_each_toggle_turns_its_field_off(toggle: str) -> None:
    w = wanted(make_scene(), Settings.from_mapping({f"sync_{toggle}": False}))
    produced = {*w.scalars, *w.tags, *(["collections"] if w.collections is not None else []),
                *(["poster"] if w.poster else [])}
    names = {"performers": "actor", "tags": "genre"}
    assert names.get(toggle, toggle) not in produced
    assert len(produced) == 9   # the ten managed fields less the one toggled off


def test_sync_background_wants_the_screenshot_as_art() -> None:
    w = wanted(make_scene(), Settings.from_mapping({"sync_background": True,
                                                   "sync_poster": False}))
    assert w.art and not w.poster and w.poster_url


def test_unicode_is_nfc_normalised_and_typography_kept() -> None:
    decomposed = "Zoe\u0308 \u201cquoted\u201d \u2014 caf\u0065\u0301"
    w = wanted(make_scene(title=decomposed), DEFAULTS)
    assert w.scalars["title"] == "Zoë “quoted” — café"


def test_control_characters_are_stripped_but_summary_keeps_newlines_and_tabs() -> None:
    assert clean_line("a\x00b\x07c\nd\te\x1b") == "abc d e"
    assert clean_summary("one\r\ntwo\rthree\tx\x00\x0b") == "one\ntwo\nthree\tx"


def test_lengths_are_capped() -> None:
    w = wanted(make_scene(title="t" * 300, details="s" * 20_000,
                          studio={"id": "1", "name": "S" * 400},
                          tags=[{"id": "1", "name": "g" * 300}]), DEFAULTS)
    assert len(str(w.scalars["title"])) == 255 and len(str(w.scalars["studio"])) == 255
    assert len(str(w.scalars["summary"])) == MAX_SUMMARY
    assert w.tags["genre"] == ("g" * 255,)


def test_a_cap_never_leaves_a_base_letter_without_its_combining_mark() -> None:
    text = "a" * 254 + "e\u0301\u0301" + "z"   # NFC has no single char for e + two accents
    assert clean_line(text) == "a" * 254


def test_dates_are_normalised_and_bad_ones_dropped() -> None:
    assert clean_date("2021-02-03") == "2021-02-03"
    assert clean_date("2021") == "2021-01-01" and clean_date("2021-05") == "2021-05-01"
    assert clean_date("03/02/2021") == "" and clean_date("2021-13-01") == ""


def test_rating100_maps_to_a_zero_to_ten_user_rating() -> None:
    assert wanted(make_scene(rating100=73), DEFAULTS).scalars["rating"] == 7.3
    assert wanted(make_scene(rating100=0), DEFAULTS).scalars["rating"] == 0.0
    assert wanted(make_scene(rating100=100), DEFAULTS).scalars["rating"] == 10.0


def test_duplicate_names_after_cleaning_are_sent_once() -> None:
    performers = [{"id": "1", "name": "Ada "}, {"id": "2", "name": "Ada"}]
    assert wanted(make_scene(performers=performers), DEFAULTS).tags["actor"] == ("Ada",)


def test_values_hash_is_stable_and_changes_with_values_and_settings() -> None:
    a = wanted(make_scene(), DEFAULTS).values_hash
    assert a == wanted(make_scene(), DEFAULTS).values_hash
    assert a != wanted(make_scene(title="Other"), DEFAULTS).values_hash
    assert a != wanted(make_scene(), Settings.from_mapping({"lock_fields": False})).values_hash
    screenshot = {"screenshot": "http://stash/scene/1/screenshot?t=2"}
    assert a == wanted(make_scene(paths=screenshot), DEFAULTS).values_hash


def test_scene_files_keep_order_and_tolerate_missing_numbers() -> None:
    files = [{"path": "/a.mp4", "size": "12", "duration": None}, {"path": "/b.mp4"}]
    assert scene_files({"files": files}) == [SceneFile("/a.mp4", 12, 0.0),
                                             SceneFile("/b.mp4", 0, 0.0)]


# ----------------------------------------------------- explicit clears and ownership
def test_wanted_clears_only_the_fields_plexsync_owns() -> None:
    scene: dict[str, Any] = {"title": "T", "details": "", "tags": [], "performers": [],
                             "studio": None, "groups": [], "files": []}
    cleared = {"details", "tag_ids", "performer_ids", "studio_id"}
    assert wanted(scene, DEFAULTS, cleared).scalars == {"title": "T"}
    some = wanted(scene, DEFAULTS, cleared, {"summary", "actor"})
    assert some.scalars == {"title": "T", "summary": None} and some.tags == {"actor": ()}
    assert some.collections is None


def test_an_empty_scene_whose_clears_plexsync_does_not_own_passes_no_quality_gate() -> None:
    empty = {"title": "", "details": "", "tags": [], "performers": [], "files": []}
    assert wanted(empty, DEFAULTS, {"details", "tag_ids"}).skip_reason
    assert not wanted(empty, DEFAULTS, {"details", "tag_ids"}, {"genre"}).skip_reason


def test_every_input_the_hook_reports_cleared_can_clear_its_plex_field() -> None:
    scene: dict[str, Any] = {"title": "T", "details": "", "date": "", "rating100": None,
                             "studio": None, "performers": [], "tags": [], "groups": [],
                             "director": ""}
    owned = ("summary", "date", "studio", "rating", "actor", "genre", "director",
             "collection")
    for name, field in CLEARABLE.items():
        w = wanted(scene, DEFAULTS, {name}, owned)
        cleared = ({k for k, v in w.scalars.items() if v is None}
                   | {k for k, v in w.tags.items() if not v}
                   | ({"collection"} if w.collections == () else set()))
        assert cleared or field == "title", name
