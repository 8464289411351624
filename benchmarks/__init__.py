"""PlexSync's benchmarks: `python -m benchmarks` runs them all and prints one table.

Each module measures one area and declares its figures (`common.Figure`): `hook_latency`,
`queue_throughput`, `sync_requests`, `index_build`, `reconcile_run`, `outage`, `wake_timer`.
`suites` lists them in the table's order, `fakes` runs the loopback fakes in child processes,
`common` holds the figure model and the statistics, `check` validates a results.json (CI).
`reconcile_run` wraps `reconcile.py`, the reconciliation feature's own benchmark, once it is in
the tree. See docs/performance.md.
"""
