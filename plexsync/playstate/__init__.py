"""Plex → Stash play state (docs/play-state.md): plays, resume points and ratings a person
made in Plex, imported into the Stash scenes PlexSync has matched to those Plex items."""
