"""The durable job queue: the storage contract and its SQLite and memory backends, the schema,
the job model, queue policy, backoff, drain markers and the drain engine. Imports `core` and
`errors` only; the sync engine reaches the drain through the `Processor` protocol.
"""
