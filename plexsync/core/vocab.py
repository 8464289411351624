"""The field vocabulary: every name a synced field goes by, in one place (constants only, so
a field added here is added everywhere). Standard library only: the hook reads it.

Three name spaces meet here (docs/design.md#field-mapping and #field-ownership): *our fields*
(the `sync_<field>` toggles, plus `director` and `files`, always synced), *Stash inputs* (the
`SceneUpdateInput` names a hook's `inputFields` carries) and *Plex fields* (the names kept per
Plex item in `SyncRecord.pushed_fields` and `PlexItem.locked`, with their wire names).
"""

from __future__ import annotations

# ------------------------------------------------------------------ our fields
# Every `sync_<field>` toggle and its default. `Settings` takes its `sync_*` defaults from here
# and the hook gates on them when no settings snapshot exists yet.
TOGGLES: dict[str, bool] = {
    "title": True, "summary": True, "date": True, "studio": True, "performers": True,
    "tags": True, "collections": True, "rating": True, "poster": True, "background": False,
}
# Fields with no toggle: director is always synced; a file change may re-match the item.
ALWAYS_SYNCED: frozenset[str] = frozenset({"director", "files"})

# ------------------------------------------------------------------ Stash inputs
# Stash input field → the fields it feeds. Inputs not listed (code, organized, urls,
# stash_ids, o_counter, play_count, resume_time, play_duration, gallery_ids...) are not synced.
INPUT_FIELDS: dict[str, tuple[str, ...]] = {
    "title": ("title",),
    "details": ("summary",),
    "date": ("date",),
    "studio_id": ("studio", "collections"),
    "performer_ids": ("performers",),
    "tag_ids": ("tags",),
    "groups": ("collections",),
    "group_ids": ("collections",),
    "movies": ("collections",),
    "movie_ids": ("collections",),
    "rating100": ("rating",),
    "director": ("director",),
    "cover_image": ("poster", "background"),
    "primary_file_id": ("files",),
    "file_ids": ("files",),
}

# Inputs that can clear a Plex field → the field (and toggle) it governs. A clear empties Plex
# only where PlexSync itself pushed a value before (fields.wanted decides that).
CLEARABLE: dict[str, str] = {
    "title": "title", "details": "summary", "date": "date", "studio_id": "studio",
    "performer_ids": "performers", "tag_ids": "tags", "groups": "collections",
    "group_ids": "collections", "movies": "collections", "movie_ids": "collections",
    "rating100": "rating", "director": "director",
}

# ------------------------------------------------------------------ Plex fields
# Scalar Plex fields (our names) → the wire name of their edit (`<wire>.value`) and lock
# (`<wire>.locked`) parameters. Order matters: it is the order of `OWNABLE`.
FIELD_WIRE: dict[str, str] = {
    "title": "title", "summary": "summary", "date": "originallyAvailableAt",
    "studio": "studio", "rating": "userRating",
}
# Tag kinds: our name is the wire name (`genre[0].tag.tag`, `genre.locked`).
TAG_KINDS: tuple[str, ...] = ("actor", "genre", "label", "director", "collection")
# The XML element a tag kind comes back as in an item's metadata.
TAG_ELEMENTS: dict[str, str] = {
    "Role": "actor", "Genre": "genre", "Label": "label", "Director": "director",
    "Collection": "collection",
}
# Images (our names) → their lock's wire name.
IMAGE_WIRE: dict[str, str] = {"poster": "thumb", "art": "art"}
# A `<Field name=... locked="1">` wire name → our name, for every field PlexSync may lock.
LOCK_NAMES: dict[str, str] = {
    **{wire: ours for ours, wire in FIELD_WIRE.items()}, **{k: k for k in TAG_KINDS},
    **{wire: ours for ours, wire in IMAGE_WIRE.items()},
}
# The Plex fields PlexSync can own (`SyncRecord.pushed_fields`), in the order it stores them.
OWNABLE: tuple[str, ...] = (*FIELD_WIRE, *TAG_KINDS)

# A cleared field → the Plex fields (as `SyncRecord.pushed_fields` names them) it may empty.
CLEAR_EMPTIES: dict[str, tuple[str, ...]] = {
    "title": ("title",), "summary": ("summary",), "date": ("date",),
    "studio": ("studio", "collection"), "performers": ("actor",), "tags": ("genre", "label"),
    "collections": ("collection",), "rating": ("rating",), "director": ("director",),
}
