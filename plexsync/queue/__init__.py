"""The durable job queue. Imports `core` and `errors` only; the sync engine reaches the drain
through the `Processor` protocol (model.py).

- enums: job states and sources, enqueue results, settle actions (the values the SQL compares)
- model: one frozen record per table (Job, SyncRecord, DeadLetter) and the outcome types
- storage: the backend contract; sqlite_store (+ sqlite_db, schema, sqlite_rows) and
  memory_store implement it
- job_queue: queue policy (outcome → settle action, backoff); backoff: the retry delays
- markers (hook side) and drain_markers (drain side): the no-lost-wake-up protocol
- drain: the drain engine; drain_report: what it reports (listener protocol, log lines)
- status_view: the queue's part of the status JSON
The hook may load only enums, markers, schema, sqlite_db and sqlite_store (standard library).
"""
