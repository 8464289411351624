"""Names `vulture plexsync --min-confidence 60` reports that are used, each with why.

Run by .ci/run: `vulture plexsync .ci/vulture_whitelist.py --min-confidence 60`.
"""

# ruff: noqa: B018  (bare expressions are how vulture whitelists name things)
_ = object()

# Read by `_json.make_scanner` (C), which takes a JSONDecoder's attributes by name.
_.strict
_.object_hook
_.object_pairs_hook
_.parse_float
_.parse_int
_.parse_constant

# requests reads `Session.trust_env`; sqlite3 reads `Connection.row_factory`; subprocess reads
# `Popen.returncode` (set so a never-waited timer process raises no ResourceWarning).
_.trust_env
_.row_factory
_.returncode

# Settings fields read by name (`Settings.syncs` reads `sync_<field>` with getattr).
_.sync_summary
_.sync_date
_.sync_studio
_.sync_rating

# Attributes plexapi reads from its module when it builds its request headers.
_.X_PLEX_IDENTIFIER
_.X_PLEX_PRODUCT
_.X_PLEX_VERSION
_.X_PLEX_DEVICE_NAME

# A record carries every column of its table (queue/sqlite_rows.py maps rows by name); these
# are shown by tests and kept so a row reads back whole.
_.enqueued_at
_.last_error_class
_.first_failure_at
_.last_error
_.lease_owner
_.dirty
_.last_failure_at
_.created_at

# Task handlers, found by name through tasks/router.py's TASKS table ("module:function").
_.run_clear_queue
_.run_clear_match_cache
_.run_sync_all
_.run_sync_recent
_.run_clear_dlq
_.run_purge_dlq
_.run_recover_dlq
_.run_health_check
_.run_reconcile_all
_.run_reconcile_recent
_.run_reconcile_7days
_.run_queue_status
_.run_outage_summary
# The automatic after-task checks, found by name through tasks/router.py's AUTOMATIC table.
_.auto_reconcile
_.auto_import

# stashapi calls its logger's `trace` (stash/api.py's adapter).
_.trace
# logging reads a LogRecord's `msg` (core/log.py redacts it in place).
_.msg
# Validated against Stash's schema by tests/contract/test_stash_contract.py.
_.DOCUMENTS

# Removed by other issues of this round (the integrator drops these lines at merge):
_.connected  # removed by issue 22
_.set_plex_url  # removed by issue 22
_.waited  # removed by issue 22
# Used by tests only (tests/reliability/test_properties.py); core/settings.py is issue 23's.
_.setting_names
# Unused since the timer asks for drains through hook/stash_post.py; stash/api.py is issue 24's.
_.run_plugin_task
# Read by tests only (tests/integration/test_index.py counts index builds); plex/ is outside
# issue 20's part.
_.builds
# Issue 26's play-state import (merged from main): Summary's fields are written whole with
# dataclasses.asdict (the queue meta, Status, the page); the task handler is found through
# router.TASKS.
_.finished_at
_.other_accounts
_.run_import_play_state
# Unused (no caller in plexsync/ or tests/): tasks/play_state.py is issue 26's, for its owner.
_.next_run
