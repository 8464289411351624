"""The sync engine: match a scene to its Plex item, compute wanted values, diff them against
Plex and send one batched edit. Imports `core`, `queue` (model), `plex` and `stash`; the matcher,
fields and diff are pure.
"""
