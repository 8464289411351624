"""The sync engine: match a scene to its Plex item, compute wanted values, diff them against
Plex and send one batched edit. Imports `core`, `queue` (model), `plex` and `stash`; the matcher,
fields and diff are pure. What the engine asks of Plex is the `ports.PlexPort` protocol
(`plex.client.PlexClient` in production, `testkit.memory_plex.MemoryPlex` in unit tests).
"""
