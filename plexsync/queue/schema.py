"""Schema migrations of the queue database (sqlite_db.py runs them). On the hook path:
constants only.

`MIGRATIONS[n]` takes a database at `PRAGMA user_version = n` to n + 1. Never edit a released
step: append a new one (ALTER TABLE / new tables / data moves), so every user's file, however
old, reaches the current schema through the same path.

Times are epoch seconds (REAL); lists are JSON text.
"""

from __future__ import annotations

V1 = (
    # One row per scene (docs/design.md#job-lifecycle). `dirty`: an event arrived while a drain
    # held the job, so the ack must keep it pending instead of deleting it.
    """CREATE TABLE jobs (
        id INTEGER PRIMARY KEY,
        scene_id INTEGER NOT NULL UNIQUE,
        state TEXT NOT NULL CHECK (state IN ('pending', 'retrying', 'in_progress')),
        source TEXT NOT NULL,
        event_at REAL NOT NULL,
        enqueued_at REAL NOT NULL,
        not_before REAL NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        cleared_fields TEXT NOT NULL DEFAULT '[]',
        last_error_class TEXT,
        last_error TEXT,
        first_failure_at REAL,
        lease_until REAL,
        lease_owner TEXT,
        dirty INTEGER NOT NULL DEFAULT 0
    )""",
    "CREATE INDEX jobs_due ON jobs (not_before, id)",
    "CREATE INDEX jobs_state ON jobs (state, not_before)",
    """CREATE TABLE dead_letters (
        scene_id INTEGER PRIMARY KEY,
        error_class TEXT NOT NULL,
        message TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        first_failure_at REAL,
        last_failure_at REAL NOT NULL,
        candidates TEXT NOT NULL DEFAULT '[]',
        source TEXT NOT NULL,
        created_at REAL NOT NULL
    )""",
    "CREATE INDEX dead_letters_class ON dead_letters (error_class, last_failure_at)",
    """CREATE TABLE sync_records (
        scene_id INTEGER PRIMARY KEY,
        rating_key INTEGER NOT NULL,
        section_id INTEGER NOT NULL,
        stash_updated_at TEXT NOT NULL,
        fetched_at REAL NOT NULL,
        values_hash TEXT NOT NULL,
        synced_at REAL NOT NULL,
        poster_key TEXT NOT NULL DEFAULT '',
        poster_hash TEXT NOT NULL DEFAULT '',
        art_hash TEXT NOT NULL DEFAULT '',
        collections_added TEXT NOT NULL DEFAULT '[]',
        confidence TEXT NOT NULL DEFAULT 'HIGH'
    )""",
    "CREATE INDEX sync_records_synced_at ON sync_records (synced_at)",
    "CREATE TABLE out_of_scope (scene_id INTEGER PRIMARY KEY, seen_at REAL NOT NULL)",
    # Counters (processed, succeeded, ...): one row per key, incremented in the outcome's txn.
    "CREATE TABLE stats (key TEXT PRIMARY KEY, value REAL NOT NULL)",
    # Small key/value state, e.g. the drain scheduling markers (markers.py).
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
)

V2 = (
    # The Plex fields PlexSync last pushed a non-empty value to (JSON list of our field names,
    # jobs.SyncRecord.pushed_fields): an explicit clear in Stash empties only those. Records
    # written before this step own nothing, so they clear nothing until a sync pushes again.
    "ALTER TABLE sync_records ADD COLUMN pushed_fields TEXT NOT NULL DEFAULT '[]'",
    # Collections PlexSync added are recorded exactly, so that ownership survives the upgrade.
    "UPDATE sync_records SET pushed_fields = '[\"collection\"]' WHERE collections_added <> '[]'",
    # A dead-lettered job keeps the fields its user cleared, so Recover DLQ still clears them.
    "ALTER TABLE dead_letters ADD COLUMN cleared_fields TEXT NOT NULL DEFAULT '[]'",
)

# Sync records on an item that another scene's record also holds (earlier versions could
# match two scenes to one item by basename): which one is right is not knowable here, so both
# records go and both scenes come back as reconcile jobs (they always look at Plex), due now:
# the next drain matches them again. What they pushed stays in `displaced_records` until the
# item's own scene is written to it again, so that sync can undo the other scene's values
# (collections it added, fields it filled). Then one item can hold one record only.
_SHARED_ITEMS = (
    "SELECT scene_id FROM sync_records WHERE rating_key IN "
    "(SELECT rating_key FROM sync_records GROUP BY rating_key HAVING count(*) > 1)"
)
_NOW = "((julianday('now') - 2440587.5) * 86400.0)"
V3 = (
    """CREATE TABLE displaced_records (
        scene_id INTEGER PRIMARY KEY,
        rating_key INTEGER NOT NULL,
        collections_added TEXT NOT NULL DEFAULT '[]',
        pushed_fields TEXT NOT NULL DEFAULT '[]'
    )""",
    "CREATE INDEX displaced_records_item ON displaced_records (rating_key)",
    "INSERT INTO displaced_records (scene_id, rating_key, collections_added, pushed_fields) "
    f"SELECT scene_id, rating_key, collections_added, pushed_fields FROM sync_records "
    f"WHERE scene_id IN ({_SHARED_ITEMS})",
    "INSERT INTO jobs (scene_id, state, source, event_at, enqueued_at, not_before) "
    f"SELECT scene_id, 'pending', 'reconcile', {_NOW}, {_NOW}, {_NOW} FROM ({_SHARED_ITEMS}) "
    "WHERE true ON CONFLICT(scene_id) DO UPDATE SET source = 'reconcile', "
    "not_before = min(jobs.not_before, excluded.not_before), "
    "dirty = CASE WHEN jobs.state = 'in_progress' THEN 1 ELSE jobs.dirty END",
    f"DELETE FROM sync_records WHERE scene_id IN ({_SHARED_ITEMS})",
    "CREATE UNIQUE INDEX sync_records_item ON sync_records (rating_key)",
)

V4 = (
    # Reconciliation runs (plexsync/reconcile/): append-only history. `gaps` is a JSON object
    # gap type -> count; `trigger` is "task" or "auto"; `finished_at` the end (a run killed
    # halfway writes no row, so the last run stays the last COMPLETE one).
    """CREATE TABLE reconcile_runs (
        id INTEGER PRIMARY KEY,
        started_at REAL NOT NULL,
        finished_at REAL NOT NULL,
        scope TEXT NOT NULL,
        trigger TEXT NOT NULL,
        scanned INTEGER NOT NULL,
        gaps TEXT NOT NULL DEFAULT '{}',
        enqueued INTEGER NOT NULL,
        seconds REAL NOT NULL
    )""",
    "CREATE INDEX reconcile_runs_started ON reconcile_runs (started_at)",
)

V5 = (
    # Ownership by value (docs/design.md#ownership): per owned field, the digest of the value
    # PlexSync wrote (JSON object field -> digest) and that value itself as text (JSON object
    # field -> text; also how PlexSync finds what it wrote where). Earlier versions kept
    # neither, only the names (`pushed_fields`): a field named there without a digest stays
    # owned by name, the rule it was written under, until the scene's next write records its
    # digest. No Plex request is needed to upgrade.
    "ALTER TABLE sync_records ADD COLUMN field_digests TEXT NOT NULL DEFAULT '{}'",
    "ALTER TABLE sync_records ADD COLUMN pushed_values TEXT NOT NULL DEFAULT '{}'",
    # Identity by file: the scene's Stash file paths at its last sync (JSON list). Earlier
    # records have none; a re-created scene inherits such a record only by exact path.
    "ALTER TABLE sync_records ADD COLUMN stash_files TEXT NOT NULL DEFAULT '[]'",
    # Hand-over: a record that leaves an item (its scene's file moved, the scene was matched
    # elsewhere) leaves what it wrote there as a displaced row, digests included, so the
    # item's next owner undoes exactly PlexSync's values in its one edit.
    "ALTER TABLE displaced_records ADD COLUMN field_digests TEXT NOT NULL DEFAULT '{}'",
    "ALTER TABLE displaced_records ADD COLUMN pushed_values TEXT NOT NULL DEFAULT '{}'",
)

V6 = (
    # Object jobs (docs/design.md#object-jobs): one row per Stash object whose change must
    # reach the Plex items of its scenes. Hooks fold into the row (`version` + 1, strongest
    # `action`); the drain expands it into scene jobs, then deletes it only if `version` is
    # still the one it expanded, so an edit during the expansion is expanded again.
    """CREATE TABLE object_jobs (
        kind TEXT NOT NULL,
        object_id INTEGER NOT NULL,
        action TEXT NOT NULL,
        merged_ids TEXT NOT NULL DEFAULT '[]',
        event_at REAL NOT NULL,
        enqueued_at REAL NOT NULL,
        not_before REAL NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        version INTEGER NOT NULL DEFAULT 1,
        PRIMARY KEY (kind, object_id)
    )""",
    "CREATE INDEX object_jobs_due ON object_jobs (not_before)",
    # Which performers, tags, studio and groups each synced scene had when PlexSync last wrote
    # it: Stash forgets a deleted object's scenes, so these rows find them. Written with the
    # scene's sync record; scenes synced before this step have none until they sync again.
    # `name`: the object's name as that sync read it; a hook whose new name equals it on every
    # scene changes nothing in Plex (Stash's edit form sends the name on every save).
    """CREATE TABLE scene_objects (
        kind TEXT NOT NULL,
        object_id INTEGER NOT NULL,
        scene_id INTEGER NOT NULL,
        name TEXT,
        PRIMARY KEY (kind, object_id, scene_id)
    ) WITHOUT ROWID""",
    "CREATE INDEX scene_objects_scene ON scene_objects (scene_id)",
)

V7 = (
    # Posters owned by value (docs/design.md#ownership): the identity Plex gives the poster
    # PlexSync uploaded (the selected entry's ratingKey in `GET /library/metadata/{rk}/posters`,
    # e.g. `upload://posters/<sha1>`). A poster Plex shows under another identity was chosen
    # by someone else. Records from before this step have none: a poster PlexSync uploaded
    # stays PlexSync's by upload, the earlier rule, until its next poster write records it.
    "ALTER TABLE sync_records ADD COLUMN poster_id TEXT NOT NULL DEFAULT ''",
)

MIGRATIONS: tuple[tuple[str, ...], ...] = (V1, V2, V3, V4, V5, V6, V7)
