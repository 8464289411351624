"""The durable job queue. Imports `core` and `errors` only; the sync engine reaches the drain
through the `Processor` protocol (model.py).

- enums: job states and sources, settle actions (the values the SQL compares)
- model: one frozen record per table (Job, SyncRecord, DeadLetter) and the outcome types
- job_queue: the queue, the one owner of its SQL (dead_letters: its dead-letter part);
  transitions: the SQL of one job's state changes; sqlite_db: connection, locking, migrations
  (schema), recovery; sqlite_rows: rows to records; backoff: the retry delays
- markers (hook side) and drain_markers (drain side): the no-lost-wake-up protocol
- drain: the drain engine; drain_report: its counters, log lines and summary
The hook may load only enums, markers, schema, sqlite_db, transitions, dead_letters and
job_queue (standard library).
"""
