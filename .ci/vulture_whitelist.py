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

# The settings' names, for tests that generate settings (tests/reliability/test_properties.py).
_.setting_names
# How many times the index was built: tests/integration/test_index.py counts rebuilds with it.
_.builds
# The play-state import's Summary is written whole with dataclasses.asdict (the queue meta,
# Status, the page); its task handler is found through router.TASKS.
_.finished_at
_.other_accounts
_.run_import_play_state
