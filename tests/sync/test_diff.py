"""Wanted vs current Plex values → the one edit PUT's parameters (pure)."""

from __future__ import annotations

from typing import Any

from plexsync.core.settings import Settings
from plexsync.plex.model import PlexItem
from plexsync.sync.diff import diff
from plexsync.sync.fields import Wanted, wanted
from plexsync.sync.owned import digest

DEFAULTS = Settings.from_mapping({})


def item(**over: Any) -> PlexItem:
    base: dict[str, Any] = {"rating_key": 11, "section_id": 1, "title": "file-stem",
                            "tags": {k: () for k in ("actor", "genre", "label", "director",
                                                     "collection")}}
    tags = over.pop("tags", {})
    base["tags"] = {**base["tags"], **tags}
    base.update(over)
    return PlexItem(**base)


def test_changed_scalars_are_sent_with_their_locks() -> None:
    edit = diff(Wanted(scalars={"title": "New", "date": "2021-02-03", "rating": 7.5}), item())
    assert edit.params == {
        "title.value": "New", "title.locked": "1",
        "originallyAvailableAt.value": "2021-02-03", "originallyAvailableAt.locked": "1",
        "year.value": "2021", "year.locked": "1",   # Plex's year is a field of its own
        "userRating.value": "7.5", "userRating.locked": "1",
    }
    assert set(edit.changed) == {"title", "date", "rating"}


def test_nothing_differs_gives_no_params_at_all() -> None:
    current = item(title="T", summary="S", rating=7.5,
                   tags={"genre": ("Drama",), "actor": ("Ada",)},
                   locked=frozenset({"title", "summary", "rating", "genre", "actor"}))
    want = Wanted(scalars={"title": "T", "summary": "S", "rating": 7.5},
                  tags={"genre": ("drama",), "actor": ("Ada",)})
    edit = diff(want, current)
    assert edit.params == {} and not edit


def test_a_missing_lock_alone_is_sent() -> None:
    edit = diff(Wanted(scalars={"title": "T"}), item(title="T"))
    assert edit.params == {"title.locked": "1"}
    assert edit.changed == ()


def test_without_lock_fields_no_lock_is_sent_and_none_is_removed() -> None:
    edit = diff(Wanted(scalars={"title": "New"}, lock=False), item(locked=frozenset({"title"})))
    assert edit.params == {"title.value": "New"}


def test_clearing_sends_an_empty_value() -> None:
    edit = diff(Wanted(scalars={"summary": None, "rating": None}),
                item(summary="old", rating=5.0, locked=frozenset({"summary", "rating"})),
                owned={"summary": digest("old"), "rating": digest(5.0)})
    assert edit.params == {"summary.value": "", "userRating.value": ""}


def test_a_clear_leaves_a_value_plexsync_did_not_write_there() -> None:
    edit = diff(Wanted(scalars={"summary": None, "studio": None}, tags={"genre": ()}),
                item(summary="typed in Plex", studio="kept", tags={"genre": ("Mine",)}),
                owned={"summary": digest("what PlexSync wrote"), "genre": digest(("Old",))})
    assert edit.params == {}
    assert set(edit.kept) == {"summary", "studio", "genre"}
    assert edit.pushed == ()


def test_tags_are_mirrored_with_full_list_and_removals() -> None:
    current = item(tags={"genre": ("Drama", "Old, with comma")}, locked=frozenset({"genre"}))
    edit = diff(Wanted(tags={"genre": ("Drama", "New")}), current)
    assert edit.params == {"genre[0].tag.tag": "Drama", "genre[1].tag.tag": "New",
                           "genre[].tag.tag-": "Old%2C%20with%20comma"}


def test_clearing_a_tag_kind_sends_only_removals() -> None:
    edit = diff(Wanted(tags={"actor": ()}), item(tags={"actor": ("A", "B")},
                                                  locked=frozenset({"actor"})),
                owned={"actor": digest(("b", "A"))})   # tags compare as Plex does
    assert edit.params == {"actor[].tag.tag-": "A,B"}


def test_tag_order_alone_is_not_a_difference() -> None:
    edit = diff(Wanted(tags={"genre": ("B", "A")}), item(tags={"genre": ("A", "B")},
                                                          locked=frozenset({"genre"})))
    assert not edit


def test_collections_are_added_to_the_existing_list() -> None:
    current = item(tags={"collection": ("User Coll",)}, locked=frozenset({"collection"}))
    edit = diff(Wanted(collections=("Studio",)), current)
    assert edit.params == {"collection[0].tag.tag": "User Coll",
                           "collection[1].tag.tag": "Studio"}
    assert edit.collections_added == ("Studio",)


def test_only_collections_plexsync_added_are_removed() -> None:
    current = item(tags={"collection": ("User Coll", "Old Studio", "Series")},
                   locked=frozenset({"collection"}))
    edit = diff(Wanted(collections=("Series",)), current,
                collections_added=("Old Studio", "Series"))
    assert edit.params == {"collection[0].tag.tag": "User Coll",
                           "collection[1].tag.tag": "Series",
                           "collection[].tag.tag-": "Old%20Studio"}
    assert edit.collections_added == ("Series",)


def test_a_collection_the_user_already_had_is_not_claimed_by_plexsync() -> None:
    current = item(tags={"collection": ("Studio",)}, locked=frozenset({"collection"}))
    edit = diff(Wanted(collections=("Studio",)), current)
    assert not edit and edit.collections_added == ()


def test_unmanaged_collections_keep_the_record_list() -> None:
    edit = diff(Wanted(collections=None), item(tags={"collection": ("A",)}),
                collections_added=("A",))
    assert not edit and edit.collections_added == ("A",)


def test_preserve_plex_edits_fills_only_empty_fields() -> None:
    current = item(title="User Title", summary="", tags={"genre": ("Mine",), "actor": ()})
    want = Wanted(scalars={"title": "Stash", "summary": "From Stash"},
                  tags={"genre": ("Stash",), "actor": ("Ada",)}, preserve=True)
    edit = diff(want, current)
    assert edit.params == {"summary.value": "From Stash", "summary.locked": "1",
                           "actor[0].tag.tag": "Ada", "actor.locked": "1"}


def test_rating_compares_with_a_small_tolerance() -> None:
    assert not diff(Wanted(scalars={"rating": 7.3}, lock=False), item(rating=7.30000001))
    assert diff(Wanted(scalars={"rating": 7.3}, lock=False), item(rating=7.5))


def test_image_locks_are_added_when_asked_and_missing() -> None:
    edit = diff(Wanted(), item(locked=frozenset({"art"})), lock_images=("poster", "art"))
    assert edit.params == {"thumb.locked": "1"}


def test_a_year_that_disagrees_with_the_date_is_corrected_even_when_the_date_is_equal() -> None:
    edit = diff(Wanted(scalars={"date": "2021-02-03"}), item(date="2021-02-03", year=1999))
    assert edit.params.get("year.value") == "2021"
    same = diff(Wanted(scalars={"date": "2021-02-03"}), item(date="2021-02-03", year=2021))
    assert "year.value" not in same.params


# ----------------------------------------------------- ownership after the edit
def test_a_non_empty_stash_list_mirrors_whether_or_not_plexsync_owned_it() -> None:
    scene = {"title": "T", "tags": [{"name": "Drama"}], "performers": [{"name": "Ada"}]}
    w = wanted(scene, DEFAULTS, {"tag_ids"})
    assert w.tags == {"genre": ("Drama",), "actor": ("Ada",)}
    edit = diff(w, PlexItem(1, 1, tags={"genre": ("Agent",), "actor": ()}))
    assert edit.params["genre[0].tag.tag"] == "Drama" and "genre[].tag.tag-" in edit.params


def test_diff_reports_what_plexsync_owns_after_the_edit() -> None:
    want = Wanted(scalars={"title": "T", "summary": None, "studio": "S"},
                  tags={"genre": ("G",), "actor": ()}, collections=("S",))
    edit = diff(want, PlexItem(1, 1, summary="old", tags={"actor": ("A",)}),
                owned={"summary": "", "actor": "", "date": ""})   # owned by name (pre-V5)
    assert set(edit.pushed) == {"title", "studio", "genre", "collection", "date"}
    assert edit.params["summary.value"] == "" and edit.params["actor[].tag.tag-"] == "A"
    assert dict(edit.field_digests)["title"] == digest("T")
    assert dict(edit.pushed_values) == {"title": "T", "studio": "S", "genre": '["g"]',
                                        "collection": '["s"]', "date": ""}


def test_diff_under_preserve_owns_only_what_plex_holds_of_plexsync_s_values() -> None:
    want = Wanted(scalars={"title": "T", "summary": "S", "studio": None, "date": "2020-01-01"},
                  preserve=True)
    current = PlexItem(1, 1, title="T", summary="user's", studio="ours", date="1999-09-09")
    edit = diff(want, current, owned={"summary": digest("PlexSync's earlier"),
                                      "studio": digest("ours"), "date": ""})
    assert edit.params == {"studio.value": "", "studio.locked": "1", "title.locked": "1"}
    assert set(edit.pushed) == {"title"}
    assert set(edit.kept) == {"summary", "date"}   # by name only: kept, as "Preserve" kept it


def test_under_preserve_plexsync_s_own_value_and_the_scanner_title_are_replaced() -> None:
    want = Wanted(scalars={"title": "Nice", "summary": "New"}, tags={"genre": ("B",)},
                  preserve=True, lock=False)
    current = PlexItem(1, 1, title="My_Movie.2020", summary="Old", tags={"genre": ("A",)},
                       files=("/media/My_Movie.2020.mp4",))
    edit = diff(want, current, owned={"summary": digest("Old"), "genre": digest(("a",))})
    assert edit.params == {"title.value": "Nice", "summary.value": "New",
                           "genre[0].tag.tag": "B", "genre[].tag.tag-": "A"}
    assert set(edit.pushed) == {"title", "summary", "genre"}


def test_a_retired_field_loses_plexsync_s_own_value_and_keeps_a_user_s() -> None:
    current = item(summary="Ours", studio="Typed", tags={"genre": ("Drama", "Mine")})
    edit = diff(Wanted(retired=("summary", "studio", "genre")), current,
                owned={"summary": digest("Ours"), "studio": digest("Pushed"),
                       "genre": digest(("Drama",))},
                values={"summary": "Ours", "studio": "Pushed", "genre": '["drama"]'})
    assert edit.params == {"summary.value": "", "genre[0].tag.tag": "Mine",
                           "genre[].tag.tag-": "Drama"}
    assert edit.pushed == ()
