"""PlexSync: keeps a Plex library in step with the scene metadata curated in Stash."""

__version__ = "0.1.0"
PLUGIN_ID = "PlexSync"
