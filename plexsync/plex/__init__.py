"""Plex: the client (plexapi), error translation, the plain value model, and the per-section
library index with its diskcache store. Imports `core` and `errors` only.
"""
