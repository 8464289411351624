"""Stash's scene-update input names → the PlexSync fields they feed. Constants only.

The one table both the hook (which inputs matter, which ones the user cleared) and `fields`
(which Plex fields a clear may empty) read. On the hook path: no imports at all.

Our field names are the `sync_*` toggle names of SPEC §3 (title, summary, date, studio,
performers, tags, collections, rating, poster, background) plus `director` and `files`,
which have no toggle.
"""

# Stash input field → the PlexSync fields it feeds. Inputs not listed (code, organized, urls,
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

# A cleared field → the Plex fields (as `SyncRecord.pushed_fields` names them) it may empty.
CLEAR_EMPTIES: dict[str, tuple[str, ...]] = {
    "title": ("title",), "summary": ("summary",), "date": ("date",),
    "studio": ("studio", "collection"), "performers": ("actor",), "tags": ("genre", "label"),
    "collections": ("collection",), "rating": ("rating",), "director": ("director",),
}
