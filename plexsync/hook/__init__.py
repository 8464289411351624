"""The hook path: gate a Stash hook event, enqueue the scene, and ask Stash for a drain at most
once per burst. Imports only `core`, `errors`, the queue's SQLite backend and markers, and the
constant GraphQL documents; never plexapi, requests or stashapi (see tests/hook/).
"""
