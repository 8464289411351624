"""The field vocabulary is the one source every layer reads: nothing restates it."""

from __future__ import annotations

from plexsync.core import vocab
from plexsync.core.settings import SYNC_FIELDS, Settings
from plexsync.hook.handler import syncs
from plexsync.plex.model import PlexItem


def test_every_toggle_is_a_setting_whose_default_comes_from_the_vocabulary() -> None:
    defaults = Settings()
    assert tuple(vocab.TOGGLES) == SYNC_FIELDS
    for name, default in vocab.TOGGLES.items():
        assert getattr(defaults, f"sync_{name}") is default, name
    declared = {f for f in Settings.__dataclass_fields__ if f.startswith("sync_")}
    assert declared == {f"sync_{name}" for name in vocab.TOGGLES}


def test_the_hook_gates_on_the_settings_defaults_when_it_has_no_snapshot() -> None:
    defaults = Settings()
    for name in vocab.TOGGLES:
        assert syncs({}, name) is defaults.syncs(name), name
    assert all(syncs({}, name) for name in vocab.ALWAYS_SYNCED)


def test_every_input_feeds_only_known_fields_and_every_clear_governs_one() -> None:
    known = set(vocab.TOGGLES) | vocab.ALWAYS_SYNCED
    assert {f for fed in vocab.INPUT_FIELDS.values() for f in fed} <= known
    assert set(vocab.CLEARABLE) <= set(vocab.INPUT_FIELDS)
    assert set(vocab.CLEARABLE.values()) == set(vocab.CLEAR_EMPTIES)
    assert {f for empties in vocab.CLEAR_EMPTIES.values() for f in empties} <= set(vocab.OWNABLE)


def test_ownable_fields_are_the_scalars_then_the_tag_kinds_in_stored_order() -> None:
    assert vocab.OWNABLE == ("title", "summary", "date", "studio", "rating", "actor", "genre",
                             "label", "director", "collection")
    assert all(hasattr(PlexItem(1, 1), name) for name in vocab.FIELD_WIRE)


def test_every_lockable_wire_name_maps_back_to_our_name() -> None:
    assert vocab.LOCK_NAMES["originallyAvailableAt"] == "date"
    assert vocab.LOCK_NAMES["userRating"] == "rating"
    assert vocab.LOCK_NAMES["thumb"] == "poster" and vocab.LOCK_NAMES["art"] == "art"
    assert set(vocab.TAG_ELEMENTS.values()) == set(vocab.TAG_KINDS)
