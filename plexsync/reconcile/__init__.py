"""Reconciliation: find the drift between Stash and Plex that no hook reported, and queue it.

What lives here (docs/design.md, "Reconciliation"):
- `gaps`: the pure judgement of one scene (stale, empty, missing, or in step), reusing the sync
  engine's own wanted-values and diff so that "empty" means exactly "a sync would change it";
- `gap_types`: the gap kinds alone (an enum; read by the status without the engine);
- `listing`: the Plex section listing paged once per run, spooled to a temporary file so
  memory stays flat, and fed to the library index at the same time;
- `engine`: one run (a scope, paging through Stash, dedup against the queue, enqueue, history);
- `auto`: the cheap "is an automatic run due?" check done on task invocations, and its lock.

May import: core, errors, queue, plex, stash, sync. Never tasks (it sits beside sync/, below
tasks/), never the hook path (the hook imports nothing from here).
"""
